package etl

import (
	"encoding/binary"
	"strconv"
)

// A record's first u32 is its marker: byte 3 holds flag bits, byte 2 the
// header kind for fixed-layout headers.
const (
	markerTraceHeader = 0x80 // TRACE_HEADER_FLAG: every trace record
	markerEventTrace  = 0x40 // TRACE_HEADER_EVENT_TRACE: fixed-layout header, kind in byte 2
	markerMessage     = 0x10 // TRACE_MESSAGE: WPP message
	endOfData         = 0xFFFFFFFF
)

// Version-word bits of SYSTEM and PERFINFO headers that announce 8-byte
// items between the fixed header and the payload.
const (
	versionPEBS     = 0x8000
	versionPMCMask  = 0x0700
	versionPMCShift = 8
	versionMask     = 0x00FF
)

// WPP message option flags (TRACE_MESSAGE_*) that add header fields.
const (
	msgSequence    = 0x01
	msgGUID        = 0x02
	msgComponentID = 0x04
	msgTimestamp   = 0x08
	msgSystemInfo  = 0x20
	msgPointer32   = 0x40
	msgPointer64   = 0x80
)

// eventHeaderExtendedInfo is EVENT_HEADER_FLAG_EXTENDED_INFO.
const eventHeaderExtendedInfo = 0x0001

// recRef locates a validated record in a loaded buffer.
type recRef struct {
	ts      int64
	off     uint32 // from the start of the buffer (header included)
	size    uint16 // record size from its header
	payload uint16 // offset of the payload within the record
	kind    HeaderKind
}

// scanStatus is what scanRecord found at an offset.
type scanStatus uint8

const (
	scanOK      scanStatus = iota // a record of a known kind
	scanEnd                       // no more records in this buffer
	scanUnknown                   // a record of an unknown kind, skipped by its size
	scanBad                       // a record whose size is sound but whose content is not; skipped
	scanDamaged                   // the buffer cannot be read past this point
)

// scanResult is the outcome of scanRecord.
type scanResult struct {
	status scanStatus
	kind   HeaderKind
	size   int
	hdr    int // payload offset within the record
	ts     int64
	hasTS  bool
	msg    string // what was wrong, for scanBad and scanDamaged
}

func align8(n int) int { return (n + 7) &^ 7 }

// scanRecord checks the record at b[off:end] without trusting any size in
// it: every length is checked against end before it is used.
func scanRecord(b []byte, off, end int) scanResult {
	if off >= end {
		return scanResult{status: scanEnd}
	}
	if end-off < 4 {
		return scanResult{status: scanDamaged, msg: "record marker cut by the end of data"}
	}
	rec := b[off:end]
	m := binary.LittleEndian.Uint32(rec)
	if m == endOfData {
		return scanResult{status: scanEnd}
	}
	flags := byte(m >> 24)
	kind := HeaderKind(m >> 16)
	var size int
	switch {
	case flags&(markerTraceHeader|markerEventTrace) == markerTraceHeader|markerEventTrace:
		if kind.IsKernel() {
			if len(rec) < 8 {
				return scanResult{status: scanDamaged, kind: kind, msg: "kernel record header cut by the end of data"}
			}
			size = int(binary.LittleEndian.Uint16(rec[4:]))
		} else {
			size = int(binary.LittleEndian.Uint16(rec))
		}
	case flags&(markerTraceHeader|markerEventTrace|markerMessage) == markerTraceHeader|markerMessage:
		kind = KindMessage
		size = int(binary.LittleEndian.Uint16(rec))
	case flags&markerTraceHeader != 0:
		// Some other trace header (e.g. the legacy ULONG32_TIME form): its
		// first u16 is the size, as in every non-kernel header.
		kind = 0
		size = int(binary.LittleEndian.Uint16(rec))
	default:
		return scanResult{status: scanDamaged, msg: "no record marker (byte 3 = " + hex8(flags) + ")"}
	}
	r := scanResult{kind: kind, size: size}
	if size > len(rec) {
		r.status, r.msg = scanDamaged, "record size "+strconv.Itoa(size)+" runs past the end of data ("+strconv.Itoa(len(rec))+" bytes left)"
		return r
	}
	hs := kind.HeaderSize()
	if !kind.known() {
		if size < 8 {
			r.status, r.msg = scanDamaged, "record of unknown kind with size "+strconv.Itoa(size)
			return r
		}
		r.status = scanUnknown
		return r
	}
	if size < hs {
		r.status, r.msg = scanDamaged, kind.String()+" record size "+strconv.Itoa(size)+" smaller than its "+strconv.Itoa(hs)+"-byte header"
		return r
	}
	rec = rec[:size]
	r.hdr = hs
	r.hasTS = true
	switch kind {
	case KindSystem32, KindSystem64, KindCompact32, KindCompact64, KindPerfInfo32, KindPerfInfo64:
		v := binary.LittleEndian.Uint16(rec)
		r.hdr += kernelExtraSize(v)
		if kind == KindPerfInfo32 || kind == KindPerfInfo64 {
			r.ts = int64(binary.LittleEndian.Uint64(rec[0x08:]))
		} else {
			r.ts = int64(binary.LittleEndian.Uint64(rec[0x10:]))
		}
		if r.hdr > size {
			r.status, r.msg = scanBad, "PMC/PEBS items run past the record"
			return r
		}
	case KindEventHeader32, KindEventHeader64:
		r.ts = int64(binary.LittleEndian.Uint64(rec[0x10:]))
		if binary.LittleEndian.Uint16(rec[4:])&eventHeaderExtendedInfo != 0 {
			end, msg := scanExtendedItems(rec, hs)
			if msg != "" {
				r.status, r.msg = scanBad, msg
				return r
			}
			r.hdr = end
		}
	case KindMessage:
		n, ts, hasTS := messageHeader(rec)
		if n > size {
			r.status, r.msg = scanBad, "message header fields run past the record"
			return r
		}
		r.hdr, r.ts, r.hasTS = n, ts, hasTS
	default: // FULL_HEADER, INSTANCE
		r.ts = int64(binary.LittleEndian.Uint64(rec[0x10:]))
	}
	r.status = scanOK
	return r
}

