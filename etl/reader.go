package etl

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"slices"

	"github.com/poolprof/poolprof/internal/xpress"
)

// Order is the order in which a Reader returns events.
type Order uint8

const (
	// OrderTime merges the per-processor buffers into one stream of
	// non-decreasing timestamps, as the analysis needs: an allocation and
	// its free are often logged on different processors. Equal timestamps
	// keep file order.
	OrderTime Order = iota
	// OrderFile returns records buffer by buffer, in the order they are
	// stored: the order of dumps and of debugging.
	OrderFile
)

// maxProblems bounds the problems a reader keeps; all are counted in Stats.
const maxProblems = 1000

// Stats counts what a Reader has read so far.
type Stats struct {
	Events            int64 // events returned
	Buffers           int   // buffers read
	CompressedBuffers int   // of which compressed
	DamagedBuffers    int   // buffers with at least one problem
	BadRecords        int64 // records skipped because their content is damaged
	Unknown           int64 // records of unknown header kinds, skipped by size
	// UnknownByKind counts Unknown by the marker's kind byte.
	UnknownByKind [256]int64
	// OutOfOrder counts events returned in time order with a timestamp
	// below the one before: only a buffer whose records go back in time
	// causes it.
	OutOfOrder int64
	Problems   int // problems found, including those not kept
	// MaxBuffersHeld is the most buffers held in memory at once by the
	// time-ordered walk: about one per processor whose buffers overlap in
	// time.
	MaxBuffersHeld int
	// BytesRead is the file bytes of the buffers read so far, for
	// progress reports: it reaches File.Size at the end of a walk of a
	// file without damage.
	BytesRead int64
}

// Reader returns the events of a File one at a time. It holds one buffer
// per processor at most in memory (in time order, the buffers whose time
// ranges overlap). A Reader is not safe for concurrent use; several
// Readers of one File are.
type Reader struct {
	f     *File
	order Order
	err   error

	// File order: the next buffer to load and the current one.
	next int
	cur  *loadedBuffer

	// Time order: buffers sorted by first timestamp, the index of the
	// next one to load, and a min-heap of loaded buffers keyed by the
	// timestamp of their next record.
	sorted []*BufferInfo
	heap   []*loadedBuffer
	lastTS int64

	free     []*loadedBuffer
	stats    Stats
	problems []*FormatError
}

// NewReader returns a Reader over the events of f in the given order.
func (f *File) NewReader(order Order) *Reader {
	r := &Reader{f: f, order: order, lastTS: math.MinInt64}
	r.problems = append(r.problems, f.problems...)
	r.stats.Problems = len(f.problems)
	if order == OrderTime {
		r.sorted = make([]*BufferInfo, len(f.buffers))
		for i := range f.buffers {
			r.sorted[i] = &f.buffers[i]
		}
		slices.SortStableFunc(r.sorted, func(a, b *BufferInfo) int {
			return cmp.Compare(a.sortKey(), b.sortKey())
		})
	}
	return r
}

// sortKey orders buffers for the merged walk; a buffer whose first
// timestamp is unknown is read first, so nothing waits behind it.
func (b *BufferInfo) sortKey() int64 {
	if !b.hasFirstTS {
		return math.MinInt64
	}
	return b.firstTS
}

// Events returns the events of f in time order. Each event is valid only
// until the iteration moves on. Iteration ends after an error.
func (f *File) Events() iter.Seq2[*Event, error] { return f.NewReader(OrderTime).All() }

// All returns the reader's remaining events as an iterator. The same
// *Event is reused for each step. Iteration ends after an error.
func (r *Reader) All() iter.Seq2[*Event, error] {
	return func(yield func(*Event, error) bool) {
		var ev Event
		for {
			err := r.Next(&ev)
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(&ev, nil) {
				return
			}
		}
	}
}

// Stats returns what the reader has counted so far.
func (r *Reader) Stats() *Stats { return &r.stats }

