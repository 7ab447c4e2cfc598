package etl

import "strconv"

// HeaderKind is the record header type, byte 2 of a record's marker
// (TRACE_HEADER_TYPE_* in ntwmi.h). It decides the header layout, where the
// record size lives and the pointer size of the payload.
type HeaderKind uint8

// The header kinds that occur in files. The names are those printed by
// [HeaderKind.String] and used by the reference dumps.
const (
	KindSystem32       HeaderKind = 0x01 // SYSTEM_TRACE_HEADER, 32-bit payload
	KindSystem64       HeaderKind = 0x02 // SYSTEM_TRACE_HEADER, 64-bit payload
	KindCompact32      HeaderKind = 0x03 // SYSTEM_TRACE_HEADER without CPU times
	KindCompact64      HeaderKind = 0x04
	KindFullHeader32   HeaderKind = 0x0A // EVENT_TRACE_HEADER (classic/MOF)
	KindInstance32     HeaderKind = 0x0B // EVENT_INSTANCE_GUID_HEADER
	KindTimed          HeaderKind = 0x0C // unused by Windows; skipped by size
	KindError          HeaderKind = 0x0D // skipped by size
	KindWnodeHeader    HeaderKind = 0x0E // unused by Windows; skipped by size
	KindMessage        HeaderKind = 0x0F // WPP MESSAGE_TRACE_HEADER (marker byte 3 = 0x90)
	KindPerfInfo32     HeaderKind = 0x10 // PERFINFO_TRACE_HEADER, no thread or process id
	KindPerfInfo64     HeaderKind = 0x11
	KindEventHeader32  HeaderKind = 0x12 // EVENT_HEADER (manifest and TraceLogging)
	KindEventHeader64  HeaderKind = 0x13
	KindFullHeader64   HeaderKind = 0x14
	KindInstance64     HeaderKind = 0x15
	kindDecodedCeiling HeaderKind = 0x16
)

var kindNames = [...]string{
	KindSystem32:      "SYSTEM32",
	KindSystem64:      "SYSTEM64",
	KindCompact32:     "COMPACT32",
	KindCompact64:     "COMPACT64",
	KindFullHeader32:  "FULL_HEADER32",
	KindInstance32:    "INSTANCE32",
	KindTimed:         "TIMED",
	KindError:         "ERROR",
	KindWnodeHeader:   "WNODE_HEADER",
	KindMessage:       "MESSAGE",
	KindPerfInfo32:    "PERFINFO32",
	KindPerfInfo64:    "PERFINFO64",
	KindEventHeader32: "EVENT_HEADER32",
	KindEventHeader64: "EVENT_HEADER64",
	KindFullHeader64:  "FULL_HEADER64",
	KindInstance64:    "INSTANCE64",
}

func (k HeaderKind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "KIND_0x" + strconv.FormatUint(uint64(k), 16)
}

// PointerSize is the size in bytes of pointers in the payload of a record
// with this header: 8 for the *64 kinds, 4 for the *32 kinds, 0 when the
// kind does not say (MESSAGE and the unused kinds).
func (k HeaderKind) PointerSize() int {
	switch k {
	case KindSystem64, KindCompact64, KindPerfInfo64, KindEventHeader64, KindFullHeader64, KindInstance64:
		return 8
	case KindSystem32, KindCompact32, KindPerfInfo32, KindEventHeader32, KindFullHeader32, KindInstance32:
		return 4
	}
	return 0
}

// IsKernel reports whether the kind is one of the kernel logger's compact
// headers (SYSTEM, COMPACT, PERFINFO), whose event identity is a hook id
// (group and type) rather than a GUID, and whose size field is at +4.
func (k HeaderKind) IsKernel() bool {
	switch k {
	case KindSystem32, KindSystem64, KindCompact32, KindCompact64, KindPerfInfo32, KindPerfInfo64:
		return true
	}
	return false
}

// HasThread reports whether records of this kind carry a thread and process
// id. PERFINFO headers carry neither.
func (k HeaderKind) HasThread() bool {
	switch k {
	case KindPerfInfo32, KindPerfInfo64, KindMessage:
		return false
	}
	return k.known()
}

// HeaderSize is the size of the fixed header of the kind, before any
// PMC/PEBS or extended data; 0 for kinds the reader does not decode.
func (k HeaderKind) HeaderSize() int {
	switch k {
	case KindSystem32, KindSystem64:
		return 0x20
	case KindCompact32, KindCompact64:
		return 0x18
	case KindPerfInfo32, KindPerfInfo64:
		return 0x10
	case KindFullHeader32, KindFullHeader64:
		return 0x30
	case KindInstance32, KindInstance64:
		return 0x48
	case KindEventHeader32, KindEventHeader64:
		return 0x50
	case KindMessage:
		return 0x08
	}
	return 0
}

// known reports whether the reader decodes records of this kind (as opposed
// to skipping them by size).
func (k HeaderKind) known() bool { return k.HeaderSize() != 0 }
