package symbols

import (
	"encoding/binary"
	"sort"
)

// The "/names" stream: the PDB-wide string table that C13 file
// checksum records point into.

const namesSignature = 0xEFFEEFFE

type stringTable struct {
	s       *stream
	strings []byte // the string bytes; offset k names strings[k:]
	base    int    // offset of strings[0] in the stream

	// Built on first use by str: the table as one Go string, so that
	// the strings handed out are substrings of it rather than copies,
	// and the offsets of its NULs, so that finding the end of the string
	// at any offset is a binary search rather than a scan. Line tables
	// may point at every offset inside one long string; copying or
	// scanning from each would be quadratic.
	all  string
	nuls []uint32
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

// has reports whether str(off) would succeed, without building an
// error when it would not.
func (t *stringTable) has(off uint32) bool {
	if uint64(off) >= uint64(len(t.strings)) {
		return false
	}
	t.index()
	return len(t.nuls) > 0 && t.nuls[len(t.nuls)-1] >= off
}

// index finds the NULs that end the strings, once.
func (t *stringTable) index() {
	if t.nuls != nil {
		return
	}
	t.all = string(t.strings)
	t.nuls = make([]uint32, 0, 16)
	for i := 0; i < len(t.all); i++ {
		if t.all[i] == 0 {
			t.nuls = append(t.nuls, uint32(i))
		}
	}
}

// str returns the string at offset off as a substring of the whole
// table; it does not copy.
func (t *stringTable) str(off uint32) (string, error) {
	if uint64(off) >= uint64(len(t.strings)) {
		return "", t.s.errorf(t.base+len(t.strings), "string offset %#x outside the %d-byte string table", off, len(t.strings))
	}
	t.index()
	k := sort.Search(len(t.nuls), func(i int) bool { return t.nuls[i] >= off })
	if k == len(t.nuls) {
		return "", t.s.errorf(t.base+int(off), "unterminated string")
	}
	return t.all[off:t.nuls[k]], nil
}
