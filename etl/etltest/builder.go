package etltest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/internal/xpress"
)

// HeaderBuffer is the cpu argument that addresses the header buffer (file
// buffer 0, processor 0) instead of a CPU's buffer chain. Windows puts
// EventTrace Extension and PartitionInfoExtension records there, right
// after the logfile header event.
const HeaderBuffer = -1

var (
	// ErrClosed is returned by calls made after Close.
	ErrClosed = errors.New("etltest: builder closed")
	// ErrHeaderSealed is returned when a record is added to the header
	// buffer after it was written, which happens when the first data
	// buffer is flushed.
	ErrHeaderSealed = errors.New("etltest: header buffer already written")
	// ErrStreaming is returned by Bytes and WriteTo of a builder made by
	// NewWriter, whose bytes went to its writer.
	ErrStreaming = errors.New("etltest: builder streams to a writer; use Close")
)

// Builder writes an ETL file buffer by buffer, the way the Windows logger
// does. Make one with New (in memory) or NewWriter (streaming), add records
// to CPUs, then finish with Bytes, WriteTo or Close.
//
// Each CPU fills its own buffer; when a record does not fit, that buffer is
// flushed to the file and a new one opened. The file therefore holds the
// buffers in flush order, with the CPUs interleaved as in real traces. At
// the end the partially filled buffers are flushed in CPU order; the last
// buffer of the file carries FLUSH_MARKER. When streaming to a seekable
// writer, memory stays at about CPUs + 3 buffers whatever the size of the
// file (the CPUs' buffers, the header buffer, the buffer held back for its
// flush marker, and the compression output).
//
// A Builder is not safe for concurrent use.
type Builder struct {
	o   Options
	out sink
	mem *memSink // the output of New, for Bytes and WriteTo

	hdr      *buffer // the header buffer, kept to rewrite it at Close
	sealed   bool    // the header buffer has been written
	cpus     []cpuChain
	infos    []BufferInfo // every buffer flushed so far, in file order
	fileSize int64        // bytes flushed so far, pending buffer included
	nextSeq  int64

	// The buffer flushed last is held back until the next flush or
	// Close, so that the last buffer of the file can get FLUSH_MARKER
	// without seeking.
	pending       []byte
	pendingIsData bool // pending is a buffer's memory, to be recycled
	free          [][]byte
	spare         []byte // compression output not in use

	maxTS  int64 // latest record timestamp added
	haveTS bool

	err    error // sticky write error
	closed bool
}

// cpuChain is the state of one CPU's buffers.
type cpuChain struct {
	cur       *buffer        // buffer being filled, nil if none
	opened    int            // buffers opened so far
	fileIndex []int32        // file index of each flushed buffer, by ordinal
	flags     etl.BufferFlag // flags for the next buffer opened
}

// Ref names a record added to a builder: the CPU (or HeaderBuffer), the
// ordinal of the buffer among that CPU's buffers, and the record's offset
// after the 0x48-byte buffer header. Builder.Placement turns it into a
// buffer index in file order once the buffer has been flushed.
type Ref struct {
	CPU     int
	Ordinal int
	Offset  int
}

// Placement is where a record landed in the file: the index of its buffer
// in file order (0 is the header buffer) and its offset counted from the
// end of the 0x48-byte buffer header, in the uncompressed buffer. These are
// the Buffer and Offset that etl.Event reports.
type Placement struct {
	Buffer int
	Offset int
}

// New returns a builder that keeps the file in memory; finish it with Bytes
// or WriteTo.
func New(opts Options) (*Builder, error) {
	m := &memSink{}
	b, err := newBuilder(m, opts)
	if err != nil {
		return nil, err
	}
	b.mem = m
	return b, nil
}

