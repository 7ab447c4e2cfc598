package etl

import (
	"encoding/binary"
	"strconv"
)

// bufferHeaderSize is the size of WMI_BUFFER_HEADER, the same on 32- and
// 64-bit systems.
const bufferHeaderSize = 0x48

// BufferFlag is the WMI_BUFFER_HEADER BufferFlag bit mask.
type BufferFlag uint16

// Buffer flags.
const (
	BufferFlushMarker     BufferFlag = 0x0001
	BufferEventsLost      BufferFlag = 0x0002
	BufferBufferLost      BufferFlag = 0x0004
	BufferRTBackupCorrupt BufferFlag = 0x0008
	BufferRTBackup        BufferFlag = 0x0010
	BufferProcIndex       BufferFlag = 0x0020
	BufferCompressed      BufferFlag = 0x0040
)

// BufferType is the WMI_BUFFER_HEADER BufferType. Records are read the same
// way in every type.
type BufferType uint16

// Buffer types.
const (
	BufferGeneric     BufferType = 0
	BufferRundown     BufferType = 1
	BufferCtxSwap     BufferType = 2
	BufferRefTime     BufferType = 3
	BufferHeader      BufferType = 4
	BufferBatched     BufferType = 5
	BufferEmptyMarker BufferType = 6
	BufferDbgInfo     BufferType = 7
)

var bufferTypeNames = [...]string{"GENERIC", "RUNDOWN", "CTX_SWAP", "REFTIME", "HEADER", "BATCHED", "EMPTY_MARKER", "DBG_INFO"}

func (t BufferType) String() string {
	if int(t) < len(bufferTypeNames) {
		return bufferTypeNames[t]
	}
	return "TYPE_" + strconv.Itoa(int(t))
}

// BufferInfo describes one buffer of the file, from its header. The reader
// learns these at NewFile by reading the headers alone.
type BufferInfo struct {
	Index      int   // position in file order
	FileOffset int64 // where the buffer starts in the file
	// Size is the number of bytes the buffer occupies in the file,
	// header included (BufferSize). For a compressed buffer this is the
	// compressed size; for a truncated last buffer, what the file holds.
	Size int
	// Filled is the end of valid data, header included, in the
	// (decompressed) buffer: the header's Offset field.
	Filled    int
	Flags     BufferFlag
	Type      BufferType
	Processor uint16
	LoggerID  uint16
	// Sequence is the logger's flush sequence number, monotonic per
	// processor.
	Sequence int64
	// TimeStamp is the flush time in the session clock (a FILETIME in
	// relogged files); not used for ordering.
	TimeStamp int64

	// firstTS is the timestamp of the buffer's first record, read ahead
	// to order buffers for the merged walk; valid when hasFirstTS.
	firstTS    int64
	hasFirstTS bool
}

// Compressed reports whether the buffer's records are XPRESS-compressed.
func (b *BufferInfo) Compressed() bool { return b.Flags&BufferCompressed != 0 }

// rawBufferHeader is the part of WMI_BUFFER_HEADER a reader needs.
type rawBufferHeader struct {
	size      uint32
	timeStamp int64
	sequence  int64
	processor uint16
	loggerID  uint16
	filled    uint32
	flags     BufferFlag
	typ       BufferType
}

func parseBufferHeader(b []byte) rawBufferHeader {
	_ = b[bufferHeaderSize-1]
	h := rawBufferHeader{
		size:      binary.LittleEndian.Uint32(b[0x00:]),
		timeStamp: int64(binary.LittleEndian.Uint64(b[0x10:])),
		sequence:  int64(binary.LittleEndian.Uint64(b[0x18:])),
		loggerID:  binary.LittleEndian.Uint16(b[0x2A:]),
		filled:    binary.LittleEndian.Uint32(b[0x30:]),
		flags:     BufferFlag(binary.LittleEndian.Uint16(b[0x34:])),
		typ:       BufferType(binary.LittleEndian.Uint16(b[0x36:])),
	}
	// With PROC_INDEX the context holds a u16 processor index; without it,
	// byte 0x28 is the processor number and 0x29 the alignment.
	if h.flags&BufferProcIndex != 0 {
		h.processor = binary.LittleEndian.Uint16(b[0x28:]) & 0x07FF
	} else {
		h.processor = uint16(b[0x28])
	}
	return h
}
