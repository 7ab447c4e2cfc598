package symbols

import "encoding/binary"

// The "/names" stream: the PDB-wide string table that C13 file
// checksum records point into.

const namesSignature = 0xEFFEEFFE

type stringTable struct {
	s       *stream
	strings []byte // the string bytes; offset k names strings[k:]
	base    int    // offset of strings[0] in the stream
}

func parseNames(s *stream) (*stringTable, error) {
	d := s.data
	if len(d) < 12 {
		return nil, s.errorf(len(d), "string table is %d bytes, need at least 12", len(d))
	}
	if sig := binary.LittleEndian.Uint32(d); sig != namesSignature {
		return nil, s.errorf(0, "string table signature %#x, want %#x", sig, uint32(namesSignature))
	}
	n := binary.LittleEndian.Uint32(d[8:])
	if uint64(n) > uint64(len(d)-12) {
		return nil, s.errorf(8, "string table claims %d string bytes, stream has %d", n, len(d)-12)
	}
	return &stringTable{s: s, strings: d[12 : 12+int(n)], base: 12}, nil
}

// at returns the string at offset off.
func (t *stringTable) at(off uint32) ([]byte, error) {
	if uint64(off) >= uint64(len(t.strings)) {
		return nil, t.s.errorf(t.base+len(t.strings), "string offset %#x outside the %d-byte string table", off, len(t.strings))
	}
	str, ok := cstring(t.strings[off:])
	if !ok {
		return nil, t.s.errorf(t.base+int(off), "unterminated string")
	}
	return str, nil
}
