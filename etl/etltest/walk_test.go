package etltest_test

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/internal/xpress"
)

// This file is an independent, deliberately naive reader of the produced
// bytes, written from docs/etl-format.md §1–§3 with literal offsets rather
// than the package's constants, so that the tests do not check the builder
// against itself.

var le = binary.LittleEndian

// walkedBuffer is one buffer found by walking the file by BufferSize.
type walkedBuffer struct {
	fileOff int64
	raw     []byte // the bytes the buffer occupies in the file

	size, saved, current uint32
	timeStamp, seq       int64
	proc, logger         uint16
	state, filled        uint32
	flags, typ           uint16

	// data is the buffer as a reader sees it: the header plus the
	// (decompressed) records, up to filled.
	data []byte
}

// walkedRecord is one record of a buffer.
type walkedRecord struct {
	off  int // from the end of the 0x48-byte buffer header
	kind byte
	size int
	b    []byte // size bytes
}

// walk splits file into buffers the way §1.1 describes, decompressing
// compressed buffers, and checks that the buffers cover the file exactly.
func walk(t *testing.T, file []byte) []walkedBuffer {
	t.Helper()
	var out []walkedBuffer
	off := int64(0)
	for off < int64(len(file)) {
		require.GreaterOrEqual(t, int64(len(file))-off, int64(0x48), "short buffer header at %#x", off)
		h := file[off:]
		w := walkedBuffer{
			fileOff:   off,
			size:      le.Uint32(h[0x00:]),
			saved:     le.Uint32(h[0x04:]),
			current:   le.Uint32(h[0x08:]),
			timeStamp: int64(le.Uint64(h[0x10:])),
			seq:       int64(le.Uint64(h[0x18:])),
			proc:      le.Uint16(h[0x28:]),
			logger:    le.Uint16(h[0x2A:]),
			state:     le.Uint32(h[0x2C:]),
			filled:    le.Uint32(h[0x30:]),
			flags:     le.Uint16(h[0x34:]),
			typ:       le.Uint16(h[0x36:]),
		}
		require.NotZero(t, w.size, "BufferSize 0 at %#x", off)
		require.LessOrEqual(t, off+int64(w.size), int64(len(file)), "buffer at %#x runs past the file", off)
		require.GreaterOrEqual(t, w.filled, uint32(0x48))
		w.raw = file[off : off+int64(w.size)]
		if w.flags&0x40 != 0 {
			w.data = make([]byte, w.filled)
			copy(w.data, w.raw[:0x48])
			n, err := xpress.Decompress(w.data[0x48:], w.raw[0x48:])
			require.NoError(t, err, "decompressing buffer at %#x", off)
			require.Equal(t, int(w.filled)-0x48, n, "decompressed size of buffer at %#x", off)
		} else {
			require.LessOrEqual(t, w.filled, w.size)
			w.data = w.raw[:w.filled]
		}
		out = append(out, w)
		off += int64(w.size)
	}
	require.Equal(t, int64(len(file)), off, "buffers must cover the file exactly")
	return out
}

// records walks the records of a buffer by their size fields (§3.1, §3.2)
// and checks that the walk ends exactly at Offset.
func records(t *testing.T, w walkedBuffer) []walkedRecord {
	t.Helper()
	var out []walkedRecord
	off := 0x48
	for off < len(w.data) {
		require.Zero(t, off%8, "record at %#x not 8-aligned", off)
		r := w.data[off:]
		require.GreaterOrEqual(t, len(r), 4)
		var kind byte
		var size int
		switch r[3] {
		case 0xC0:
			kind = r[2]
			switch kind {
			case 0x01, 0x02, 0x03, 0x04, 0x10, 0x11: // kernel kinds: version first, size at +4
				size = int(le.Uint16(r[4:]))
			default:
				size = int(le.Uint16(r[0:]))
			}
		case 0x90:
			kind = 0x0F
			size = int(le.Uint16(r[0:]))
		default:
			t.Fatalf("buffer at %#x: unknown marker %#08x at %#x", w.fileOff, le.Uint32(r), off)
		}
		require.Positive(t, size)
		require.LessOrEqual(t, off+size, len(w.data), "record at %#x runs past Offset", off)
		out = append(out, walkedRecord{off: off - 0x48, kind: kind, size: size, b: r[:size]})
		// Alignment padding is zero.
		end := min((off+size+7)&^7, len(w.data))
		for i := off + size; i < end; i++ {
			require.Zero(t, w.data[i], "padding byte at %#x", i)
		}
		off = (off + size + 7) &^ 7
	}
	require.Equal(t, len(w.data), off, "record walk must end exactly at Offset")
	return out
}