// kernelExtraSize is the number of bytes of PEBS index and PMC counters
// that the version word of a SYSTEM or PERFINFO header announces.
func kernelExtraSize(v uint16) int {
	n := 8 * int((v&versionPMCMask)>>versionPMCShift)
	if v&versionPEBS != 0 {
		n += 8
	}
	return n
}

// scanExtendedItems walks the extended data items that start at rec[pos:]
// and returns the offset of the user data after the last one.
func scanExtendedItems(rec []byte, pos int) (int, string) {
	for {
		if pos+8 > len(rec) {
			return 0, "extended data item header runs past the record"
		}
		item := binary.LittleEndian.Uint16(rec[pos:])
		linkage := binary.LittleEndian.Uint16(rec[pos+4:]) & 1
		data := binary.LittleEndian.Uint16(rec[pos+6:])
		if item < 8 || int(data)+8 > int(item) || pos+int(item) > len(rec) {
			return 0, "extended data item of size " + strconv.Itoa(int(item)) + " with " + strconv.Itoa(int(data)) + " data bytes does not fit"
		}
		pos += int(item)
		if linkage == 0 {
			return pos, ""
		}
	}
}

// messageHeader returns the header length of a WPP message record and its
// timestamp, if it has one. The length may exceed len(rec); the caller
// checks it.
func messageHeader(rec []byte) (n int, ts int64, hasTS bool) {
	opt := binary.LittleEndian.Uint16(rec[6:])
	n = 8
	if opt&msgSequence != 0 {
		n += 4
	}
	if opt&msgGUID != 0 {
		n += 16
	} else if opt&msgComponentID != 0 {
		n += 4
	}
	if opt&msgTimestamp != 0 {
		if n+8 <= len(rec) {
			ts, hasTS = int64(binary.LittleEndian.Uint64(rec[n:])), true
		}
		n += 8
	}
	if opt&msgSystemInfo != 0 {
		n += 8
	}
	return n, ts, hasTS
}

