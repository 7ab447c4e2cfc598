package etltest

import (
	"encoding/binary"
	"fmt"

	"github.com/poolprof/poolprof/etl"
)

// Record is one event record to write. Its field names follow etl.Event, so
// a test can compare what it wrote with what the reader returns field by
// field. Which fields are used depends on Kind; fields a kind has no room
// for are ignored:
//
//	SYSTEM32/64      Version HookID ThreadID ProcessID Timestamp KernelTime UserTime [PEBS PMC] Payload
//	COMPACT32/64     Version HookID ThreadID ProcessID Timestamp [PEBS PMC] Payload
//	PERFINFO32/64    Version HookID Timestamp [PEBS PMC] Payload
//	FULL_HEADER32/64 Opcode Level Version ThreadID ProcessID Timestamp Provider KernelTime UserTime Payload
//	INSTANCE32/64    as FULL_HEADER, then InstanceID ParentInstanceID ParentGUID
//	EVENT_HEADER32/64 Flags EventProperty ThreadID ProcessID Timestamp Provider ID Version
//	                 Channel Level Opcode Task Keywords KernelTime UserTime ActivityID Ext Payload
//	MESSAGE          MessageNumber MessageFlags, then by MessageFlags: Sequence (0x01),
//	                 ComponentID (0x04) or Provider (0x02), Timestamp (0x08),
//	                 ThreadID ProcessID (0x20); then Payload
//
// Every header is written with marker flags 0xC0 (0x90 for MESSAGE) and
// the record size in its size field; the size counts header, PMC/PEBS or
// extended items and payload, never the alignment padding.
type Record struct {
	Kind etl.HeaderKind

	// HookID is Group<<8|Type for the kernel kinds (SYSTEM, COMPACT,
	// PERFINFO).
	HookID uint16

	// Version is the event version. For the kernel kinds it is the whole
	// version word, which may carry TRACE_HEADER_PEBS_INDEX_FLAG (0x8000)
	// and a PMC counter count in bits 8-10 (0x0700); then PEBS must hold
	// the 8-byte PEBS index and PMC 8 bytes per counter, and both are
	// written right after the fixed header, PEBS first. For FULL_HEADER and
	// INSTANCE it is Class.Version (u16); for EVENT_HEADER it must fit a
	// byte.
	Version uint16
	PEBS    []byte
	PMC     []byte

	// Provider is the event class GUID for FULL_HEADER and INSTANCE, the
	// provider GUID for EVENT_HEADER and the message GUID of a MESSAGE
	// whose MessageFlags has 0x02.
	Provider etl.GUID

	// Opcode is Class.Type for FULL_HEADER and INSTANCE records and the
	// Opcode of EVENT_HEADER records.
	Opcode uint8
	Level  uint8

	// EVENT_HEADER fields.
	ID            uint16
	Channel       uint8
	Task          uint16
	Keywords      uint64
	Flags         uint16 // EVENT_HEADER_FLAG_*; 0x0001 is added when Ext is not empty
	EventProperty uint16
	ActivityID    etl.GUID
	// Ext are the extended data items, written in order after the fixed
	// header: each gets an 8-byte item header (ItemSize padded to 8,
	// ExtType, Linkage set on all but the last, DataSize) and its data
	// zero-padded to ItemSize.
	Ext []etl.ExtItem

	// INSTANCE fields.
	InstanceID       uint32
	ParentInstanceID uint32
	ParentGUID       etl.GUID

	// MESSAGE fields. MessageFlags is the OptionFlags word
	// (TRACE_MESSAGE_*); it decides which optional fields follow the
	// 8-byte header, in the order the Windows writer uses.
	MessageNumber uint16
	MessageFlags  uint16
	Sequence      uint32
	ComponentID   uint32

	ThreadID   uint32
	ProcessID  uint32
	Timestamp  int64 // raw, in the session clock; see Builder.Timestamp
	KernelTime uint32
	UserTime   uint32

	Payload []byte
}

// Header marker bytes (byte 3 of a record).
const (
	markerFlags        = 0xC0 // TRACE_HEADER_FLAG | TRACE_HEADER_EVENT_TRACE
	messageMarkerFlags = 0x90 // TRACE_HEADER_FLAG | TRACE_MESSAGE
)

// Version-word bits of SYSTEM and PERFINFO headers (ntwmi.h).
const (
	versionPEBSFlag  = 0x8000
	versionPMCMask   = 0x0700
	versionPMCShift  = 8
	maxRecordSize    = 0xFFFF // every size field is a u16
	extItemHeader    = 8
	extFlagExtended  = 0x0001 // EVENT_HEADER_FLAG_EXTENDED_INFO
	extLinkage       = 0x0001
	msgFlagSequence  = 0x01
	msgFlagGUID      = 0x02
	msgFlagComponent = 0x04
	msgFlagTimestamp = 0x08
	msgFlagSysInfo   = 0x20
)

