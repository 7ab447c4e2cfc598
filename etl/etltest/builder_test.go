package etltest_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/etl/etltest"
)

// sys returns a SYSTEM64 record whose total size is exactly size bytes
// (size >= 0x20), with a recognisable timestamp.
func sys(size int, ts int64) etltest.Record {
	p := make([]byte, size-0x20)
	for i := range p {
		p[i] = byte(i + 1)
	}
	return etltest.Record{Kind: etl.KindSystem64, HookID: 0x0E20, Version: 2, ThreadID: 8, ProcessID: 4, Timestamp: ts, Payload: p}
}

func build(t *testing.T, o etltest.Options, add func(b *etltest.Builder)) (*etltest.Builder, []byte) {
	t.Helper()
	b, err := etltest.New(o)
	require.NoError(t, err)
	add(b)
	file, err := b.Bytes()
	require.NoError(t, err)
	return b, file
}

func TestHeaderOnlyFile(t *testing.T) {
	for _, ptr := range []int{4, 8} {
		t.Run(map[int]string{4: "32", 8: "64"}[ptr], func(t *testing.T) {
			b, file := build(t, etltest.Options{PointerSize: ptr}, func(*etltest.Builder) {})
			bufs := walk(t, file)
			require.Len(t, bufs, 1)
			h := bufs[0]
			assert.Equal(t, uint32(64<<10), h.size)
			assert.Len(t, file, 64<<10)
			assert.Equal(t, uint16(0x21), h.flags, "FLUSH_MARKER|PROC_INDEX")
			assert.Equal(t, uint16(4), h.typ, "HEADER")
			assert.Equal(t, uint32(3), h.state)
			assert.Equal(t, h.filled, h.saved)
			assert.Equal(t, h.filled, h.current)
			assert.Zero(t, h.seq)
			assert.Zero(t, h.timeStamp)
			assert.Zero(t, h.proc)
			requireFiller(t, h)

			recs := records(t, h)
			require.Len(t, recs, 1)
			r := recs[0]
			wantKind := byte(0x02)
			fixed := 0x118
			if ptr == 4 {
				wantKind, fixed = 0x01, 0x110
			}
			assert.Equal(t, wantKind, r.kind)
			assert.Equal(t, uint16(2), le.Uint16(r.b[0:]), "version")
			assert.Equal(t, uint16(0), le.Uint16(r.b[6:]), "hook id")
			names := utf16z(etltest.DefaultLoggerName)
			names = append(names, utf16z(etltest.DefaultLogFileName)...)
			assert.Equal(t, 0x20+fixed+len(names), r.size)

			l := parseLogfile(t, r.b[0x20:], ptr)
			assert.Equal(t, uint32(64<<10), l.bufferSize)
			assert.Equal(t, [4]byte{10, 0, 1, 5}, l.version)
			assert.Equal(t, uint32(etltest.DefaultOSBuild), l.build)
			assert.Equal(t, uint32(1), l.cpus)
			assert.Equal(t, uint32(1), l.written, "BuffersWritten")
			assert.Equal(t, uint32(ptr), l.ptrSize)
			assert.Equal(t, uint32(1), l.mode, "sequential")
			assert.Equal(t, uint32(1), l.startBuffers)
			assert.Equal(t, uint32(1), l.clock, "QPC")
			assert.Equal(t, int64(10_000_000), l.perfFreq)
			assert.Equal(t, uint32(3000), l.mhz)
			assert.Equal(t, uint32(156250), l.timerRes)
			start := etl.TimeToFiletime(etltest.DefaultStartTime)
			assert.Equal(t, start, l.startTime)
			assert.Equal(t, start, l.endTime, "no events: EndTime = StartTime")
			assert.Equal(t, etl.TimeToFiletime(etltest.DefaultStartTime.Add(-time.Hour)), l.bootTime)
			assert.Equal(t, etltest.DefaultLoggerName, l.loggerName)
			assert.Equal(t, etltest.DefaultLogFileName, l.logFileName)
			assert.Equal(t, etltest.Options{}.PointerSize, 0, "options are not modified")
			assert.Equal(t, ptr, b.Options().PointerSize)
		})
	}
}

