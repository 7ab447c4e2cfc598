package symbols

import "encoding/binary"

// CodeView symbol records, as found in the symbol record stream and in
// module streams: a u16 length (of what follows it), a u16 kind, then
// the payload. Records are 4-byte aligned in PDBs, but the walk follows
// the lengths and does not depend on it.

const (
	sThunk32       = 0x1102
	sPub32         = 0x110E
	sLProc32       = 0x110F
	sGProc32       = 0x1110
	sLProc32ID     = 0x1146
	sGProc32ID     = 0x1147
	sLProc32DPC    = 0x1155
	sLProc32DPCID  = 0x1156
	procNameOffset = 39 // offset of the name in S_*PROC32* records
	pubNameOffset  = 14 // offset of the name in S_PUB32
	thunkNameOff   = 25 // offset of the name in S_THUNK32

	// S_PUB32 flag bits: 1 code, 2 function, 4 managed, 8 MSIL.
	pubFlagFunction = 2
)

// record is one symbol record: its offset in the stream, its kind and
// all of its bytes including the 4-byte prefix.
type record struct {
	off  int
	kind uint16
	b    []byte
}

// recordAt decodes the record at off in s.data, which must end before
// limit. It checks the framing only.
func recordAt(s *stream, off, limit int) (record, error) {
	if off < 0 || limit > len(s.data) || off > limit || limit-off < 4 {
		return record{}, s.errorf(off, "symbol record header past the end of the symbol data (%#x)", limit)
	}
	n := int(binary.LittleEndian.Uint16(s.data[off:]))
	if n < 2 {
		return record{}, s.errorf(off, "symbol record length %d too small", n)
	}
	if n+2 > limit-off {
		return record{}, s.errorf(off, "symbol record of %d bytes overruns the symbol data (%d bytes left)", n+2, limit-off)
	}
	return record{off: off, kind: binary.LittleEndian.Uint16(s.data[off+2:]), b: s.data[off : off+2+n]}, nil
}

// name returns the NUL-terminated name at byte at of the record.
func (r record) name(s *stream, at int) ([]byte, error) {
	if at > len(r.b) {
		return nil, s.errorf(r.off, "symbol record kind %#x of %d bytes too short for its fields (need %d)", r.kind, len(r.b), at)
	}
	name, ok := cstring(r.b[at:])
	if !ok {
		return nil, s.errorf(r.off+at, "unterminated name in symbol record kind %#x", r.kind)
	}
	return name, nil
}

func (r record) u16(at int) uint16 { return binary.LittleEndian.Uint16(r.b[at:]) }
func (r record) u32(at int) uint32 { return binary.LittleEndian.Uint32(r.b[at:]) }

func isProc(kind uint16) bool {
	switch kind {
	case sGProc32, sLProc32, sGProc32ID, sLProc32ID, sLProc32DPC, sLProc32DPCID:
		return true
	}
	return false
}