// requireFiller checks that an uncompressed buffer holds 0xFF from Offset
// to its end.
func requireFiller(t *testing.T, w walkedBuffer) {
	t.Helper()
	for i := int(w.filled); i < len(w.raw); i++ {
		if w.raw[i] != 0xFF {
			t.Fatalf("buffer at %#x: byte %#x after Offset %#x is %#02x, want 0xFF", w.fileOff, i, w.filled, w.raw[i])
		}
	}
}

// logfile is the TRACE_LOGFILE_HEADER of a file, read at the offsets of the
// table in §2.2 for the given pointer size.
type logfile struct {
	bufferSize                       uint32
	version                          [4]byte
	build, cpus                      uint32
	endTime                          int64
	timerRes, maxFile, mode, written uint32
	startBuffers, ptrSize            uint32
	eventsLost, mhz                  uint32
	namePtr, filePtr                 uint64
	tzBias                           int32
	bootTime, perfFreq, startTime    int64
	clock, buffersLost               uint32
	loggerName, logFileName          string
}

func parseLogfile(t *testing.T, p []byte, ptr int) logfile {
	t.Helper()
	var l logfile
	l.bufferSize = le.Uint32(p[0x00:])
	copy(l.version[:], p[0x04:0x08])
	l.build = le.Uint32(p[0x08:])
	l.cpus = le.Uint32(p[0x0C:])
	l.endTime = int64(le.Uint64(p[0x10:]))
	l.timerRes = le.Uint32(p[0x18:])
	l.maxFile = le.Uint32(p[0x1C:])
	l.mode = le.Uint32(p[0x20:])
	l.written = le.Uint32(p[0x24:])
	l.startBuffers = le.Uint32(p[0x28:])
	l.ptrSize = le.Uint32(p[0x2C:])
	l.eventsLost = le.Uint32(p[0x30:])
	l.mhz = le.Uint32(p[0x34:])
	// The 64-bit and 32-bit columns of the table.
	tz, boot, perf, start, clock, lost, fixed := 0x48, 0xF8, 0x100, 0x108, 0x110, 0x114, 0x118
	if ptr == 4 {
		l.namePtr = uint64(le.Uint32(p[0x38:]))
		l.filePtr = uint64(le.Uint32(p[0x3C:]))
		tz, boot, perf, start, clock, lost, fixed = 0x40, 0xF0, 0xF8, 0x100, 0x108, 0x10C, 0x110
	} else {
		l.namePtr = le.Uint64(p[0x38:])
		l.filePtr = le.Uint64(p[0x40:])
	}
	l.tzBias = int32(le.Uint32(p[tz:]))
	l.bootTime = int64(le.Uint64(p[boot:]))
	l.perfFreq = int64(le.Uint64(p[perf:]))
	l.startTime = int64(le.Uint64(p[start:]))
	l.clock = le.Uint32(p[clock:])
	l.buffersLost = le.Uint32(p[lost:])
	names := p[fixed:]
	var n int
	l.loggerName, n = wstr(names)
	l.logFileName, _ = wstr(names[n:])
	return l
}

// wstr decodes a NUL-terminated UTF-16LE string of ASCII characters.
func wstr(b []byte) (string, int) {
	var s []byte
	for i := 0; i+1 < len(b); i += 2 {
		c := le.Uint16(b[i:])
		if c == 0 {
			return string(s), i + 2
		}
		s = append(s, byte(c))
	}
	return string(s), len(b)
}
