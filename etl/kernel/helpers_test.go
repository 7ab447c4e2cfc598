package kernel

import (
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/poolprof/poolprof/etl"
)

// hexDump parses a hex listing as the format doc prints it: an optional
// label ending in ':' ("0010:", "StackKeyKernel:") and then two-digit hex
// bytes; "…" and "<…>" notes are ignored.
func hexDump(t testing.TB, s string) []byte {
	t.Helper()
	var out []byte
	for line := range strings.SplitSeq(s, "\n") {
		if i := strings.Index(line, ":"); i >= 0 {
			line = line[i+1:]
		}
		for f := range strings.FieldsSeq(line) {
			if f == "…" || strings.HasPrefix(f, "<") {
				break
			}
			b, err := hex.DecodeString(f)
			if err != nil || len(b) != 1 {
				t.Fatalf("bad hex byte %q in %q", f, line)
			}
			out = append(out, b[0])
		}
	}
	return out
}

// utf16raw is s as UTF-16LE without a terminator.
func utf16raw(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// utf16z is s as UTF-16LE with a terminating NUL.
func utf16z(s string) []byte { return append(utf16raw(s), 0, 0) }

// groupGUIDs maps the kernel hook groups the tests use to their GUIDs, as
// the etl reader does (docs/etl-format.md §3.11).
var groupGUIDs = map[uint8]etl.GUID{
	0x00: EventTraceGUID,
	0x03: ProcessGUID,
	0x05: ThreadGUID,
	0x0E: PoolGUID,
	0x0F: etl.MustParseGUID("ce1dbfb4-137e-4da6-87b0-3f59aa102cbc"), // PerfInfo
	0x14: ImageGUID,
	0x18: StackWalkGUID,
}

// eventFromRecord builds the Event a reader would produce for one whole
// record (SYSTEM, PERFINFO or FULL_HEADER), checking the record's own size
// field against its length, so that test vectors stay whole records.
func eventFromRecord(t testing.TB, rec []byte) *etl.Event {
	t.Helper()
	le := binary.LittleEndian
	ev := &etl.Event{Kind: etl.HeaderKind(rec[2]), Size: len(rec)}
	switch ev.Kind {
	case etl.KindSystem32, etl.KindSystem64, etl.KindPerfInfo32, etl.KindPerfInfo64:
		if size := int(le.Uint16(rec[4:])); size != len(rec) {
			t.Fatalf("record size field 0x%x, record has 0x%x bytes", size, len(rec))
		}
		ev.Version = le.Uint16(rec) & 0xFF
		ev.HookID = le.Uint16(rec[6:])
		ev.Group, ev.Opcode = uint8(ev.HookID>>8), uint8(ev.HookID)
		ev.Provider = groupGUIDs[ev.Group]
		if ev.HookID == 0x030A {
			ev.Provider = ImageGUID
		}
		hdr := 0x20
		ev.ProcessID, ev.ThreadID = 0xFFFFFFFF, 0xFFFFFFFF
		if ev.Kind == etl.KindPerfInfo32 || ev.Kind == etl.KindPerfInfo64 {
			hdr = 0x10
			ev.Timestamp = int64(le.Uint64(rec[8:]))
		} else {
			ev.ThreadID, ev.ProcessID = le.Uint32(rec[8:]), le.Uint32(rec[12:])
			ev.Timestamp = int64(le.Uint64(rec[16:]))
		}
		ev.Payload = rec[hdr:]
	case etl.KindFullHeader32, etl.KindFullHeader64:
		if size := int(le.Uint16(rec)); size != len(rec) {
			t.Fatalf("record size field 0x%x, record has 0x%x bytes", size, len(rec))
		}
		ev.Opcode = rec[4]
		ev.Level = rec[5]
		ev.Version = le.Uint16(rec[6:])
		ev.ThreadID, ev.ProcessID = le.Uint32(rec[8:]), le.Uint32(rec[12:])
		ev.Timestamp = int64(le.Uint64(rec[16:]))
		ev.Provider = etl.GUIDFromBytes(rec[0x18:])
		ev.Payload = rec[0x30:]
	default:
		t.Fatalf("header kind %v not handled by the test helper", ev.Kind)
	}
	return ev
}

// event builds an Event from its parts, as the tests of synthetic
// payloads need.
func event(kind etl.HeaderKind, provider etl.GUID, opcode uint8, version uint16, payload []byte) *etl.Event {
	return &etl.Event{Kind: kind, Provider: provider, Opcode: opcode, Version: version, Payload: payload}
}

// le builds payloads: each value is written little-endian at its own size
// (uint8, uint16, uint32, uint64), []byte is copied.
func le(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch v := p.(type) {
		case uint8:
			b = append(b, v)
		case uint16:
			b = binary.LittleEndian.AppendUint16(b, v)
		case uint32:
			b = binary.LittleEndian.AppendUint32(b, v)
		case uint64:
			b = binary.LittleEndian.AppendUint64(b, v)
		case []byte:
			b = append(b, v...)
		default:
			panic("le: unsupported type")
		}
	}
	return b
}

// ptr writes v as a pointer of size p.
func ptr(p int, v uint64) []byte {
	if p == 4 {
		return binary.LittleEndian.AppendUint32(nil, uint32(v))
	}
	return binary.LittleEndian.AppendUint64(nil, v)
}

func kind(p int, k64, k32 etl.HeaderKind) etl.HeaderKind {
	if p == 4 {
		return k32
	}
	return k64
}
