package etl

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/poolprof/poolprof/internal/xpress"
)

// maxBufferSize bounds the decompressed size of one buffer. ETW session
// buffers are at most a few MiB; a larger Offset in a compressed buffer is
// damage, and the bound keeps a hostile file from making the reader
// allocate.
const maxBufferSize = 16 << 20

// maxCompressionRatio bounds how much a compressed buffer may claim to
// expand. Real ETL buffers compress about 5:1 and at most 14:1 in the
// corpus (timestamps differ from record to record); a larger claim is
// damage, and believing it would let a few bytes of input make the reader
// allocate and write megabytes.
const maxCompressionRatio = 256

// maxExpansion is the largest end of data a compressed buffer of the given
// on-disk size may claim.
func maxExpansion(size int) int {
	return min(maxBufferSize, max(64<<10, maxCompressionRatio*(size-bufferHeaderSize)))
}

// peekSize is how much of each buffer NewFile reads beyond its header:
// enough to find the first record's timestamp, even through XPRESS and
// behind a WPP message's optional fields (at most 0x24 bytes in).
const peekSize = 96

// File is an open ETL file. Its methods read lazily from the underlying
// io.ReaderAt: NewFile reads the buffer headers and the logfile header,
// and a Reader reads one buffer at a time.
type File struct {
	// Header is the logfile header from the file's first record.
	Header LogfileHeader
	// HeaderPointerSize is the pointer size of the header record (4 or 8).
	HeaderPointerSize int

	r        io.ReaderAt
	size     int64
	closer   io.Closer
	buffers  []BufferInfo
	problems []*FormatError
	tb       timeBase
}

// Open opens the named file with NewFile. Close the File when done.
func Open(name string) (*File, error) {
	fh, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	f, err := NewFile(fh, st.Size())
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f.closer = fh
	return f, nil
}

// NewFile reads the buffer headers and the logfile header of the ETL file
// of the given size in r. It fails only when the file has no readable
// logfile header; damage elsewhere is kept in Problems and in the
// problems of each Reader.
func NewFile(r io.ReaderAt, size int64) (*File, error) {
	f := &File{r: r, size: size}
	if err := f.scanBuffers(); err != nil {
		return nil, err
	}
	if err := f.readLogfileHeader(); err != nil {
		return nil, err
	}
	f.checkCompressedSizes()
	return f, nil
}

// checkCompressedSizes refuses compressed buffers that claim to expand
// beyond the session's buffer size: such a claim is damage, and believing
// it would let a small file make the reader allocate a lot.
func (f *File) checkCompressedSizes() {
	limit := min(max(int(f.Header.BufferSize), 64<<10), maxBufferSize)
	for i := range f.buffers {
		b := &f.buffers[i]
		if b.Compressed() && b.Filled > limit {
			f.problem(b.FileOffset, b.Index, -1, fmt.Sprintf("decompressed size %d exceeds the session buffer size %d", b.Filled, limit), nil)
			b.Filled = bufferHeaderSize
		}
	}
}

// Close closes the file opened by Open; for a File from NewFile it does
// nothing.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	return f.closer.Close()
}

// Size is the size of the file in bytes.
func (f *File) Size() int64 { return f.size }

// Buffers lists the buffers in file order. The slice belongs to the File.
func (f *File) Buffers() []BufferInfo { return f.buffers }

// Problems lists the damage found while reading buffer headers: sizes that
// make no sense, truncation, bytes that are not a buffer.
func (f *File) Problems() []*FormatError { return f.problems }

// Time converts a raw event timestamp to wall-clock time (UTC), for every
// clock type, anchored on the header event and the header's StartTime.
func (f *File) Time(ts int64) time.Time { return FiletimeToTime(f.tb.filetime(ts)) }

// StartTimestamp is the raw timestamp of the logfile header event, the
// instant the header's StartTime names: offsets into the trace count
// from it.
func (f *File) StartTimestamp() int64 { return f.tb.anchorRaw }

// Filetime converts a raw event timestamp to a Windows FILETIME.
func (f *File) Filetime(ts int64) int64 { return f.tb.filetime(ts) }

func (f *File) problem(off int64, buf, rec int, msg string, err error) {
	f.problems = append(f.problems, &FormatError{Offset: off, Buffer: buf, Record: rec, Msg: msg, Err: err})
}