func TestLogfileHeaderFields(t *testing.T) {
	start := time.Date(2023, 7, 1, 12, 0, 0, 123456700, time.UTC)
	for _, ptr := range []int{4, 8} {
		o := etltest.Options{
			PointerSize: ptr, CPUs: 12, BufferSize: 0x2000,
			ClockType: etl.ClockCPUCycle, PerfFreq: 3_000_000, CPUSpeedMHz: 2400,
			StartTime: start, BootTime: start.Add(-48 * time.Hour),
			EndTime: start.Add(time.Minute),
			OSMajor: 6, OSMinor: 3, OSBuild: 9600, FormatMajor: 1, FormatMinor: 6,
			LoggerName: "Pool Logger", LogFileName: `D:\t.etl`,
			LoggerNameField: 9, LogFileNameField: 6,
			EventsLost: 7, BuffersLost: 3, TimerResolution: 5000, MaximumFileSize: 512,
			LogFileMode: 0x2 | 0x02000000, StartBuffers: 4,
			TimeZone:     etltest.TimeZone{Bias: 480},
			HeaderRecord: etltest.HeaderRecord{Timestamp: 1 << 40},
		}
		_, file := build(t, o, func(*etltest.Builder) {})
		h := walk(t, file)[0]
		r := records(t, h)[0]
		l := parseLogfile(t, r.b[0x20:], ptr)
		assert.Equal(t, logfile{
			bufferSize: 0x2000, version: [4]byte{6, 3, 1, 6}, build: 9600, cpus: 12,
			endTime:  etl.TimeToFiletime(start.Add(time.Minute)),
			timerRes: 5000, maxFile: 512, mode: 0x02000002, written: 1,
			startBuffers: 4, ptrSize: uint32(ptr), eventsLost: 7, mhz: 2400,
			namePtr: 9, filePtr: 6, tzBias: 480,
			bootTime: etl.TimeToFiletime(start.Add(-48 * time.Hour)), perfFreq: 3_000_000,
			startTime: etl.TimeToFiletime(start), clock: 3, buffersLost: 3,
			loggerName: "Pool Logger", logFileName: `D:\t.etl`,
		}, l, "pointer size %d", ptr)
		assert.Equal(t, int64(1<<40), int64(le.Uint64(r.b[0x10:])), "T0")
	}
}

func TestAlignmentPaddingAndFiller(t *testing.T) {
	sizes := []int{0x21, 0x5b, 0x28, 0xae, 0x20, 0x47}
	var refs []etltest.Ref
	b, file := build(t, etltest.Options{BufferSize: 0x1000}, func(b *etltest.Builder) {
		for i, n := range sizes {
			ref, err := b.Add(0, sys(n, int64(100+i)))
			require.NoError(t, err)
			refs = append(refs, ref)
		}
	})
	bufs := walk(t, file)
	require.Len(t, bufs, 2)
	data := bufs[1]
	assert.Equal(t, uint16(0), data.typ, "GENERIC")
	assert.Equal(t, uint16(0x21), data.flags, "PROC_INDEX and, as the last buffer, FLUSH_MARKER")
	recs := records(t, data)
	require.Len(t, recs, len(sizes))
	off := 0
	for i, r := range recs {
		assert.Equal(t, off, r.off)
		assert.Equal(t, sizes[i], r.size)
		assert.Equal(t, int64(100+i), int64(le.Uint64(r.b[0x10:])))
		p, err := b.Placement(refs[i])
		require.NoError(t, err)
		assert.Equal(t, etltest.Placement{Buffer: 1, Offset: off}, p)
		off += (sizes[i] + 7) &^ 7
	}
	// Offset counts the last record's padding.
	assert.Equal(t, uint32(0x48+off), data.filled)
	assert.Equal(t, data.filled, data.saved)
	requireFiller(t, data)
}

func TestExactFill(t *testing.T) {
	const size = 0x400
	room := size - 0x48 // 0x3B8
	var last, next etltest.Ref
	b, file := build(t, etltest.Options{BufferSize: size}, func(b *etltest.Builder) {
		for range 3 {
			_, err := b.Add(0, sys(0x100, 1))
			require.NoError(t, err)
		}
		var err error
		last, err = b.Add(0, sys(room-0x300, 2)) // ends exactly at BufferSize
		require.NoError(t, err)
		next, err = b.Add(0, sys(0x30, 3))
		require.NoError(t, err)
	})
	bufs := walk(t, file)
	require.Len(t, bufs, 3)
	full := bufs[1]
	assert.Equal(t, uint32(size), full.filled, "Offset = BufferSize")
	assert.Len(t, records(t, full), 4)
	assert.Equal(t, uint32(size+0x30), full.current, "cursor past the record that did not fit")
	p, err := b.Placement(last)
	require.NoError(t, err)
	assert.Equal(t, etltest.Placement{Buffer: 1, Offset: 0x300}, p)
	p, err = b.Placement(next)
	require.NoError(t, err)
	assert.Equal(t, etltest.Placement{Buffer: 2, Offset: 0}, p)

	// A record as large as the whole data area fits an empty buffer.
	_, file = build(t, etltest.Options{BufferSize: size}, func(b *etltest.Builder) {
		_, err := b.Add(0, sys(room, 1))
		require.NoError(t, err)
	})
	bufs = walk(t, file)
	assert.Equal(t, uint32(size), bufs[1].filled)
}

