package analysis_test

import (
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/poolprof/poolprof/analysis"
	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/etl/etltest"
)

// poolTraceSize is the size of the generated trace the whole-analysis
// benchmark reads: at least 1 GiB, built at benchmark time.
var poolTraceSize int64 = 1 << 30

// writePoolTrace streams a synthetic pool trace of about size bytes to
// path: 4 CPUs, an allocation or a free every 10 µs, each followed by its
// inline kernel stack (one of 512 distinct stacks), frees of blocks
// allocated up to 100,000 events earlier, and one allocation in 100 never
// freed. It returns the number of pool events.
func writePoolTrace(b *testing.B, path string, size int64) int64 {
	fh, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer fh.Close()
	w, err := etltest.NewWriter(fh, etltest.Options{PointerSize: 8, CPUs: 4, BufferSize: 64 << 10})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const kernelBase = 0xfffff80000000000
	stacks := make([][]byte, 512)
	for i := range stacks {
		frames := 8 + i%8
		s := make([]byte, 16+8*frames)
		for f := range frames {
			binary.LittleEndian.PutUint64(s[16+8*f:], kernelBase+uint64(0x1000+i*0x40+f*0x100000))
		}
		stacks[i] = s
	}
	tags := []uint32{0x656b6f54, 0x20657246, 0x6c69464d, 0x7346744e, 0x20707249} // Toke, Fre, MFil, NtFs, Irp
	type block struct{ addr, size uint64 }
	live := make([]block, 0, 1<<17)
	payload := make([]byte, 24)
	var written, events int64
	ts := int64(1000)
	nextAddr := uint64(kernelBase + 0x10000000)
	for written < size {
		ts += 100
		cpu := int(events % 4)
		tid := uint32(1000 + events%64)
		hook := uint16(0x0E20)
		var blk block
		if len(live) > 100_000 || (len(live) > 0 && rng.IntN(2) == 0) {
			i := rng.IntN(len(live))
			blk = live[i]
			live[i] = live[len(live)-1]
			live = live[:len(live)-1]
			hook = 0x0E22
		} else {
			blk = block{nextAddr, uint64(16 + rng.IntN(4096))}
			nextAddr += 0x1000
			if rng.IntN(100) != 0 {
				live = append(live, blk)
			}
		}
		tag := tags[events%int64(len(tags))]
		binary.LittleEndian.PutUint32(payload[0:], uint32(events%2))
		binary.LittleEndian.PutUint32(payload[4:], tag)
		binary.LittleEndian.PutUint64(payload[8:], blk.size)
		binary.LittleEndian.PutUint64(payload[16:], blk.addr)
		if _, err := w.Add(cpu, etltest.Record{Kind: etl.KindSystem64, HookID: hook, Version: 2,
			ThreadID: tid, ProcessID: 4, Timestamp: ts, Payload: payload}); err != nil {
			b.Fatal(err)
		}
		st := stacks[rng.IntN(len(stacks))]
		binary.LittleEndian.PutUint64(st[0:], uint64(ts))
		binary.LittleEndian.PutUint32(st[8:], 4)
		binary.LittleEndian.PutUint32(st[12:], tid)
		if _, err := w.Add(cpu, etltest.Record{Kind: etl.KindPerfInfo64, HookID: 0x1820, Version: 2,
			Timestamp: ts, Payload: st}); err != nil {
			b.Fatal(err)
		}
		written += 56 + int64(16+len(st)+7)&^7
		events++
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return events
}

// BenchmarkAnalysis1GiB measures the whole analysis (decode, join stacks,
// match, fold the outstanding stacks) over a generated 1 GiB pool trace,
// with its peak heap.
func BenchmarkAnalysis1GiB(b *testing.B) {
	path := filepath.Join(b.TempDir(), "pool.etl")
	events := writePoolTrace(b, path, poolTraceSize)
	f, err := etl.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				runtime.ReadMemStats(&ms)
				if ms.HeapAlloc > peak.Load() {
					peak.Store(ms.HeapAlloc)
				}
			}
		}
	}()
	b.SetBytes(f.Size())
	b.ReportAllocs()
	b.ResetTimer()
	var outstanding int
	for b.Loop() {
		res, err := analysis.Run(f, analysis.Options{})
		if err != nil {
			b.Fatal(err)
		}
		outstanding = len(res.Pool.Outstanding)
		var c stackCounter
		for _, a := range res.Pool.Outstanding {
			c.add(res.Stacks.Resolve(refOf(a.Stack)))
		}
	}
	close(stop)
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peakheapMiB")
	b.ReportMetric(float64(outstanding), "outstanding")
}
