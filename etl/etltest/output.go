package etltest

import (
	"fmt"
	"io"
)

// Where the bytes go. The logfile header at the very start of the file holds
// BuffersWritten and EndTime, which are known only when the build ends, but
// streaming writes the header buffer before the first data buffer. So the
// builder writes the header once with provisional values and overwrites it
// at Close. A destination that can seek (an *os.File on disk) gets the
// buffers as they fill and one patch at the end; any other io.Writer gets
// the whole file at Close, which costs its size in memory.
type sink interface {
	write(p []byte) error
	// patch overwrites bytes already written, at off from the start of
	// the file.
	patch(off int64, p []byte) error
	// finish completes the output after the last write and patch.
	finish() error
}

// memSink keeps the file in memory.
type memSink struct{ buf []byte }

func (m *memSink) write(p []byte) error {
	m.buf = append(m.buf, p...)
	return nil
}

func (m *memSink) patch(off int64, p []byte) error {
	copy(m.buf[off:], p)
	return nil
}

func (m *memSink) finish() error { return nil }

// seekSink streams to a seekable writer. The file starts where the writer
// stood when the builder was made.
type seekSink struct {
	w    io.WriteSeeker
	base int64 // writer position of the file's first byte
	n    int64 // bytes written
}

func (s *seekSink) write(p []byte) error {
	n, err := s.w.Write(p)
	s.n += int64(n)
	if err != nil {
		return fmt.Errorf("etltest: writing at file offset %#x: %w", s.n, err)
	}
	return nil
}

func (s *seekSink) patch(off int64, p []byte) error {
	if _, err := s.w.Seek(s.base+off, io.SeekStart); err != nil {
		return fmt.Errorf("etltest: seeking back to the logfile header: %w", err)
	}
	if _, err := s.w.Write(p); err != nil {
		return fmt.Errorf("etltest: rewriting the logfile header: %w", err)
	}
	if _, err := s.w.Seek(s.base+s.n, io.SeekStart); err != nil {
		return fmt.Errorf("etltest: seeking to the end of the file: %w", err)
	}
	return nil
}

func (s *seekSink) finish() error { return nil }

// spoolSink collects the file in memory for a writer that cannot seek and
// hands it over at the end.
type spoolSink struct {
	memSink
	w io.Writer
}

func (s *spoolSink) finish() error {
	if _, err := s.w.Write(s.buf); err != nil {
		return fmt.Errorf("etltest: writing the file: %w", err)
	}
	s.buf = nil
	return nil
}

// discardSink drops everything.
type discardSink struct{}

func (discardSink) write([]byte) error        { return nil }
func (discardSink) patch(int64, []byte) error { return nil }
func (discardSink) finish() error             { return nil }

// newSink picks the cheapest sink w supports. A writer with a Seek method
// that fails (an *os.File on a pipe) counts as not seekable.
func newSink(w io.Writer) sink {
	if w == io.Discard {
		// Benchmarks of the builder itself: nothing to keep.
		return discardSink{}
	}
	if ws, ok := w.(io.WriteSeeker); ok {
		if pos, err := ws.Seek(0, io.SeekCurrent); err == nil {
			return &seekSink{w: ws, base: pos}
		}
	}
	return &spoolSink{w: w}
}