// SizeFieldOffset is where the u16 record size lives in a record of kind k:
// +4 for the kernel kinds (whose first u16 is the version), +0 for the
// others. Damage tests use it to plant a bad size.
func SizeFieldOffset(k etl.HeaderKind) int {
	if k.IsKernel() {
		return 4
	}
	return 0
}

// size returns the record's size as written in its size field (without
// alignment padding), or an error if the record cannot be encoded.
func (r *Record) size() (int, error) {
	n := r.Kind.HeaderSize()
	switch r.Kind {
	case etl.KindSystem32, etl.KindSystem64, etl.KindCompact32, etl.KindCompact64,
		etl.KindPerfInfo32, etl.KindPerfInfo64:
		wantPEBS := 0
		if r.Version&versionPEBSFlag != 0 {
			wantPEBS = 8
		}
		wantPMC := 8 * int(r.Version&versionPMCMask>>versionPMCShift)
		if len(r.PEBS) != wantPEBS || len(r.PMC) != wantPMC {
			return 0, fmt.Errorf("etltest: %v version %#04x announces %d PEBS and %d PMC bytes, record has %d and %d",
				r.Kind, r.Version, wantPEBS, wantPMC, len(r.PEBS), len(r.PMC))
		}
		n += wantPEBS + wantPMC
	case etl.KindFullHeader32, etl.KindFullHeader64, etl.KindInstance32, etl.KindInstance64:
	case etl.KindEventHeader32, etl.KindEventHeader64:
		if r.Version > 0xFF {
			return 0, fmt.Errorf("etltest: %v version %d does not fit a byte", r.Kind, r.Version)
		}
		for i, it := range r.Ext {
			if len(it.Data) > maxRecordSize-extItemHeader {
				return 0, fmt.Errorf("etltest: extended item %d has %d bytes", i, len(it.Data))
			}
			n += align8(extItemHeader + len(it.Data))
		}
	case etl.KindMessage:
		if r.MessageFlags&msgFlagSequence != 0 {
			n += 4
		}
		if r.MessageFlags&msgFlagComponent != 0 {
			n += 4
		} else if r.MessageFlags&msgFlagGUID != 0 {
			n += 16
		}
		if r.MessageFlags&msgFlagTimestamp != 0 {
			n += 8
		}
		if r.MessageFlags&msgFlagSysInfo != 0 {
			n += 8
		}
	default:
		return 0, fmt.Errorf("etltest: cannot encode header kind %v; use AddRaw", r.Kind)
	}
	n += len(r.Payload)
	if n > maxRecordSize {
		return 0, fmt.Errorf("etltest: %v record of %d bytes exceeds the u16 size field", r.Kind, n)
	}
	return n, nil
}