// scanBuffers walks the buffer headers, stepping by each buffer's own
// size, and records what each says.
func (f *File) scanBuffers() error {
	var hdr [bufferHeaderSize + peekSize]byte
	var peek [0x30]byte
	logical := int64(0)
	for off := int64(0); off+bufferHeaderSize <= f.size; {
		n, err := f.r.ReadAt(hdr[:min(int64(len(hdr)), f.size-off)], off)
		if n < bufferHeaderSize {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return &FormatError{Offset: off, Buffer: len(f.buffers), Record: -1, Msg: "reading buffer header", Err: err}
		}
		h := parseBufferHeader(hdr[:])
		idx := len(f.buffers)
		if h.size == 0 {
			if !allZero(f, off) {
				f.problem(off, -1, -1, fmt.Sprintf("%d bytes after the last buffer are not a buffer", f.size-off), nil)
			}
			break
		}
		if h.size < bufferHeaderSize {
			f.problem(off, idx, -1, fmt.Sprintf("buffer size %d is smaller than the buffer header", h.size), nil)
			next, ok := resync(off, logical, f.size)
			if !ok {
				break
			}
			off = next
			continue
		}
		if idx == 0 {
			// The header buffer's size is the stride of uncompressed
			// files; it lets the walk resynchronise after damage.
			logical = int64(h.size)
		}
		info := BufferInfo{
			Index: idx, FileOffset: off, Size: int(h.size), Filled: int(h.filled),
			Flags: h.flags, Type: h.typ, Processor: h.processor, LoggerID: h.loggerID,
			Sequence: h.sequence, TimeStamp: h.timeStamp,
		}
		if int64(h.size) > f.size-off {
			info.Size = int(f.size - off)
			f.problem(off, idx, -1, fmt.Sprintf("buffer of %d bytes is truncated to %d by the end of the file", h.size, info.Size), nil)
		}
		limit := info.Size
		if info.Compressed() {
			limit = maxExpansion(info.Size)
		}
		switch {
		case info.Filled < bufferHeaderSize:
			f.problem(off, idx, -1, fmt.Sprintf("end of data %#x lies inside the buffer header", info.Filled), nil)
			info.Filled = bufferHeaderSize
		case info.Filled > limit:
			if info.Compressed() {
				f.problem(off, idx, -1, fmt.Sprintf("decompressed size %d exceeds %d", info.Filled, limit), nil)
				info.Filled = bufferHeaderSize
			} else if info.Size == int(h.size) { // truncation was reported already
				f.problem(off, idx, -1, fmt.Sprintf("end of data %#x lies past the buffer size %#x", info.Filled, info.Size), nil)
				info.Filled = info.Size
			} else {
				info.Filled = info.Size
			}
		}
		first := hdr[bufferHeaderSize:n]
		if info.Compressed() {
			first = first[:min(len(first), info.Size-bufferHeaderSize)]
			m, _ := xpress.Decompress(peek[:], first)
			first = peek[:m]
		} else {
			first = first[:min(len(first), info.Filled-bufferHeaderSize)]
		}
		info.firstTS, info.hasFirstTS = peekTimestamp(first)
		f.buffers = append(f.buffers, info)
		off += int64(h.size)
	}
	if len(f.buffers) == 0 {
		return &FormatError{Offset: 0, Buffer: -1, Record: -1, Msg: "no ETL buffer in the file"}
	}
	return nil
}

// resync finds where to look for the next buffer after a header whose size
// cannot be used: uncompressed files place buffers at multiples of the
// logical buffer size.
func resync(off, logical, size int64) (int64, bool) {
	if logical < bufferHeaderSize {
		return 0, false
	}
	next := (off/logical + 1) * logical
	return next, next+bufferHeaderSize <= size
}

// allZero reports whether the file is zero from off to its end, as
// preallocated files are; it reads at most 1 MiB before giving up.
func allZero(f *File, off int64) bool {
	var b [4096]byte
	for read := 0; off < f.size && read < 1<<20; {
		n, err := f.r.ReadAt(b[:min(int64(len(b)), f.size-off)], off)
		for _, c := range b[:n] {
			if c != 0 {
				return false
			}
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return false
		}
		off += int64(n)
		read += n
		if n == 0 {
			break
		}
	}
	return true
}

// readLogfileHeader decodes TRACE_LOGFILE_HEADER from the first record of
// the first buffer.
func (f *File) readLogfileHeader() error {
	var lb loadedBuffer
	info := &f.buffers[0]
	if err := lb.read(f, info); err != nil {
		return err
	}
	data := lb.data
	r := scanRecord(data, bufferHeaderSize, len(data))
	fail := func(msg string) error {
		off := info.FileOffset
		if !info.Compressed() {
			off += bufferHeaderSize
		}
		return &FormatError{Offset: off, Buffer: 0, Record: 0, Msg: msg}
	}
	if r.status != scanOK || !r.kind.IsKernel() {
		return fail("the file does not start with a logfile header event")
	}
	var ev Event
	fillEvent(&ev, data, recRef{ts: r.ts, off: bufferHeaderSize, size: uint16(r.size), payload: uint16(r.hdr), kind: r.kind})
	if ev.HookID != 0 {
		return fail(fmt.Sprintf("the first event has hook %#04x, not the logfile header 0x0000", ev.HookID))
	}
	ptr := r.kind.PointerSize()
	h, ok := parseLogfileHeader(ev.Payload, ptr)
	if !ok {
		return fail(fmt.Sprintf("logfile header payload of %d bytes is shorter than %d", len(ev.Payload), logfileFixedSize(ptr)))
	}
	f.Header = h
	f.HeaderPointerSize = ptr
	f.tb = newTimeBase(&h, ev.Timestamp)
	return nil
}