func TestRecordLargerThanBuffer(t *testing.T) {
	b, err := etltest.New(etltest.Options{BufferSize: 0x400})
	require.NoError(t, err)
	_, err = b.Add(0, sys(0x400-0x48+1, 1))
	assert.ErrorContains(t, err, "larger than")
	_, err = b.AddRaw(0, make([]byte, 0x400))
	assert.ErrorContains(t, err, "larger than")
	_, err = b.Add(0, sys(0x10000, 1))
	assert.ErrorContains(t, err, "u16 size field")
	// The builder is still usable.
	_, err = b.Add(0, sys(0x400-0x48, 1))
	assert.NoError(t, err)
}

// Buffers of different CPUs are written in the order they are flushed;
// sequence numbers count buffers as they are opened.
func TestInterleavedCPUs(t *testing.T) {
	const size = 0x200 // 0x1B8 of records: three 0x90-byte records, with 0x28 to spare
	type added struct {
		ref etltest.Ref
		ts  int64
		cpu int
	}
	var all []added
	b, file := build(t, etltest.Options{CPUs: 3, BufferSize: size}, func(b *etltest.Builder) {
		ts := int64(1000)
		add := func(cpu int) {
			ts++
			ref, err := b.Add(cpu, sys(0x90, ts))
			require.NoError(t, err)
			all = append(all, added{ref, ts, cpu})
		}
		// CPU 0 and 1 open buffers (seq 1, 2); CPU 1 fills first.
		add(0)
		add(1)
		add(1)
		add(1)
		add(1) // flushes CPU 1 buffer (seq 2) -> file buffer 1; opens seq 3
		add(0)
		add(0)
		add(0) // flushes CPU 0 buffer (seq 1) -> file buffer 2; opens seq 4
		add(2) // opens seq 5
		require.NoError(t, b.Flush(2))
		add(2) // opens seq 6
	})
	bufs := walk(t, file)
	type shape struct {
		proc  uint16
		seq   int64
		n     int
		flags uint16
	}
	var got []shape
	for _, w := range bufs[1:] {
		got = append(got, shape{w.proc, w.seq, len(records(t, w)), w.flags})
		requireFiller(t, w)
		assert.Equal(t, uint16(0), w.typ)
	}
	assert.Equal(t, []shape{
		{1, 2, 3, 0x20}, // filled first
		{0, 1, 3, 0x20},
		{2, 5, 1, 0x20}, // Flush
		{0, 4, 1, 0x20}, // Close, in CPU order
		{1, 3, 1, 0x20},
		{2, 6, 1, 0x21}, // last buffer: FLUSH_MARKER
	}, got)

	// Every record is where Placement says, and buffer headers match
	// what Buffers reports.
	infos := b.Buffers()
	require.Len(t, infos, len(bufs))
	for i, w := range bufs {
		info := infos[i]
		assert.Equal(t, i, info.Index)
		assert.Equal(t, w.fileOff, info.FileOffset)
		assert.Equal(t, int(w.size), info.Size)
		assert.Equal(t, int(w.filled), info.Filled)
		assert.Equal(t, etl.BufferFlag(w.flags), info.Flags)
		assert.Equal(t, etl.BufferType(w.typ), info.Type)
		assert.Equal(t, w.proc, info.Processor)
		assert.Equal(t, w.seq, info.Sequence)
		assert.Equal(t, w.timeStamp, info.TimeStamp)
		assert.Len(t, records(t, w), info.Records)
	}
	for _, a := range all {
		p, err := b.Placement(a.ref)
		require.NoError(t, err)
		w := bufs[p.Buffer]
		assert.Equal(t, uint16(a.cpu), w.proc)
		rec := w.data[0x48+p.Offset:]
		assert.Equal(t, a.ts, int64(le.Uint64(rec[0x10:])), "record at %+v", p)
	}
	// Buffer timestamps: the latest record timestamp added before the
	// flush (1005 is the record that did not fit CPU 1's first buffer).
	assert.Equal(t, int64(1004), bufs[1].timeStamp)
	assert.Equal(t, int64(1010), bufs[6].timeStamp)

	// BuffersWritten counts them all; EndTime follows the last event.
	l := parseLogfile(t, records(t, bufs[0])[0].b[0x20:], 8)
	assert.Equal(t, uint32(len(bufs)), l.written)
	assert.Equal(t, etl.TimeToFiletime(etltest.DefaultStartTime)+1010, l.endTime, "QPC at 10 MHz: one tick = 100 ns")
}