// encode writes the record into dst, which holds exactly size() bytes.
func (r *Record) encode(dst []byte) {
	le := binary.LittleEndian
	n := len(dst)
	var p int // start of the variable part
	switch r.Kind {
	case etl.KindSystem32, etl.KindSystem64, etl.KindCompact32, etl.KindCompact64,
		etl.KindPerfInfo32, etl.KindPerfInfo64:
		le.PutUint16(dst[0:], r.Version)
		dst[2] = byte(r.Kind)
		dst[3] = markerFlags
		le.PutUint16(dst[4:], uint16(n))
		le.PutUint16(dst[6:], r.HookID)
		if r.Kind == etl.KindPerfInfo32 || r.Kind == etl.KindPerfInfo64 {
			le.PutUint64(dst[8:], uint64(r.Timestamp))
		} else {
			le.PutUint32(dst[8:], r.ThreadID)
			le.PutUint32(dst[12:], r.ProcessID)
			le.PutUint64(dst[16:], uint64(r.Timestamp))
			if r.Kind == etl.KindSystem32 || r.Kind == etl.KindSystem64 {
				le.PutUint32(dst[24:], r.KernelTime)
				le.PutUint32(dst[28:], r.UserTime)
			}
		}
		p = r.Kind.HeaderSize()
		p += copy(dst[p:], r.PEBS)
		p += copy(dst[p:], r.PMC)
	case etl.KindFullHeader32, etl.KindFullHeader64, etl.KindInstance32, etl.KindInstance64:
		r.putSizeMarker(dst, n)
		dst[4] = r.Opcode
		dst[5] = r.Level
		le.PutUint16(dst[6:], r.Version)
		le.PutUint32(dst[8:], r.ThreadID)
		le.PutUint32(dst[12:], r.ProcessID)
		le.PutUint64(dst[16:], uint64(r.Timestamp))
		r.Provider.PutBytes(dst[0x18:])
		le.PutUint32(dst[0x28:], r.KernelTime)
		le.PutUint32(dst[0x2C:], r.UserTime)
		p = 0x30
		if r.Kind == etl.KindInstance32 || r.Kind == etl.KindInstance64 {
			le.PutUint32(dst[0x30:], r.InstanceID)
			le.PutUint32(dst[0x34:], r.ParentInstanceID)
			r.ParentGUID.PutBytes(dst[0x38:])
			p = 0x48
		}
	case etl.KindEventHeader32, etl.KindEventHeader64:
		r.putSizeMarker(dst, n)
		flags := r.Flags
		if len(r.Ext) > 0 {
			flags |= extFlagExtended
		}
		le.PutUint16(dst[4:], flags)
		le.PutUint16(dst[6:], r.EventProperty)
		le.PutUint32(dst[8:], r.ThreadID)
		le.PutUint32(dst[12:], r.ProcessID)
		le.PutUint64(dst[16:], uint64(r.Timestamp))
		r.Provider.PutBytes(dst[0x18:])
		le.PutUint16(dst[0x28:], r.ID)
		dst[0x2A] = byte(r.Version)
		dst[0x2B] = r.Channel
		dst[0x2C] = r.Level
		dst[0x2D] = r.Opcode
		le.PutUint16(dst[0x2E:], r.Task)
		le.PutUint64(dst[0x30:], r.Keywords)
		le.PutUint32(dst[0x38:], r.KernelTime)
		le.PutUint32(dst[0x3C:], r.UserTime)
		r.ActivityID.PutBytes(dst[0x40:])
		p = 0x50
		for i, it := range r.Ext {
			size := align8(extItemHeader + len(it.Data))
			item := dst[p : p+size]
			le.PutUint16(item[0:], uint16(size))
			le.PutUint16(item[2:], it.Type)
			var link uint16
			if i < len(r.Ext)-1 {
				link = extLinkage
			}
			le.PutUint16(item[4:], link)
			le.PutUint16(item[6:], uint16(len(it.Data)))
			clear(item[extItemHeader+copy(item[extItemHeader:], it.Data):])
			p += size
		}
	case etl.KindMessage:
		le.PutUint16(dst[0:], uint16(n))
		dst[2] = 0 // Reserved: WmiTraceMessage writes only TRACE_MESSAGE|TRACE_HEADER_FLAG
		dst[3] = messageMarkerFlags
		le.PutUint16(dst[4:], r.MessageNumber)
		le.PutUint16(dst[6:], r.MessageFlags)
		p = 8
		if r.MessageFlags&msgFlagSequence != 0 {
			le.PutUint32(dst[p:], r.Sequence)
			p += 4
		}
		if r.MessageFlags&msgFlagComponent != 0 {
			le.PutUint32(dst[p:], r.ComponentID)
			p += 4
		} else if r.MessageFlags&msgFlagGUID != 0 {
			r.Provider.PutBytes(dst[p:])
			p += 16
		}
		if r.MessageFlags&msgFlagTimestamp != 0 {
			le.PutUint64(dst[p:], uint64(r.Timestamp))
			p += 8
		}
		if r.MessageFlags&msgFlagSysInfo != 0 {
			le.PutUint32(dst[p:], r.ThreadID)
			le.PutUint32(dst[p+4:], r.ProcessID)
			p += 8
		}
	}
	copy(dst[p:], r.Payload)
}

// putSizeMarker writes the first four bytes of the kinds whose size comes
// first: u16 size, header type, marker flags.
func (r *Record) putSizeMarker(dst []byte, n int) {
	binary.LittleEndian.PutUint16(dst[0:], uint16(n))
	dst[2] = byte(r.Kind)
	dst[3] = markerFlags
}

// timestamp reports the raw timestamp the record carries, if its layout
// has one (a MESSAGE only with TRACE_MESSAGE_TIMESTAMP).
func (r *Record) timestamp() (int64, bool) {
	if r.Kind == etl.KindMessage {
		return r.Timestamp, r.MessageFlags&msgFlagTimestamp != 0
	}
	return r.Timestamp, true
}

func align8(n int) int { return (n + 7) &^ 7 }

// Bytes returns the encoded record alone, without alignment padding: the
// bytes Add would place in a buffer. Useful for decoder unit tests that do
// not need a whole file, and for comparing with published test vectors.
func (r Record) Bytes() ([]byte, error) {
	n, err := r.size()
	if err != nil {
		return nil, err
	}
	b := make([]byte, n)
	r.encode(b)
	return b, nil
}