// NewWriter returns a builder that writes buffers to w as they fill; finish
// it with Close. If w is an io.WriteSeeker whose Seek works (such as an
// *os.File on disk), memory stays bounded and the logfile header is
// rewritten in place at Close; any other writer receives the whole file at
// Close and the builder holds it in memory until then. io.Discard keeps
// nothing, for benchmarks of the builder itself.
func NewWriter(w io.Writer, opts Options) (*Builder, error) {
	return newBuilder(newSink(w), opts)
}

func newBuilder(out sink, opts Options) (*Builder, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &Builder{o: o, out: out, cpus: make([]cpuChain, o.CPUs), nextSeq: 1}
	b.hdr = &buffer{data: make([]byte, o.BufferSize), off: BufferHeaderSize, cpu: HeaderBuffer}
	hr := headerRecord(&b.o, 0, 0)
	n, err := hr.size()
	if err == nil && align8(n) > o.BufferSize-BufferHeaderSize {
		err = fmt.Errorf("etltest: logfile header record (%d bytes) does not fit a %#x-byte buffer", n, o.BufferSize)
	}
	if err != nil {
		return nil, err
	}
	hr.encode(b.hdr.reserve(n))
	return b, nil
}

// Options returns the options in effect, defaults filled in.
func (b *Builder) Options() Options { return b.o }

// Timestamp returns the raw timestamp, in the session clock, that lies d
// after the logfile header event (T0 + d). Readers convert it back to
// Options.StartTime + d (to 100 ns).
func (b *Builder) Timestamp(d time.Duration) int64 {
	return b.o.HeaderRecord.Timestamp + b.o.ticks(d)
}

// Add encodes r into the current buffer of cpu (0..CPUs-1, or HeaderBuffer)
// and reports where it went. A record that does not fit the rest of the
// buffer flushes it and opens a new one; a record larger than a whole
// buffer is an error, as ETW refuses such events rather than splitting
// them.
func (b *Builder) Add(cpu int, r Record) (Ref, error) {
	if err := b.usable(); err != nil {
		return Ref{}, err
	}
	n, err := r.size()
	if err != nil {
		return Ref{}, err
	}
	buf, err := b.room(cpu, n)
	if err != nil {
		return Ref{}, err
	}
	ref := Ref{CPU: cpu, Ordinal: buf.nth, Offset: buf.off - BufferHeaderSize}
	r.encode(buf.reserve(n))
	if ts, ok := r.timestamp(); ok && (!b.haveTS || ts > b.maxTS) {
		b.maxTS, b.haveTS = ts, true
	}
	return ref, nil
}

// AddRaw places raw as one record, byte for byte, padded with zeros to a
// multiple of 8: the escape hatch for kinds the builder does not encode
// and for damaged records. The builder does not look inside it, so its
// timestamp does not count toward EndTime.
func (b *Builder) AddRaw(cpu int, raw []byte) (Ref, error) {
	if err := b.usable(); err != nil {
		return Ref{}, err
	}
	if len(raw) == 0 {
		return Ref{}, errors.New("etltest: empty raw record")
	}
	buf, err := b.room(cpu, len(raw))
	if err != nil {
		return Ref{}, err
	}
	ref := Ref{CPU: cpu, Ordinal: buf.nth, Offset: buf.off - BufferHeaderSize}
	copy(buf.reserve(len(raw)), raw)
	return ref, nil
}

// SetBufferFlags ORs f (e.g. etl.BufferEventsLost) into the BufferFlag of
// the buffer cpu is filling, or of the next one it opens if none is open.
func (b *Builder) SetBufferFlags(cpu int, f etl.BufferFlag) error {
	if err := b.usable(); err != nil {
		return err
	}
	if cpu == HeaderBuffer {
		if b.sealed {
			return ErrHeaderSealed
		}
		b.hdr.flags |= f
		return nil
	}
	if err := b.checkCPU(cpu); err != nil {
		return err
	}
	if ch := &b.cpus[cpu]; ch.cur != nil {
		ch.cur.flags |= f
	} else {
		ch.flags |= f
	}
	return nil
}