// Problems returns the damage found so far, first that of the buffer
// headers (File.Problems) and then that met while reading. Damage does
// not stop the reader: the damaged part is skipped.
func (r *Reader) Problems() []*FormatError { return r.problems }

// Next decodes the next event into ev. It returns io.EOF after the last
// event, and an error only when the file cannot be read; after an error
// it keeps returning it. ev's byte slices alias the reader's buffer until
// the next call.
func (r *Reader) Next(ev *Event) error {
	if r.err != nil {
		return r.err
	}
	if r.order == OrderTime {
		r.err = r.nextByTime(ev)
	} else {
		r.err = r.nextInFile(ev)
	}
	if r.err == nil {
		r.stats.Events++
	}
	return r.err
}

func (r *Reader) nextInFile(ev *Event) error {
	for {
		if r.cur == nil {
			if r.next >= len(r.f.buffers) {
				return io.EOF
			}
			lb, err := r.load(&r.f.buffers[r.next], false)
			r.next++
			if err != nil {
				return err
			}
			r.cur = lb
		}
		lb := r.cur
		if lb.pos < len(lb.recs) {
			r.emit(ev, lb)
			return nil
		}
		r.release(lb)
		r.cur = nil
	}
}

func (r *Reader) nextByTime(ev *Event) error {
	for len(r.sorted) > 0 && (len(r.heap) == 0 || r.sorted[0].sortKey() <= r.heap[0].nextTS()) {
		info := r.sorted[0]
		r.sorted = r.sorted[1:]
		lb, err := r.load(info, true)
		if err != nil {
			return err
		}
		if len(lb.recs) == 0 {
			r.release(lb)
			continue
		}
		r.heap = append(r.heap, lb)
		r.up(len(r.heap) - 1)
		r.stats.MaxBuffersHeld = max(r.stats.MaxBuffersHeld, len(r.heap))
	}
	if len(r.heap) == 0 {
		return io.EOF
	}
	lb := r.heap[0]
	ts := lb.nextTS()
	if ts < r.lastTS {
		r.stats.OutOfOrder++
	} else {
		r.lastTS = ts
	}
	r.emit(ev, lb)
	if lb.pos == len(lb.recs) {
		last := len(r.heap) - 1
		r.heap[0] = r.heap[last]
		r.heap = r.heap[:last]
		r.release(lb) // ev aliases lb.data; it is not reused before the next call
	}
	if len(r.heap) > 0 {
		r.down(0)
	}
	return nil
}

func (r *Reader) emit(ev *Event, lb *loadedBuffer) {
	fillEvent(ev, lb.data, lb.recs[lb.pos])
	ev.Processor = lb.info.Processor
	ev.Buffer = lb.info.Index
	lb.pos++
}

// less orders loaded buffers by next timestamp, then by file order.
func less(a, b *loadedBuffer) bool {
	at, bt := a.nextTS(), b.nextTS()
	if at != bt {
		return at < bt
	}
	return a.info.Index < b.info.Index
}

