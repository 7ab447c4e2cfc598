package etltest

import (
	"encoding/binary"

	"github.com/poolprof/poolprof/etl"
)

// BufferHeaderSize is the size of WMI_BUFFER_HEADER, which starts every
// buffer on 32- and 64-bit systems alike.
const BufferHeaderSize = 0x48

// Offsets of the WMI_BUFFER_HEADER fields the builder writes, for tests
// that check or damage them in the produced bytes.
const (
	HdrBufferSize     = 0x00 // u32: bytes the buffer occupies in the file
	HdrSavedOffset    = 0x04 // u32: = Offset
	HdrCurrentOffset  = 0x08 // u32: writer cursor (see the package doc)
	HdrTimeStamp      = 0x10 // i64: flush time in the session clock
	HdrSequenceNumber = 0x18 // i64
	HdrProcessorIndex = 0x28 // u16, with BufferFlag PROC_INDEX
	HdrLoggerID       = 0x2A // u16
	HdrState          = 0x2C // u32: 3 = flushed
	HdrOffset         = 0x30 // u32: end of valid (uncompressed) data, header included
	HdrBufferFlag     = 0x34 // u16
	HdrBufferType     = 0x36 // u16
)

// bufferStateFlush is ETW_BUFFER_STATE Flush, the state of every buffer
// that reached a file.
const bufferStateFlush = 3

// fillByte is what Windows leaves after Offset in an uncompressed buffer; a
// reader that sees 0xFFFFFFFF as a record marker knows the data ended.
const fillByte = 0xFF

// BufferInfo describes one buffer as the builder wrote it. Field names
// follow etl.BufferInfo so reader tests can compare the two.
type BufferInfo struct {
	Index      int   // position in file order; 0 is the header buffer
	FileOffset int64 // where the buffer starts in the file
	Size       int   // bytes in the file (BufferSize), header included
	Filled     int   // Offset: end of the records, header included, uncompressed
	Flags      etl.BufferFlag
	Type       etl.BufferType
	Processor  uint16
	LoggerID   uint16
	Sequence   int64
	TimeStamp  int64
	// Records is the number of records the buffer holds (raw ones
	// included).
	Records int
}

// Compressed reports whether the buffer's records are XPRESS-compressed.
func (b *BufferInfo) Compressed() bool { return b.Flags&etl.BufferCompressed != 0 }

// buffer is a buffer being filled: one per CPU, plus the header buffer.
// Records are packed from BufferHeaderSize; the header itself is written
// when the buffer is flushed, when all its fields are known.
type buffer struct {
	data    []byte // the logical buffer, BufferSize bytes
	off     int    // end of the records so far, 8-aligned
	cpu     int    // HeaderBuffer for the header buffer
	nth     int    // ordinal of this buffer among its CPU's buffers
	seq     int64
	records int
	flags   etl.BufferFlag // extra flags requested with SetBufferFlags
}

// reserve returns room for a record of n bytes (n > 0) at the current end,
// with its alignment padding already zeroed, or nil if it does not fit.
func (b *buffer) reserve(n int) []byte {
	end := b.off + align8(n)
	if end > len(b.data) {
		return nil
	}
	rec := b.data[b.off:end]
	clear(rec[n:])
	b.off = end
	b.records++
	return rec[:n]
}

// bufferHeader holds the WMI_BUFFER_HEADER fields of one buffer.
type bufferHeader struct {
	size      uint32
	current   uint32
	timeStamp int64
	seq       int64
	processor uint16
	loggerID  uint16
	filled    uint32
	flags     etl.BufferFlag
	typ       etl.BufferType
}

// put writes the header into dst[:BufferHeaderSize]. The fields Windows
// leaves stale (ReferenceCount, the clock/list union at 0x20, the union at
// 0x38) are written as zeros.
func (h *bufferHeader) put(dst []byte) {
	le := binary.LittleEndian
	clear(dst[:BufferHeaderSize])
	le.PutUint32(dst[HdrBufferSize:], h.size)
	le.PutUint32(dst[HdrSavedOffset:], h.filled)
	le.PutUint32(dst[HdrCurrentOffset:], h.current)
	le.PutUint64(dst[HdrTimeStamp:], uint64(h.timeStamp))
	le.PutUint64(dst[HdrSequenceNumber:], uint64(h.seq))
	le.PutUint16(dst[HdrProcessorIndex:], h.processor)
	le.PutUint16(dst[HdrLoggerID:], h.loggerID)
	le.PutUint32(dst[HdrState:], bufferStateFlush)
	le.PutUint32(dst[HdrOffset:], h.filled)
	le.PutUint16(dst[HdrBufferFlag:], uint16(h.flags))
	le.PutUint16(dst[HdrBufferType:], uint16(h.typ))
}