// Flush writes the buffer cpu is filling, if it holds any record, as a
// flush timer would; the CPU's next record opens a new buffer. Tests use
// it to control how buffers of different CPUs interleave. Flush of
// HeaderBuffer writes the header buffer, after which no record can be
// added to it.
func (b *Builder) Flush(cpu int) error {
	if err := b.usable(); err != nil {
		return err
	}
	if cpu == HeaderBuffer {
		return b.seal()
	}
	if err := b.checkCPU(cpu); err != nil {
		return err
	}
	ch := &b.cpus[cpu]
	if ch.cur == nil || ch.cur.records == 0 {
		return nil
	}
	cur := ch.cur
	ch.cur = nil
	return b.flush(cur, uint32(b.o.BufferSize+cur.off))
}

// Close flushes the partially filled buffers in CPU order, marks the last
// buffer of the file with FLUSH_MARKER, fills in BuffersWritten and
// EndTime, and completes the output. Calling Close again returns the
// first result.
func (b *Builder) Close() error {
	if b.closed {
		return b.err
	}
	b.closed = true
	if b.err != nil {
		return b.err
	}
	b.err = b.finish()
	return b.err
}

func (b *Builder) finish() error {
	// Everything is added: the final header values are known now.
	total := len(b.infos)
	if !b.sealed {
		total = 1
	}
	for i := range b.cpus {
		if c := b.cpus[i].cur; c != nil && c.records > 0 {
			total++
		}
	}
	end := filetime(b.o.StartTime)
	switch {
	case !b.o.EndTime.IsZero():
		end = filetime(b.o.EndTime)
	case b.haveTS && b.maxTS > b.o.HeaderRecord.Timestamp:
		end = b.o.filetimeOf(b.maxTS)
	}
	hr := headerRecord(&b.o, uint32(total), end)
	n, _ := hr.size()
	hr.encode(b.hdr.data[BufferHeaderSize : BufferHeaderSize+n])

	rewrite := b.sealed
	if err := b.seal(); err != nil {
		return err
	}
	for i := range b.cpus {
		ch := &b.cpus[i]
		if ch.cur == nil || ch.cur.records == 0 {
			continue
		}
		cur := ch.cur
		ch.cur = nil
		if err := b.flush(cur, uint32(b.o.BufferSize+cur.off)); err != nil {
			return err
		}
	}
	if b.pending != nil {
		last := &b.infos[len(b.infos)-1]
		last.Flags |= etl.BufferFlushMarker
		binary.LittleEndian.PutUint16(b.pending[HdrBufferFlag:], uint16(last.Flags))
		if err := b.writePending(); err != nil {
			return err
		}
	}
	if rewrite {
		if err := b.out.patch(0, b.hdr.data[:b.hdr.off]); err != nil {
			return err
		}
	}
	return b.out.finish()
}

// Bytes closes a builder made by New and returns the file.
func (b *Builder) Bytes() ([]byte, error) {
	if b.mem == nil {
		return nil, ErrStreaming
	}
	if err := b.Close(); err != nil {
		return nil, err
	}
	return b.mem.buf, nil
}

// WriteTo closes a builder made by New and writes the file to w.
func (b *Builder) WriteTo(w io.Writer) (int64, error) {
	data, err := b.Bytes()
	if err != nil {
		return 0, err
	}
	n, err := w.Write(data)
	return int64(n), err
}

// Placement reports where the record ref landed, once its buffer has been
// flushed (always true after Close).
func (b *Builder) Placement(ref Ref) (Placement, error) {
	if ref.CPU == HeaderBuffer {
		return Placement{Buffer: 0, Offset: ref.Offset}, nil
	}
	if err := b.checkCPU(ref.CPU); err != nil {
		return Placement{}, err
	}
	ch := &b.cpus[ref.CPU]
	if ref.Ordinal < 0 || ref.Ordinal >= len(ch.fileIndex) {
		return Placement{}, fmt.Errorf("etltest: buffer %d of CPU %d not flushed yet", ref.Ordinal, ref.CPU)
	}
	return Placement{Buffer: int(ch.fileIndex[ref.Ordinal]), Offset: ref.Offset}, nil
}

