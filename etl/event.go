package etl

import "encoding/binary"

// Event is one record of the file, decoded from its header. Payload and
// Extended alias the reader's buffer: they are valid until the next call
// to the reader that produced the event. [Event.Clone] keeps an event.
type Event struct {
	Kind HeaderKind

	// Provider is the provider GUID for EVENT_HEADER records, the event
	// class GUID for FULL_HEADER and INSTANCE records, and the GUID of the
	// kernel group for SYSTEM, COMPACT and PERFINFO records (hook 0x030A,
	// image load, maps to the Image group).
	Provider GUID

	// HookID is Group<<8|Type for SYSTEM, COMPACT and PERFINFO records,
	// as written in the header; zero for other kinds.
	HookID uint16
	// Group is the kernel hook group (HookID>>8) as written; see IsKernel.
	Group uint8

	Opcode  uint8
	ID      uint16 // event id, EVENT_HEADER records only
	Version uint16 // event version; PMC/PEBS flag bits are masked off

	// EVENT_HEADER fields.
	Level         uint8 // also set for FULL_HEADER and INSTANCE records
	Channel       uint8
	Task          uint16
	Keywords      uint64
	Flags         uint16 // EVENT_HEADER_FLAG_*
	EventProperty uint16
	ActivityID    GUID

	// ProcessID and ThreadID are 0xFFFFFFFF for records whose header has
	// none (PERFINFO); see HeaderKind.HasThread.
	ProcessID uint32
	ThreadID  uint32

	// Timestamp is the raw header timestamp in the session clock; convert
	// it with File.Time.
	Timestamp int64

	// KernelTime and UserTime are the CPU times of the header (SYSTEM,
	// FULL_HEADER, INSTANCE and EVENT_HEADER without PRIVATE_SESSION).
	KernelTime uint32
	UserTime   uint32

	// InstanceID, ParentInstanceID and ParentGUID are set for INSTANCE records.
	InstanceID       uint32
	ParentInstanceID uint32
	ParentGUID       GUID

	// MessageNumber and MessageFlags are set for WPP MESSAGE records;
	// MessageFlags is the OptionFlags word (TRACE_MESSAGE_*).
	MessageNumber uint16
	MessageFlags  uint16
	// Sequence is the WPP sequence number when MessageFlags has 0x01.
	Sequence uint32

	// PMC holds the performance counter values and PEBS holds the PEBS
	// index that follow SYSTEM and PERFINFO headers when the version word
	// announces them (8 bytes each, raw).
	PMC  []byte
	PEBS []byte

	// Extended holds the in-buffer EVENT_HEADER extended data items, raw;
	// iterate them with ExtendedItems.
	Extended []byte

	// Payload is the user data of the record.
	Payload []byte

	// Size is the record size from its header (header, extended items and
	// payload; no alignment padding).
	Size int

	// Processor is the processor index of the buffer the record came from.
	Processor uint16
	// Buffer is the index of that buffer in file order (0 = header buffer).
	Buffer int
	// Offset is the offset of the record in its (decompressed) buffer,
	// counted from the end of the 0x48-byte buffer header.
	Offset int
}

// PointerSize is the pointer size of the payload: 4 or 8, or 0 for a WPP
// message that does not say.
func (e *Event) PointerSize() int {
	if e.Kind == KindMessage {
		switch {
		case e.MessageFlags&msgPointer64 != 0:
			return 8
		case e.MessageFlags&msgPointer32 != 0:
			return 4
		}
	}
	return e.Kind.PointerSize()
}

// HasThread reports whether the header carried a thread and process id.
func (e *Event) HasThread() bool { return e.Kind.HasThread() }

// IsKernel reports whether the record has a kernel (SYSTEM, COMPACT or
// PERFINFO) header, identified by HookID.
func (e *Event) IsKernel() bool { return e.Kind.IsKernel() }

// Clone returns a copy of e whose byte slices no longer alias the reader.
func (e *Event) Clone() *Event {
	c := *e
	c.Payload = cloneBytes(e.Payload)
	c.Extended = cloneBytes(e.Extended)
	c.PMC = cloneBytes(e.PMC)
	c.PEBS = cloneBytes(e.PEBS)
	return &c
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}

// Extended data item types (EVENT_HEADER_EXT_TYPE_*).
const (
	ExtRelatedActivityID uint16 = 0x01
	ExtSID               uint16 = 0x02
	ExtTerminalSession   uint16 = 0x03
	ExtInstanceInfo      uint16 = 0x04
	ExtStackTrace32      uint16 = 0x05
	ExtStackTrace64      uint16 = 0x06
	ExtPEBSIndex         uint16 = 0x07
	ExtPMCCounters       uint16 = 0x08
	ExtPSMKey            uint16 = 0x09
	ExtEventKey          uint16 = 0x0A
	ExtEventSchemaTL     uint16 = 0x0B
	ExtProvTraits        uint16 = 0x0C
	ExtProcessStartKey   uint16 = 0x0D
	ExtControlGUID       uint16 = 0x0E
	ExtQPCDelta          uint16 = 0x0F
	ExtContainerID       uint16 = 0x10
	ExtStackKey32        uint16 = 0x11
	ExtStackKey64        uint16 = 0x12
)

// ExtItem is one extended data item of an EVENT_HEADER record.
type ExtItem struct {
	Type uint16
	Data []byte // exactly DataSize bytes; aliases the event
}

// ExtendedItems calls yield for each extended data item of e, in order,
// and stops when yield returns false. The items were validated when the
// record was read, so the walk cannot fail.
func (e *Event) ExtendedItems(yield func(ExtItem) bool) {
	b := e.Extended
	for len(b) >= 8 {
		size := int(binary.LittleEndian.Uint16(b))
		typ := binary.LittleEndian.Uint16(b[2:])
		n := int(binary.LittleEndian.Uint16(b[6:]))
		if size < 8 || size > len(b) || 8+n > size {
			return
		}
		if !yield(ExtItem{Type: typ, Data: b[8 : 8+n]}) {
			return
		}
		b = b[size:]
	}
}