func TestCompressed(t *testing.T) {
	o := etltest.Options{CPUs: 2, BufferSize: 0x2000, Compressed: true}
	var refs []etltest.Ref
	add := func(b *etltest.Builder) {
		refs = refs[:0]
		for i := range 400 {
			ref, err := b.Add(i%2, sys(0x28+i%50, int64(i)))
			require.NoError(t, err)
			refs = append(refs, ref)
		}
	}
	bc, packed := build(t, o, add)
	o.Compressed = false
	o.FormatMajor, o.FormatMinor = 2, 0
	o.LogFileMode = etl.ModeSequential | etl.ModeCompressed | etl.ModeRelog
	_, plain := build(t, o, add)

	cb, pb := walk(t, packed), walk(t, plain)
	require.Len(t, cb, len(pb))
	assert.Less(t, len(packed), len(plain)/2)

	// The header buffer stays raw, trimmed to 512-byte units.
	h := cb[0]
	assert.Equal(t, uint16(0x21), h.flags)
	assert.Zero(t, h.size%512)
	assert.Less(t, h.size, uint32(0x2000))
	assert.GreaterOrEqual(t, h.size, h.filled)
	requireFiller(t, h)
	l := parseLogfile(t, records(t, h)[0].b[0x20:], 8)
	assert.Equal(t, uint32(0x04010001), l.mode)
	assert.Equal(t, [4]byte{10, 0, 2, 0}, l.version)
	assert.Equal(t, uint32(len(cb)), l.written)
	assert.Equal(t, uint32(0x2000), l.bufferSize, "logical size")

	for i := 1; i < len(cb); i++ {
		c, p := cb[i], pb[i]
		assert.Equal(t, p.flags|0x40, c.flags, "buffer %d", i)
		assert.Equal(t, int(c.size), len(c.raw))
		assert.Equal(t, p.filled, c.filled, "Offset is the uncompressed end")
		assert.Equal(t, p.data[0x48:], c.data[0x48:], "buffer %d decompresses to the same records", i)
		assert.Equal(t, p.proc, c.proc)
		assert.Equal(t, p.seq, c.seq)
	}
	// Placements are the same; records in compressed buffers have no
	// file offset.
	for i, ref := range refs {
		p, err := bc.Placement(ref)
		require.NoError(t, err)
		rec := cb[p.Buffer].data[0x48+p.Offset:]
		assert.Equal(t, 0x28+i%50, int(le.Uint16(rec[4:])))
		assert.Equal(t, int64(i), int64(le.Uint64(rec[0x10:])))
		_, err = bc.FileOffset(ref)
		assert.ErrorContains(t, err, "compressed")
	}
}

// The same recipe gives the same bytes in memory, streamed to a file and
// streamed to a writer that cannot seek.
func TestStreamingOutputsAgree(t *testing.T) {
	for _, compressed := range []bool{false, true} {
		o := etltest.Options{CPUs: 4, BufferSize: 0x1000, Compressed: compressed}
		recipe := func(b *etltest.Builder) {
			_, err := b.Add(etltest.HeaderBuffer, tv2Extension())
			require.NoError(t, err)
			for i := range 2000 {
				_, err := b.Add(i*7%4, sys(0x20+i%200, b.Timestamp(time.Duration(i)*time.Microsecond)))
				require.NoError(t, err)
			}
		}
		_, want := build(t, o, recipe)

		path := filepath.Join(t.TempDir(), "s.etl")
		f, err := os.Create(path)
		require.NoError(t, err)
		_, err = f.Write([]byte("prefix")) // the file starts where the writer stands
		require.NoError(t, err)
		b, err := etltest.NewWriter(f, o)
		require.NoError(t, err)
		recipe(b)
		require.NoError(t, b.Close())
		require.NoError(t, b.Close(), "Close is idempotent")
		require.NoError(t, f.Close())
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, "prefix", string(got[:6]))
		assert.True(t, bytes.Equal(want, got[6:]), "seekable stream differs (compressed=%v)", compressed)

		var buf bytes.Buffer
		b, err = etltest.NewWriter(struct{ io.Writer }{&buf}, o)
		require.NoError(t, err)
		recipe(b)
		require.NoError(t, b.Close())
		assert.True(t, bytes.Equal(want, buf.Bytes()), "spooled stream differs (compressed=%v)", compressed)

		_, err = b.Bytes()
		assert.ErrorIs(t, err, etltest.ErrStreaming)

		bufs := walk(t, want)
		l := parseLogfile(t, records(t, bufs[0])[0].b[0x20:], 8)
		assert.Equal(t, uint32(len(bufs)), l.written)
	}
}