// FileOffset returns the file offset of the first byte of the record ref,
// for tests that damage it in place. It fails for records in compressed
// buffers, whose bytes exist only after decompression.
func (b *Builder) FileOffset(ref Ref) (int64, error) {
	p, err := b.Placement(ref)
	if err != nil {
		return 0, err
	}
	if p.Buffer >= len(b.infos) {
		return 0, fmt.Errorf("etltest: buffer %d not flushed yet", p.Buffer)
	}
	info := &b.infos[p.Buffer]
	if info.Compressed() {
		return 0, fmt.Errorf("etltest: buffer %d is compressed", p.Buffer)
	}
	return info.FileOffset + BufferHeaderSize + int64(p.Offset), nil
}

// Buffers describes the buffers flushed so far, in file order; after Close
// it covers the whole file.
func (b *Builder) Buffers() []BufferInfo {
	return append([]BufferInfo(nil), b.infos...)
}

func (b *Builder) usable() error {
	if b.closed {
		if b.err != nil {
			return b.err
		}
		return ErrClosed
	}
	return b.err
}

func (b *Builder) checkCPU(cpu int) error {
	if cpu < 0 || cpu >= len(b.cpus) {
		return fmt.Errorf("etltest: CPU %d out of range 0..%d", cpu, len(b.cpus)-1)
	}
	return nil
}

// room returns the buffer that takes the next record of n bytes on cpu,
// flushing the current one if the record does not fit.
func (b *Builder) room(cpu, n int) (*buffer, error) {
	need := align8(n)
	if cpu == HeaderBuffer {
		if b.sealed {
			return nil, ErrHeaderSealed
		}
		if b.hdr.off+need > len(b.hdr.data) {
			return nil, fmt.Errorf("etltest: %d-byte record does not fit the rest of the header buffer", n)
		}
		return b.hdr, nil
	}
	if err := b.checkCPU(cpu); err != nil {
		return nil, err
	}
	if need > b.o.BufferSize-BufferHeaderSize {
		return nil, fmt.Errorf("etltest: %d-byte record is larger than a %#x-byte buffer can hold", n, b.o.BufferSize)
	}
	ch := &b.cpus[cpu]
	if ch.cur != nil && ch.cur.off+need > len(ch.cur.data) {
		cur := ch.cur
		ch.cur = nil
		// The writer's cursor had moved past the record that did not fit.
		if err := b.flush(cur, uint32(cur.off+need)); err != nil {
			return nil, err
		}
	}
	if ch.cur == nil {
		ch.cur = &buffer{
			data:  b.bufferMemory(),
			off:   BufferHeaderSize,
			cpu:   cpu,
			nth:   ch.opened,
			seq:   b.nextSeq,
			flags: ch.flags,
		}
		ch.opened++
		ch.flags = 0
		// Sequence numbers count buffers as they are taken into use, so
		// they increase per CPU but not in file order, as in real files.
		b.nextSeq++
	}
	return ch.cur, nil
}

func (b *Builder) bufferMemory() []byte {
	if n := len(b.free); n > 0 {
		m := b.free[n-1]
		b.free = b.free[:n-1]
		return m
	}
	return make([]byte, b.o.BufferSize)
}

// clock is the builder's idea of "now" in the session clock: the latest
// record timestamp added, used as the flush time of data buffers.
func (b *Builder) clock() int64 {
	if b.haveTS {
		return b.maxTS
	}
	return b.o.HeaderRecord.Timestamp
}