func (r *Reader) up(i int) {
	h := r.heap
	for i > 0 {
		p := (i - 1) / 2
		if !less(h[i], h[p]) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (r *Reader) down(i int) {
	h := r.heap
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if l+1 < len(h) && less(h[l+1], h[l]) {
			m = l + 1
		}
		if !less(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func (r *Reader) problem(e *FormatError) {
	r.stats.Problems++
	if len(r.problems) < maxProblems {
		r.problems = append(r.problems, e)
	}
}

func (r *Reader) release(lb *loadedBuffer) {
	lb.info, lb.recs, lb.pos = nil, lb.recs[:0], 0
	r.free = append(r.free, lb)
}

// load reads and indexes one buffer. Damage is recorded as a problem and
// what could be read is kept; only an I/O error is returned.
func (r *Reader) load(info *BufferInfo, byTime bool) (*loadedBuffer, error) {
	var lb *loadedBuffer
	if n := len(r.free); n > 0 {
		lb, r.free = r.free[n-1], r.free[:n-1]
	} else {
		lb = new(loadedBuffer)
	}
	r.stats.Buffers++
	r.stats.BytesRead += int64(info.Size)
	if info.Compressed() {
		r.stats.CompressedBuffers++
	}
	damaged := false
	if err := lb.read(r.f, info); err != nil {
		var fe *FormatError
		if !errors.As(err, &fe) {
			return nil, err
		}
		r.problem(fe)
		damaged = true
	}
	lb.info = info
	if lb.index(r, byTime) {
		damaged = true
	}
	if damaged {
		r.stats.DamagedBuffers++
	}
	return lb, nil
}

// loadedBuffer is one buffer in memory: its decompressed bytes, header
// included, and the records found in it.
type loadedBuffer struct {
	info *BufferInfo
	data []byte   // buffer bytes [0, Filled), decompressed
	comp []byte   // compressed bytes, reused
	recs []recRef // records in the order they are returned
	pos  int      // next record to return
}

func (lb *loadedBuffer) nextTS() int64 { return lb.recs[lb.pos].ts }

// read fills lb.data with the buffer's bytes up to its end of data. It
// returns a *FormatError when decompression fails (lb.data then holds what
// was decompressed) and other errors when the file cannot be read.
func (lb *loadedBuffer) read(f *File, info *BufferInfo) error {
	lb.data = grow(lb.data, info.Filled)
	if !info.Compressed() {
		return readFull(f, info, lb.data, info.FileOffset)
	}
	lb.comp = grow(lb.comp, info.Size)
	if err := readFull(f, info, lb.comp, info.FileOffset); err != nil {
		return err
	}
	copy(lb.data, lb.comp[:bufferHeaderSize])
	n, err := xpress.Decompress(lb.data[bufferHeaderSize:], lb.comp[bufferHeaderSize:])
	if err == nil && bufferHeaderSize+n != info.Filled {
		err = fmt.Errorf("stream ends after %d of %d bytes", n, info.Filled-bufferHeaderSize)
	}
	if err != nil {
		lb.data = lb.data[:bufferHeaderSize+n]
		return &FormatError{Offset: info.FileOffset, Buffer: info.Index, Record: -1, Msg: "decompressing buffer", Err: err}
	}
	return nil
}

func readFull(f *File, info *BufferInfo, b []byte, off int64) error {
	n, err := f.r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("etl: reading buffer %d at offset %#x: %w", info.Index, off, err)
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// index walks the records of the buffer, keeping the sound ones. It
// reports whether the buffer was damaged.
func (lb *loadedBuffer) index(r *Reader, byTime bool) bool {
	info := lb.info
	data := lb.data
	end := len(data)
	damaged := false
	sorted := true
	var lastTS int64 = math.MinInt64
	problem := func(off int, msg string) {
		damaged = true
		fileOff := info.FileOffset
		if !info.Compressed() {
			fileOff += int64(off)
		}
		r.problem(&FormatError{Offset: fileOff, Buffer: info.Index, Record: off - bufferHeaderSize, Msg: msg})
	}
	for off := bufferHeaderSize; off < end; {
		s := scanRecord(data, off, end)
		switch s.status {
		case scanEnd:
			off = end
			continue
		case scanDamaged:
			problem(off, s.msg)
			off = end
			continue
		case scanUnknown:
			r.stats.Unknown++
			r.stats.UnknownByKind[byte(binary.LittleEndian.Uint32(data[off:])>>16)]++
		case scanBad:
			r.stats.BadRecords++
			problem(off, s.msg)
		case scanOK:
			ts := s.ts
			if !s.hasTS {
				ts = max(lastTS, info.sortKey())
			}
			if ts < lastTS {
				sorted = false
			}
			lastTS = ts
			lb.recs = append(lb.recs, recRef{ts: ts, off: uint32(off), size: uint16(s.size), payload: uint16(s.hdr), kind: s.kind})
		}
		off += align8(s.size)
	}
	if byTime && !sorted {
		slices.SortStableFunc(lb.recs, func(a, b recRef) int { return cmp.Compare(a.ts, b.ts) })
	}
	return damaged
}