// fillEvent decodes the header of a record that scanRecord accepted.
func fillEvent(ev *Event, b []byte, r recRef) {
	rec := b[r.off : int(r.off)+int(r.size)]
	le := binary.LittleEndian
	*ev = Event{
		Kind:      r.kind,
		Timestamp: r.ts,
		Size:      int(r.size),
		Payload:   rec[r.payload:],
		Offset:    int(r.off) - bufferHeaderSize,
	}
	switch r.kind {
	case KindSystem32, KindSystem64, KindCompact32, KindCompact64, KindPerfInfo32, KindPerfInfo64:
		v := le.Uint16(rec)
		ev.Version = v & versionMask
		ev.HookID = le.Uint16(rec[6:])
		ev.Group = uint8(ev.HookID >> 8)
		ev.Opcode = uint8(ev.HookID)
		ev.Provider = hookProvider(ev.HookID)
		hs := r.kind.HeaderSize()
		if r.kind == KindPerfInfo32 || r.kind == KindPerfInfo64 {
			ev.ProcessID, ev.ThreadID = ^uint32(0), ^uint32(0)
		} else {
			ev.ThreadID = le.Uint32(rec[0x08:])
			ev.ProcessID = le.Uint32(rec[0x0C:])
			if r.kind == KindSystem32 || r.kind == KindSystem64 {
				ev.KernelTime = le.Uint32(rec[0x18:])
				ev.UserTime = le.Uint32(rec[0x1C:])
			}
		}
		if v&versionPEBS != 0 {
			ev.PEBS = rec[hs : hs+8]
			hs += 8
		}
		if n := 8 * int((v&versionPMCMask)>>versionPMCShift); n > 0 {
			ev.PMC = rec[hs : hs+n]
		}
	case KindFullHeader32, KindFullHeader64, KindInstance32, KindInstance64:
		ev.Opcode = rec[4]
		ev.Level = rec[5]
		ev.Version = le.Uint16(rec[6:])
		ev.ThreadID = le.Uint32(rec[0x08:])
		ev.ProcessID = le.Uint32(rec[0x0C:])
		ev.Provider = GUIDFromBytes(rec[0x18:])
		ev.KernelTime = le.Uint32(rec[0x28:])
		ev.UserTime = le.Uint32(rec[0x2C:])
		if r.kind == KindInstance32 || r.kind == KindInstance64 {
			ev.InstanceID = le.Uint32(rec[0x30:])
			ev.ParentInstanceID = le.Uint32(rec[0x34:])
			ev.ParentGUID = GUIDFromBytes(rec[0x38:])
		}
	case KindEventHeader32, KindEventHeader64:
		ev.Flags = le.Uint16(rec[4:])
		ev.EventProperty = le.Uint16(rec[6:])
		ev.ThreadID = le.Uint32(rec[0x08:])
		ev.ProcessID = le.Uint32(rec[0x0C:])
		ev.Provider = GUIDFromBytes(rec[0x18:])
		ev.ID = le.Uint16(rec[0x28:])
		ev.Version = uint16(rec[0x2A])
		ev.Channel = rec[0x2B]
		ev.Level = rec[0x2C]
		ev.Opcode = rec[0x2D]
		ev.Task = le.Uint16(rec[0x2E:])
		ev.Keywords = le.Uint64(rec[0x30:])
		ev.KernelTime = le.Uint32(rec[0x38:])
		ev.UserTime = le.Uint32(rec[0x3C:])
		ev.ActivityID = GUIDFromBytes(rec[0x40:])
		if r.payload > 0x50 {
			ev.Extended = rec[0x50:r.payload]
		}
	case KindMessage:
		ev.MessageNumber = le.Uint16(rec[4:])
		ev.MessageFlags = le.Uint16(rec[6:])
		n := 8
		if ev.MessageFlags&msgSequence != 0 {
			ev.Sequence = le.Uint32(rec[n:])
			n += 4
		}
		if ev.MessageFlags&msgGUID != 0 {
			ev.Provider = GUIDFromBytes(rec[n:])
			n += 16
		} else if ev.MessageFlags&msgComponentID != 0 {
			n += 4
		}
		if ev.MessageFlags&msgTimestamp != 0 {
			n += 8
		}
		if ev.MessageFlags&msgSystemInfo != 0 {
			ev.ThreadID = le.Uint32(rec[n:])
			ev.ProcessID = le.Uint32(rec[n+4:])
		} else {
			ev.ProcessID, ev.ThreadID = ^uint32(0), ^uint32(0)
		}
	}
}

// peekTimestamp returns the timestamp of the record at the start of rec,
// reading only as far as the timestamp. It is used to order buffers
// before they are read whole.
func peekTimestamp(rec []byte) (int64, bool) {
	if len(rec) < 8 {
		return 0, false
	}
	m := binary.LittleEndian.Uint32(rec)
	flags := byte(m >> 24)
	if m == endOfData {
		return 0, false
	}
	if flags&(markerTraceHeader|markerEventTrace|markerMessage) == markerTraceHeader|markerMessage {
		_, ts, ok := messageHeader(rec) // WPP: the timestamp is optional
		return ts, ok
	}
	if flags&(markerTraceHeader|markerEventTrace) != markerTraceHeader|markerEventTrace {
		return 0, false
	}
	at := 0x10
	switch HeaderKind(m >> 16) {
	case KindPerfInfo32, KindPerfInfo64:
		at = 0x08
	case KindSystem32, KindSystem64, KindCompact32, KindCompact64,
		KindFullHeader32, KindFullHeader64, KindInstance32, KindInstance64,
		KindEventHeader32, KindEventHeader64:
	default:
		return 0, false
	}
	if len(rec) < at+8 {
		return 0, false
	}
	return int64(binary.LittleEndian.Uint64(rec[at:])), true
}

func hex8(b byte) string { return "0x" + string([]byte{hexDigits[b>>4], hexDigits[b&0xF]}) }