// seal writes the header buffer, once, before the first data buffer. Its
// BuffersWritten and EndTime are provisional unless Close sealed it.
func (b *Builder) seal() error {
	if b.sealed {
		return nil
	}
	b.sealed = true
	h := b.hdr
	size := b.o.BufferSize
	if b.o.Compressed {
		// Relogged files trim the raw header buffer to its data, in
		// 512-byte units.
		size = min((h.off+511)&^511, size)
	}
	hdr := bufferHeader{
		size:     uint32(size),
		current:  uint32(h.off),
		filled:   uint32(h.off),
		loggerID: b.o.LoggerID,
		flags:    etl.BufferFlushMarker | etl.BufferProcIndex | h.flags,
		typ:      etl.BufferHeader,
	}
	hdr.put(h.data)
	fill(h.data[h.off:size])
	b.fileSize = int64(size)
	b.infos = append(b.infos, BufferInfo{
		Size:     size,
		Filled:   h.off,
		Flags:    hdr.flags,
		Type:     hdr.typ,
		LoggerID: hdr.loggerID,
		Records:  h.records,
	})
	return b.fail(b.out.write(h.data[:size]))
}

// flush completes buf's header, appends it to the file order and writes
// the buffer flushed before it. current is the CurrentOffset to record.
func (b *Builder) flush(buf *buffer, current uint32) error {
	if err := b.seal(); err != nil {
		return err
	}
	o := &b.o
	hdr := bufferHeader{
		size:      uint32(o.BufferSize),
		current:   current,
		timeStamp: b.clock(),
		seq:       buf.seq,
		processor: uint16(buf.cpu),
		loggerID:  o.LoggerID,
		filled:    uint32(buf.off),
		flags:     etl.BufferProcIndex | buf.flags,
		typ:       etl.BufferGeneric,
	}
	var out []byte
	isData := !o.Compressed
	if o.Compressed {
		// The stream covers exactly the records, [0x48, Offset); the
		// header stays raw and BufferSize becomes the on-disk size.
		hdr.flags |= etl.BufferCompressed
		out = b.spare
		if out == nil {
			// Worst case of plain LZ77: all literals plus a 4-byte flag
			// word per 32 of them (Compress grows the slice if needed).
			out = make([]byte, 0, BufferHeaderSize+o.BufferSize+o.BufferSize/8+8)
		}
		b.spare = nil
		out = xpress.Compress(out[:BufferHeaderSize], buf.data[BufferHeaderSize:buf.off])
		hdr.size = uint32(len(out))
		b.free = append(b.free, buf.data)
	} else {
		fill(buf.data[buf.off:])
		out = buf.data
	}
	hdr.put(out)

	idx := len(b.infos)
	b.infos = append(b.infos, BufferInfo{
		Index:      idx,
		FileOffset: b.fileSize,
		Size:       len(out),
		Filled:     buf.off,
		Flags:      hdr.flags,
		Type:       hdr.typ,
		Processor:  hdr.processor,
		LoggerID:   hdr.loggerID,
		Sequence:   hdr.seq,
		TimeStamp:  hdr.timeStamp,
		Records:    buf.records,
	})
	ch := &b.cpus[buf.cpu]
	ch.fileIndex = append(ch.fileIndex, int32(idx))
	b.fileSize += int64(len(out))

	if err := b.writePending(); err != nil {
		return err
	}
	b.pending, b.pendingIsData = out, isData
	return nil
}

// writePending writes the held-back buffer and recycles its memory.
func (b *Builder) writePending() error {
	if b.pending == nil {
		return nil
	}
	err := b.out.write(b.pending)
	if b.pendingIsData {
		b.free = append(b.free, b.pending)
	} else {
		b.spare = b.pending
	}
	b.pending = nil
	return b.fail(err)
}

// fail makes a write error sticky.
func (b *Builder) fail(err error) error {
	if err != nil && b.err == nil {
		b.err = err
	}
	return err
}

// fill writes the 0xFF filler Windows leaves after the data of a buffer.
func fill(p []byte) {
	for i := range p {
		p[i] = fillByte
	}
}
