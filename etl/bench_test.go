package etl_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/etl/etltest"
	"github.com/poolprof/poolprof/internal/corpus"
)

// largestCorpusFile is the biggest real trace: merged, XPRESS-compressed,
// 179,474 events in 360 buffers.
const largestCorpusFile = "perfview/net.4.5.2.x64.etl__net.4.5.2.x64.etl"

// walk reads every event of data in the given order and returns the count.
func walk(b *testing.B, data []byte, order etl.Order) int64 {
	f, err := etl.NewFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		b.Fatal(err)
	}
	r := f.NewReader(order)
	var ev etl.Event
	for {
		if err := r.Next(&ev); err != nil {
			if err != io.EOF {
				b.Fatal(err)
			}
			return r.Stats().Events
		}
	}
}

func benchmarkCorpus(b *testing.B, order etl.Order) {
	data, err := os.ReadFile(corpus.Path(b, largestCorpusFile))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		n = walk(b, data, order)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(recordBytes(b, data))*float64(b.N)/b.Elapsed().Seconds()/1e6, "recordMB/s")
}

// recordBytes is the size of the record data of all buffers, decompressed:
// the bytes the reader walks after XPRESS.
func recordBytes(b *testing.B, data []byte) int64 {
	f, err := etl.NewFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	for _, buf := range f.Buffers() {
		n += int64(buf.Filled)
	}
	return n
}

// BenchmarkCorpusTimeOrder measures the merged walk over the largest real
// file; MB/s counts compressed input bytes.
func BenchmarkCorpusTimeOrder(b *testing.B) { benchmarkCorpus(b, etl.OrderTime) }

// BenchmarkCorpusFileOrder measures the file-order walk of the same file.
func BenchmarkCorpusFileOrder(b *testing.B) { benchmarkCorpus(b, etl.OrderFile) }

// TestNextAllocatesNothing checks the hot path: once the reader has its
// buffers, Next allocates nothing per event.
func TestNextAllocatesNothing(t *testing.T) {
	data, err := os.ReadFile(corpus.Path(t, largestCorpusFile))
	if err != nil {
		t.Fatal(err)
	}
	f, err := etl.NewFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	r := f.NewReader(etl.OrderTime)
	var ev etl.Event
	for range 20000 { // warm up: every processor's buffer loaded once
		if err := r.Next(&ev); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(100000, func() {
		if err := r.Next(&ev); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Next allocates %.4f times per event", allocs)
	}
}

// generatedTrace writes a trace of about size bytes of pool-like SYSTEM64
// and PERFINFO64 records over 4 CPUs to a temporary file and returns its
// path. It is built at benchmark time, never committed.
func generatedTrace(b *testing.B, size int64, compressed bool) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "generated.etl")
	fh, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer fh.Close()
	w, err := etltest.NewWriter(fh, etltest.Options{PointerSize: 8, CPUs: 4, BufferSize: 64 << 10, Compressed: compressed})
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 32) // PoolType, Tag, NumberOfBytes, Entry
	stack := make([]byte, 16+8*12)
	var written int64
	for i := int64(0); written < size; i++ {
		cpu := int(i % 4)
		payload[4], stack[16] = byte(i), byte(i)
		rec := etltest.Record{Kind: etl.KindSystem64, HookID: 0x0E20 | uint16(i&2), Version: 2,
			ThreadID: uint32(i % 97), ProcessID: 4, Timestamp: 1000 + i, Payload: payload}
		if _, err := w.Add(cpu, rec); err != nil {
			b.Fatal(err)
		}
		walk := etltest.Record{Kind: etl.KindPerfInfo64, HookID: 0x1820, Version: 2, Timestamp: 1000 + i, Payload: stack}
		if _, err := w.Add(cpu, walk); err != nil {
			b.Fatal(err)
		}
		written += 0x40 + 0x80
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

func benchmarkGenerated(b *testing.B, compressed bool) {
	path := generatedTrace(b, 256<<20, compressed)
	f, err := etl.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var records int64
	for _, buf := range f.Buffers() {
		records += int64(buf.Filled)
	}
	b.SetBytes(f.Size())
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		r := f.NewReader(etl.OrderTime)
		var ev etl.Event
		for r.Next(&ev) == nil {
		}
		n = r.Stats().Events
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds()/1e6, "recordMB/s")
}

// BenchmarkGenerated256MiB measures the merged walk over a 256 MiB
// uncompressed trace read from disk (page cache).
func BenchmarkGenerated256MiB(b *testing.B) { benchmarkGenerated(b, false) }

// BenchmarkGenerated256MiBCompressed does the same for XPRESS buffers;
// recordMB/s counts decompressed bytes.
func BenchmarkGenerated256MiBCompressed(b *testing.B) { benchmarkGenerated(b, true) }