func TestWriteTo(t *testing.T) {
	b, err := etltest.New(etltest.Options{})
	require.NoError(t, err)
	_, err = b.Add(0, sys(0x40, 5))
	require.NoError(t, err)
	var buf bytes.Buffer
	n, err := b.WriteTo(&buf)
	require.NoError(t, err)
	assert.Equal(t, int64(2*64<<10), n)
	data, err := b.Bytes()
	require.NoError(t, err)
	assert.Equal(t, data, buf.Bytes())
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n < len(p) {
		return 0, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func (w *failWriter) Seek(int64, int) (int64, error) { return 0, nil }

func TestWriteErrorIsSticky(t *testing.T) {
	b, err := etltest.NewWriter(&failWriter{n: 0x1000}, etltest.Options{BufferSize: 0x1000})
	require.NoError(t, err)
	for range 100 {
		if _, err = b.Add(0, sys(0x100, 1)); err != nil {
			break
		}
	}
	require.ErrorContains(t, err, "disk full")
	_, err = b.Add(0, sys(0x100, 1))
	assert.ErrorContains(t, err, "disk full")
	assert.ErrorContains(t, b.Close(), "disk full")
}

func TestHeaderBuffer(t *testing.T) {
	b, err := etltest.New(etltest.Options{BufferSize: 0x1000})
	require.NoError(t, err)
	ref, err := b.Add(etltest.HeaderBuffer, tv2Extension())
	require.NoError(t, err)
	p, err := b.Placement(ref)
	require.NoError(t, err)
	hdrSize := (0x20 + 0x118 + len(utf16z(etltest.DefaultLoggerName)) + len(utf16z(etltest.DefaultLogFileName)) + 7) &^ 7
	assert.Equal(t, etltest.Placement{Buffer: 0, Offset: hdrSize}, p)

	// Once a data buffer is flushed the header buffer is on its way.
	_, err = b.Add(0, sys(0x40, 1))
	require.NoError(t, err)
	require.NoError(t, b.Flush(0))
	_, err = b.Add(etltest.HeaderBuffer, tv2Extension())
	assert.ErrorIs(t, err, etltest.ErrHeaderSealed)
	assert.ErrorIs(t, b.SetBufferFlags(etltest.HeaderBuffer, etl.BufferEventsLost), etltest.ErrHeaderSealed)
	file, err := b.Bytes()
	require.NoError(t, err)
	bufs := walk(t, file)
	recs := records(t, bufs[0])
	require.Len(t, recs, 2)
	assert.Equal(t, uint16(5), le.Uint16(recs[1].b[6:]))
	l := parseLogfile(t, recs[0].b[0x20:], 8)
	assert.Equal(t, uint32(2), l.written, "rewritten at Close")
	assert.Equal(t, etl.TimeToFiletime(etltest.DefaultStartTime)+0x298C8F, l.endTime, "the Extension record's timestamp counts")
}

func TestSetBufferFlags(t *testing.T) {
	_, file := build(t, etltest.Options{CPUs: 2, BufferSize: 0x400}, func(b *etltest.Builder) {
		require.NoError(t, b.SetBufferFlags(0, etl.BufferEventsLost)) // no buffer open yet: the next one
		_, err := b.Add(0, sys(0x40, 1))
		require.NoError(t, err)
		_, err = b.Add(1, sys(0x40, 1))
		require.NoError(t, err)
		require.NoError(t, b.SetBufferFlags(1, etl.BufferBufferLost)) // the open one
		require.NoError(t, b.Flush(1))
		_, err = b.Add(1, sys(0x40, 1))
		require.NoError(t, err)
		assert.ErrorIs(t, b.SetBufferFlags(etltest.HeaderBuffer, 0), etltest.ErrHeaderSealed) // sealed by the flush
	})
	bufs := walk(t, file)
	require.Len(t, bufs, 4)
	assert.Equal(t, []uint16{0x21, 0x24, 0x22, 0x21}, []uint16{bufs[0].flags, bufs[1].flags, bufs[2].flags, bufs[3].flags})
}

func TestEventHeaderExtendedItems(t *testing.T) {
	r := etltest.Record{
		Kind:     etl.KindEventHeader32,
		Provider: etl.MustParseGUID("edd08927-9cc4-4e65-b970-c2560fb5c289"),
		ID:       10, Version: 1, Channel: 16, Level: 4, Opcode: 1, Task: 10,
		Keywords: 0x10, Flags: 0x0200, EventProperty: 0x8,
		ActivityID: etl.MustParseGUID("00000001-0002-0003-0405-060708090a0b"),
		ThreadID:   5, ProcessID: 6, Timestamp: 77, KernelTime: 8, UserTime: 9,
		Ext: []etl.ExtItem{
			{Type: etl.ExtRelatedActivityID, Data: make([]byte, 16)},
			{Type: etl.ExtStackTrace64, Data: bytes.Repeat([]byte{0xAB}, 8+3*8)},
			{Type: etl.ExtTerminalSession, Data: []byte{1, 0, 0}},
		},
		Payload: []byte("xyz"),
	}
	got, err := r.Bytes()
	require.NoError(t, err)
	require.Len(t, got, 0x50+24+40+16+3)
	assert.Equal(t, uint16(len(got)), le.Uint16(got[0:]))
	assert.Equal(t, []byte{0x12, 0xC0}, got[2:4])
	assert.Equal(t, uint16(0x0201), le.Uint16(got[4:]), "EXTENDED_INFO added to the given flags")
	assert.Equal(t, uint16(0x8), le.Uint16(got[6:]))
	assert.Equal(t, []byte{0x27, 0x89, 0xd0, 0xed, 0xc4, 0x9c, 0x65, 0x4e, 0xb9, 0x70, 0xc2, 0x56, 0x0f, 0xb5, 0xc2, 0x89}, got[0x18:0x28], "little-endian GUID (trap T13)")
	assert.Equal(t, []byte{10, 0, 1, 16, 4, 1, 10, 0}, got[0x28:0x30])
	assert.Equal(t, uint64(0x10), le.Uint64(got[0x30:]))
	assert.Equal(t, []byte{1, 0, 0, 0, 2, 0, 3, 0, 4, 5, 6, 7, 8, 9, 10, 11}, got[0x40:0x50])
	type item struct{ size, typ, link, dataSize uint16 }
	var items []item
	off := 0x50
	for range 3 {
		items = append(items, item{le.Uint16(got[off:]), le.Uint16(got[off+2:]), le.Uint16(got[off+4:]), le.Uint16(got[off+6:])})
		off += int(le.Uint16(got[off:]))
	}
	assert.Equal(t, []item{{24, 1, 1, 16}, {40, 6, 1, 32}, {16, 3, 0, 3}}, items)
	assert.Equal(t, []byte{1, 0, 0, 0, 0, 0, 0, 0}, got[0x50+64+8:0x50+64+16], "data zero-padded to ItemSize")
	assert.Equal(t, "xyz", string(got[off:]))

	// Without items the flag is left alone.
	r.Ext, r.Flags = nil, 0
	got, err = r.Bytes()
	require.NoError(t, err)
	assert.Len(t, got, 0x53)
	assert.Zero(t, le.Uint16(got[4:]))

	r.Version = 0x100
	_, err = r.Bytes()
	assert.ErrorContains(t, err, "byte")
}

func TestInstanceAndCompactAndMessage(t *testing.T) {
	g1 := etl.MustParseGUID("11111111-2222-3333-4455-66778899aabb")
	g2 := etl.MustParseGUID("aaaaaaaa-bbbb-cccc-ddee-ff0011223344")
	got, err := etltest.Record{
		Kind: etl.KindInstance32, Opcode: 3, Level: 2, Version: 0x102, Provider: g1,
		ThreadID: 1, ProcessID: 2, Timestamp: 3, KernelTime: 4, UserTime: 5,
		InstanceID: 6, ParentInstanceID: 7, ParentGUID: g2, Payload: []byte{0xEE},
	}.Bytes()
	require.NoError(t, err)
	require.Len(t, got, 0x49)
	assert.Equal(t, []byte{0x49, 0, 0x0B, 0xC0, 3, 2, 2, 1}, got[:8])
	assert.Equal(t, uint32(4), le.Uint32(got[0x28:]))
	assert.Equal(t, uint32(6), le.Uint32(got[0x30:]))
	assert.Equal(t, uint32(7), le.Uint32(got[0x34:]))
	assert.Equal(t, uint32(0xaaaaaaaa), le.Uint32(got[0x38:]))
	assert.Equal(t, byte(0xEE), got[0x48])

	got, err = etltest.Record{
		Kind: etl.KindCompact32, HookID: 0x0524, Version: 2,
		ThreadID: 1, ProcessID: 2, Timestamp: 3, KernelTime: 99, Payload: []byte{0xEE},
	}.Bytes()
	require.NoError(t, err)
	assert.Equal(t, []byte{2, 0, 3, 0xC0, 0x19, 0, 0x24, 5, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0xEE}, got)

	// WPP: optional fields in WmiTraceMessage's order; COMPONENTID wins
	// over GUID.
	msg := etltest.Record{
		Kind: etl.KindMessage, MessageNumber: 0x1234, MessageFlags: 0x01 | 0x02 | 0x08 | 0x20,
		Sequence: 0xA1, Provider: g1, Timestamp: 0x0102030405060708, ThreadID: 0xB1, ProcessID: 0xC1,
		Payload: []byte{1, 2},
	}
	got, err = msg.Bytes()
	require.NoError(t, err)
	require.Len(t, got, 8+4+16+8+8+2)
	assert.Equal(t, []byte{byte(len(got)), 0, 0, 0x90, 0x34, 0x12, 0x2B, 0}, got[:8])
	assert.Equal(t, uint32(0xA1), le.Uint32(got[8:]))
	assert.Equal(t, uint32(0x11111111), le.Uint32(got[12:]))
	assert.Equal(t, uint64(0x0102030405060708), le.Uint64(got[28:]))
	assert.Equal(t, []byte{0xB1, 0, 0, 0, 0xC1, 0, 0, 0, 1, 2}, got[36:])
	msg.MessageFlags = 0x04 | 0x02
	msg.ComponentID = 0xCC
	got, err = msg.Bytes()
	require.NoError(t, err)
	assert.Equal(t, []byte{14, 0, 0, 0x90, 0x34, 0x12, 6, 0, 0xCC, 0, 0, 0, 1, 2}, got)

	// Messages walk like any record in a buffer.
	_, file := build(t, etltest.Options{}, func(b *etltest.Builder) {
		_, err := b.Add(0, msg)
		require.NoError(t, err)
		_, err = b.Add(0, sys(0x20, 1))
		require.NoError(t, err)
	})
	recs := records(t, walk(t, file)[1])
	assert.Equal(t, []byte{0x0F, 0x02}, []byte{recs[0].kind, recs[1].kind})
}

func TestPMCAndPEBS(t *testing.T) {
	pebs := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	pmc := bytes.Repeat([]byte{9}, 16)
	got, err := etltest.Record{
		Kind: etl.KindPerfInfo64, HookID: 0x0F2E, Version: 0x8000 | 0x0200 | 2,
		Timestamp: 1, PEBS: pebs, PMC: pmc, Payload: []byte{0xAA},
	}.Bytes()
	require.NoError(t, err)
	require.Len(t, got, 0x10+8+16+1)
	assert.Equal(t, uint16(0x8202), le.Uint16(got[0:]))
	assert.Equal(t, uint16(len(got)), le.Uint16(got[4:]))
	assert.Equal(t, pebs, got[0x10:0x18])
	assert.Equal(t, pmc, got[0x18:0x28])
	assert.Equal(t, byte(0xAA), got[0x28])

	got, err = etltest.Record{Kind: etl.KindSystem32, Version: 0x0102, PMC: pmc[:8]}.Bytes()
	require.NoError(t, err)
	assert.Equal(t, pmc[:8], got[0x20:])

	_, err = etltest.Record{Kind: etl.KindSystem64, Version: 0x0202, PMC: pmc[:8]}.Bytes()
	assert.ErrorContains(t, err, "PMC")
	_, err = etltest.Record{Kind: etl.KindSystem64, Version: 2, PEBS: pebs}.Bytes()
	assert.ErrorContains(t, err, "PEBS")
}

func TestRawRecordsAndUnknownKinds(t *testing.T) {
	_, err := etltest.Record{Kind: etl.KindError}.Bytes()
	assert.ErrorContains(t, err, "AddRaw")
	_, err = etltest.Record{}.Bytes()
	assert.Error(t, err)

	var ref etltest.Ref
	b, file := build(t, etltest.Options{}, func(b *etltest.Builder) {
		_, err := b.AddRaw(0, nil)
		assert.Error(t, err)
		raw := []byte{0x0D, 0, 0x0D, 0xC0, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE} // ERROR kind, size 13
		ref, err = b.AddRaw(0, raw)
		require.NoError(t, err)
		_, err = b.Add(0, sys(0x20, 1))
		require.NoError(t, err)
	})
	recs := records(t, walk(t, file)[1])
	require.Len(t, recs, 2)
	assert.Equal(t, byte(0x0D), recs[0].kind)
	assert.Equal(t, 16, recs[1].off)
	off, err := b.FileOffset(ref)
	require.NoError(t, err)
	assert.Equal(t, int64(64<<10+0x48), off)
}

// The recipe the package doc gives for damage tests works.
func TestDamageRecipe(t *testing.T) {
	var ref etltest.Ref
	b, file := build(t, etltest.Options{BufferSize: 0x1000}, func(b *etltest.Builder) {
		var err error
		_, err = b.Add(0, sys(0x30, 1))
		require.NoError(t, err)
		ref, err = b.Add(0, etltest.Record{Kind: etl.KindEventHeader64, Timestamp: 2})
		require.NoError(t, err)
	})
	off, err := b.FileOffset(ref)
	require.NoError(t, err)
	assert.Equal(t, int64(0x1000+0x48+0x30), off)
	sizeAt := off + int64(etltest.SizeFieldOffset(etl.KindEventHeader64))
	assert.Equal(t, uint16(0x50), le.Uint16(file[sizeAt:]))
	assert.Equal(t, 4, etltest.SizeFieldOffset(etl.KindPerfInfo32))
	assert.Equal(t, 0, etltest.SizeFieldOffset(etl.KindMessage))

	info := b.Buffers()[1]
	assert.Equal(t, uint32(0x48+0x30+0x50), le.Uint32(file[info.FileOffset+etltest.HdrOffset:]))
	assert.Equal(t, uint32(0x1000), le.Uint32(file[info.FileOffset+etltest.HdrBufferSize:]))
	assert.Equal(t, uint16(0x21), le.Uint16(file[info.FileOffset+etltest.HdrBufferFlag:]))
}

func TestTimestampsAndClocks(t *testing.T) {
	start := time.Date(2022, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		clock etl.ClockType
		t0    int64
		tick  int64 // raw ticks in 1 ms
	}{
		{etl.ClockQPC, 5_000_000, 3_000},               // PerfFreq 3 MHz
		{etl.ClockSystemTime, 133_000_000_000, 10_000}, // 100 ns units
		{etl.ClockCPUCycle, 1 << 33, 2_500_000},        // 2500 MHz
	} {
		o := etltest.Options{ClockType: tc.clock, PerfFreq: 3_000_000, CPUSpeedMHz: 2500, StartTime: start,
			HeaderRecord: etltest.HeaderRecord{Timestamp: tc.t0}}
		b, file := build(t, o, func(b *etltest.Builder) {
			assert.Equal(t, tc.t0+tc.tick, b.Timestamp(time.Millisecond))
			assert.Equal(t, tc.t0-tc.tick, b.Timestamp(-time.Millisecond))
			_, err := b.Add(0, sys(0x20, b.Timestamp(1500*time.Millisecond)))
			require.NoError(t, err)
			_, err = b.Add(0, sys(0x20, b.Timestamp(time.Second)))
			require.NoError(t, err)
		})
		bufs := walk(t, file)
		l := parseLogfile(t, records(t, bufs[0])[0].b[0x20:], 8)
		assert.Equal(t, uint32(tc.clock), l.clock)
		assert.Equal(t, etl.TimeToFiletime(start.Add(1500*time.Millisecond)), l.endTime, "clock %v", tc.clock)
		assert.Equal(t, b.Timestamp(1500*time.Millisecond), bufs[1].timeStamp)
	}
}

func TestOptionErrors(t *testing.T) {
	for _, o := range []etltest.Options{
		{PointerSize: 2},
		{CPUs: -1},
		{CPUs: etltest.MaxCPUs + 1},
		{BufferSize: 0x48},
		{BufferSize: 0x1001},
		{BufferSize: 0x100}, // the header record does not fit
		{ClockType: 4},
		{PerfFreq: -1},
	} {
		_, err := etltest.New(o)
		assert.Error(t, err, "%+v", o)
	}
	b, err := etltest.New(etltest.Options{CPUs: 2})
	require.NoError(t, err)
	_, err = b.Add(2, sys(0x20, 1))
	assert.ErrorContains(t, err, "CPU 2")
	_, err = b.Add(-2, sys(0x20, 1))
	assert.Error(t, err)
	ref, err := b.Add(1, sys(0x20, 1))
	require.NoError(t, err)
	_, err = b.Placement(ref)
	assert.ErrorContains(t, err, "not flushed")
	_, err = b.Bytes()
	require.NoError(t, err)
	_, err = b.Placement(ref)
	assert.NoError(t, err)
	_, err = b.Add(0, sys(0x20, 1))
	assert.ErrorIs(t, err, etltest.ErrClosed)
	assert.ErrorIs(t, b.Flush(0), etltest.ErrClosed)
}

// An *os.File that cannot seek (a pipe) gets the whole file at Close.
func TestPipeWriter(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	got := make(chan []byte)
	go func() {
		data, _ := io.ReadAll(r)
		got <- data
	}()
	recipe := func(b *etltest.Builder) {
		for i := range 300 {
			_, err := b.Add(i%2, sys(0x80, int64(i)))
			require.NoError(t, err)
		}
	}
	o := etltest.Options{CPUs: 2, BufferSize: 0x1000}
	b, err := etltest.NewWriter(w, o)
	require.NoError(t, err)
	recipe(b)
	require.NoError(t, b.Close())
	require.NoError(t, w.Close())
	_, want := build(t, o, recipe)
	assert.True(t, bytes.Equal(want, <-got))
}

func TestFlushHeaderBuffer(t *testing.T) {
	b, file := build(t, etltest.Options{BufferSize: 0x1000}, func(b *etltest.Builder) {
		require.NoError(t, b.Flush(etltest.HeaderBuffer))
		require.NoError(t, b.Flush(etltest.HeaderBuffer), "once is enough")
		require.NoError(t, b.Flush(0), "nothing to flush")
		_, err := b.Add(etltest.HeaderBuffer, tv2Extension())
		assert.ErrorIs(t, err, etltest.ErrHeaderSealed)
		require.Len(t, b.Buffers(), 1)
		_, err = b.Add(0, sys(0x20, 1))
		require.NoError(t, err)
	})
	bufs := walk(t, file)
	require.Len(t, bufs, 2)
	assert.Len(t, b.Buffers(), 2)
	l := parseLogfile(t, records(t, bufs[0])[0].b[0x20:], 8)
	assert.Equal(t, uint32(2), l.written)
}
