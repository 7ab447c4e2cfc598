package etl_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/etl/etltest"
)

// damagedTrace builds an uncompressed (or compressed) trace of SYSTEM64
// records on 2 CPUs in 4 KiB buffers, one record per millisecond tick.
func damagedTrace(t *testing.T, compressed bool) (*etltest.Builder, []etltest.Ref, []byte) {
	t.Helper()
	b, err := etltest.New(etltest.Options{PointerSize: 8, CPUs: 2, BufferSize: 4096, Compressed: compressed})
	require.NoError(t, err)
	var refs []etltest.Ref
	for i := range 400 {
		ref, err := b.Add(i%2, etltest.Record{
			Kind: etl.KindSystem64, HookID: 0x0E20, Version: 2, ThreadID: uint32(i), ProcessID: 4,
			Timestamp: int64(1000 + i), Payload: bytes.Repeat([]byte{byte(i)}, 40),
		})
		require.NoError(t, err)
		refs = append(refs, ref)
	}
	data, err := b.Bytes()
	require.NoError(t, err)
	return b, refs, data
}

// readAll returns the thread ids (the record numbers) read in file order,
// and the reader's problems.
func readAll(t *testing.T, data []byte) ([]uint32, *etl.Reader) {
	t.Helper()
	f, err := etl.NewFile(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	r := f.NewReader(etl.OrderFile)
	var got []uint32
	for ev, err := range r.All() {
		require.NoError(t, err)
		if ev.Buffer > 0 {
			got = append(got, ev.ThreadID)
		}
	}
	return got, r
}

// recordsIn lists the record numbers the builder put in buffer buf.
func recordsIn(t *testing.T, b *etltest.Builder, refs []etltest.Ref, buf int) (in, out []uint32) {
	for i, ref := range refs {
		p, err := b.Placement(ref)
		require.NoError(t, err)
		if p.Buffer == buf {
			in = append(in, uint32(i))
		} else {
			out = append(out, uint32(i))
		}
	}
	return in, out
}

func TestDamagedRecordSize(t *testing.T) {
	b, refs, data := damagedTrace(t, false)
	const victim = 101
	p, err := b.Placement(refs[victim])
	require.NoError(t, err)
	off, err := b.FileOffset(refs[victim])
	require.NoError(t, err)
	// A size that runs past the end of data: the rest of the buffer is lost.
	binary.LittleEndian.PutUint16(data[off+int64(etltest.SizeFieldOffset(etl.KindSystem64)):], 0xFFF0)

	got, r := readAll(t, data)
	in, others := recordsIn(t, b, refs, p.Buffer)
	var want []uint32
	for _, n := range append(in, others...) {
		if n < victim || !contains(in, n) {
			want = append(want, n)
		}
	}
	assert.ElementsMatch(t, want, got, "every record but the victim and those after it in its buffer")
	require.Len(t, r.Problems(), 1)
	pr := r.Problems()[0]
	assert.Equal(t, off, pr.Offset, "the error names the damaged record's file offset")
	assert.Equal(t, p.Buffer, pr.Buffer)
	assert.Equal(t, p.Offset, pr.Record)
	assert.Contains(t, pr.Error(), "runs past the end of data")
	assert.Equal(t, 1, r.Stats().DamagedBuffers)
}

func TestDamagedMarker(t *testing.T) {
	b, refs, data := damagedTrace(t, false)
	const victim = 200
	off, err := b.FileOffset(refs[victim])
	require.NoError(t, err)
	binary.LittleEndian.PutUint32(data[off:], 0x12345678) // no TRACE_HEADER_FLAG
	got, r := readAll(t, data)
	p, _ := b.Placement(refs[victim])
	in, _ := recordsIn(t, b, refs, p.Buffer)
	lost := 0
	for _, n := range in {
		if n >= victim {
			lost++
			assert.NotContains(t, got, n)
		}
	}
	assert.Len(t, got, len(refs)-lost)
	require.Len(t, r.Problems(), 1)
	assert.Equal(t, off, r.Problems()[0].Offset)
	assert.Contains(t, r.Problems()[0].Msg, "no record marker")
}

func TestTruncatedFile(t *testing.T) {
	b, refs, data := damagedTrace(t, false)
	bufs := b.Buffers()
	last := bufs[len(bufs)-1]
	cut := last.FileOffset + 0x48 + 200 // the header and 200 bytes of records
	got, r := readAll(t, data[:cut])
	in, others := recordsIn(t, b, refs, len(bufs)-1)
	for _, n := range others {
		assert.Contains(t, got, n, "records of intact buffers are all read")
	}
	// 200 bytes hold two whole 72-byte records; the third is cut.
	assert.Len(t, got, len(others)+2)
	assert.Subset(t, got, in[:2])
	require.NotEmpty(t, r.Problems())
	assert.Equal(t, last.FileOffset, r.Problems()[0].Offset)
	assert.Contains(t, r.Problems()[0].Msg, "truncated")
}

func TestBadBufferSizeResyncs(t *testing.T) {
	b, refs, data := damagedTrace(t, false)
	victim := b.Buffers()[3]
	binary.LittleEndian.PutUint32(data[victim.FileOffset+etltest.HdrBufferSize:], 0x10)
	got, r := readAll(t, data)
	in, others := recordsIn(t, b, refs, 3)
	assert.ElementsMatch(t, others, got, "only the buffer with the bad size is lost")
	assert.NotEmpty(t, in)
	require.Len(t, r.Problems(), 1)
	assert.Equal(t, victim.FileOffset, r.Problems()[0].Offset)
	assert.Equal(t, 3, r.Problems()[0].Buffer)
}

func TestCorruptCompressedBuffer(t *testing.T) {
	b, refs, data := damagedTrace(t, true)
	victim := b.Buffers()[2]
	require.True(t, victim.Compressed())
	// Cut the stream short by making the buffer claim more output than
	// its stream holds.
	binary.LittleEndian.PutUint32(data[victim.FileOffset+etltest.HdrOffset:], uint32(victim.Filled+512))
	got, r := readAll(t, data)
	in, others := recordsIn(t, b, refs, 2)
	for _, n := range others {
		assert.Contains(t, got, n)
	}
	for _, n := range in {
		assert.Contains(t, got, n, "the records that did decompress are kept")
	}
	require.Len(t, r.Problems(), 1)
	pr := r.Problems()[0]
	assert.Equal(t, victim.FileOffset, pr.Offset)
	assert.Equal(t, 2, pr.Buffer)
	assert.Contains(t, pr.Error(), "decompressing buffer")
}

func TestUnknownKindSkippedBySize(t *testing.T) {
	b, err := etltest.New(etltest.Options{CPUs: 1})
	require.NoError(t, err)
	_, err = b.Add(0, etltest.Record{Kind: etl.KindSystem64, HookID: 0x0E20, Timestamp: 5})
	require.NoError(t, err)
	// Kind 0x0D (ERROR) and 0x1F (unassigned), each 24 bytes, size at +0.
	for _, k := range []byte{0x0D, 0x1F} {
		raw := make([]byte, 24)
		binary.LittleEndian.PutUint16(raw, 24)
		raw[2], raw[3] = k, 0xC0
		_, err = b.AddRaw(0, raw)
		require.NoError(t, err)
	}
	_, err = b.Add(0, etltest.Record{Kind: etl.KindSystem64, HookID: 0x0E22, Timestamp: 6})
	require.NoError(t, err)
	data, err := b.Bytes()
	require.NoError(t, err)
	f, err := etl.NewFile(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	r := f.NewReader(etl.OrderFile)
	var hooks []uint16
	for ev, err := range r.All() {
		require.NoError(t, err)
		hooks = append(hooks, ev.HookID)
	}
	assert.Equal(t, []uint16{0x0000, 0x0E20, 0x0E22}, hooks)
	assert.Equal(t, int64(2), r.Stats().Unknown)
	assert.Equal(t, int64(1), r.Stats().UnknownByKind[0x0D])
	assert.Equal(t, int64(1), r.Stats().UnknownByKind[0x1F])
	assert.Empty(t, r.Problems())
}

func TestBadExtendedItemSkipsRecord(t *testing.T) {
	b, err := etltest.New(etltest.Options{CPUs: 1})
	require.NoError(t, err)
	good := etltest.Record{Kind: etl.KindEventHeader64, Provider: testProvider, ID: 1, Timestamp: 5,
		Ext: []etl.ExtItem{{Type: etl.ExtTerminalSession, Data: []byte{1, 0, 0, 0}}}}
	raw, err := good.Bytes()
	require.NoError(t, err)
	binary.LittleEndian.PutUint16(raw[0x50+6:], 200) // DataSize larger than the item
	ref, err := b.AddRaw(0, raw)
	require.NoError(t, err)
	good.ID = 2
	_, err = b.Add(0, good)
	require.NoError(t, err)
	data, err := b.Bytes()
	require.NoError(t, err)
	off, err := b.FileOffset(ref)
	require.NoError(t, err)

	f, err := etl.NewFile(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	r := f.NewReader(etl.OrderFile)
	var ids []uint16
	for ev, err := range r.All() {
		require.NoError(t, err)
		if ev.Kind == etl.KindEventHeader64 {
			ids = append(ids, ev.ID)
		}
	}
	assert.Equal(t, []uint16{2}, ids, "the damaged record is skipped, the next one read")
	assert.Equal(t, int64(1), r.Stats().BadRecords)
	require.Len(t, r.Problems(), 1)
	assert.Equal(t, off, r.Problems()[0].Offset)
}

func TestNotAnETLFile(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty": nil,
		"short": []byte("hello"),
		"text":  bytes.Repeat([]byte("not an etl file "), 100),
		"zeros": make([]byte, 4096),
		"bad header": func() []byte {
			d := make([]byte, 0x100)
			binary.LittleEndian.PutUint32(d, 0x100)
			binary.LittleEndian.PutUint32(d[0x30:], 0x100)
			return d
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			f, err := etl.NewFile(bytes.NewReader(data), int64(len(data)))
			assert.Nil(t, f)
			var fe *etl.FormatError
			require.True(t, errors.As(err, &fe), "error %v is a *FormatError", err)
			assert.Contains(t, err.Error(), "etl: ")
		})
	}
}

func contains(s []uint32, v uint32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestWrappedBuffersReadInTimeOrder stands for a circular log that wrapped:
// the buffers of one processor are no longer in file order. The time walk
// orders buffers by their first timestamp, so it still returns every event
// in timestamp order.
func TestWrappedBuffersReadInTimeOrder(t *testing.T) {
	b, refs, data := damagedTrace(t, false)
	bufs := b.Buffers()
	// Rotate the data buffers (all of one size): the newest come first.
	size := int(bufs[1].FileOffset - bufs[0].FileOffset)
	body := data[bufs[1].FileOffset:]
	require.Zero(t, len(body)%size)
	k := 3 * size
	rotated := append(append(append([]byte(nil), data[:bufs[1].FileOffset]...), body[k:]...), body[:k]...)

	f, err := etl.NewFile(bytes.NewReader(rotated), int64(len(rotated)))
	require.NoError(t, err)
	r := f.NewReader(etl.OrderTime)
	var got []uint32
	last := int64(0)
	for ev, err := range r.All() {
		require.NoError(t, err)
		require.GreaterOrEqual(t, ev.Timestamp, last)
		last = ev.Timestamp
		if ev.Buffer > 0 {
			got = append(got, ev.ThreadID)
		}
	}
	require.Len(t, got, len(refs))
	for i, id := range got {
		assert.Equal(t, uint32(i), id, "record %d in time order", i)
	}
}

// TestCompressedClaimIsBounded is the regression case for a fuzzer find: a
// compressed buffer of a few bytes that claims megabytes of records made
// the reader allocate and fill them. Such a claim is now reported as
// damage and costs next to nothing.
func TestCompressedClaimIsBounded(t *testing.T) {
	b, _, data := damagedTrace(t, true)
	victim := b.Buffers()[1]
	require.True(t, victim.Compressed())
	binary.LittleEndian.PutUint32(data[victim.FileOffset+etltest.HdrOffset:], 15<<20)

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, r := readAll(t, data)
	runtime.ReadMemStats(&after)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(4<<20), "bytes allocated")
	assert.NotEmpty(t, got)
	require.NotEmpty(t, r.Problems())
	assert.Equal(t, victim.FileOffset, r.Problems()[0].Offset)
	assert.Contains(t, r.Problems()[0].Msg, "exceeds")
}

// TestMessageBuffersOrderedByTimestamp: buffers that start with a WPP
// message carrying a timestamp are ordered by it, so the time walk keeps
// one buffer per processor in memory instead of opening them all first.
func TestMessageBuffersOrderedByTimestamp(t *testing.T) {
	b, err := etltest.New(etltest.Options{CPUs: 2, BufferSize: 1024})
	require.NoError(t, err)
	for i := range 200 {
		_, err := b.Add(i%2, etltest.Record{Kind: etl.KindMessage, MessageNumber: 7,
			MessageFlags: 0x01 | 0x02 | 0x08 | 0x20, Sequence: uint32(i), Provider: testProvider,
			Timestamp: int64(100 + i), Payload: []byte{byte(i)}})
		require.NoError(t, err)
	}
	data, err := b.Bytes()
	require.NoError(t, err)
	f, err := etl.NewFile(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	require.Greater(t, len(f.Buffers()), 8)
	r := f.NewReader(etl.OrderTime)
	var seq []uint32
	for ev, err := range r.All() {
		require.NoError(t, err)
		if ev.Kind == etl.KindMessage {
			seq = append(seq, ev.Sequence)
		}
	}
	require.Len(t, seq, 200)
	for i, s := range seq {
		assert.Equal(t, uint32(i), s)
	}
	assert.LessOrEqual(t, r.Stats().MaxBuffersHeld, 3, "buffers in memory at once")
}
