package etl

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// GUID is a Windows GUID as it is laid out in memory and in ETL files:
// Data1, Data2 and Data3 little-endian, then 8 bytes of Data4.
type GUID struct {
	Data1 uint32
	Data2 uint16
	Data3 uint16
	Data4 [8]byte
}

// GUIDFromBytes decodes the 16-byte in-file form of a GUID.
// b must hold at least 16 bytes.
func GUIDFromBytes(b []byte) GUID {
	_ = b[15]
	var g GUID
	g.Data1 = binary.LittleEndian.Uint32(b)
	g.Data2 = binary.LittleEndian.Uint16(b[4:])
	g.Data3 = binary.LittleEndian.Uint16(b[6:])
	copy(g.Data4[:], b[8:16])
	return g
}

// PutBytes writes the 16-byte in-file form of g to b.
func (g GUID) PutBytes(b []byte) {
	_ = b[15]
	binary.LittleEndian.PutUint32(b, g.Data1)
	binary.LittleEndian.PutUint16(b[4:], g.Data2)
	binary.LittleEndian.PutUint16(b[6:], g.Data3)
	copy(b[8:16], g.Data4[:])
}

// IsZero reports whether g is the all-zero GUID.
func (g GUID) IsZero() bool { return g == GUID{} }

const hexDigits = "0123456789abcdef"

// String returns the canonical lower-case form without braces,
// e.g. "0268a8b6-74fd-4302-9dd0-6e8f1795c0cf".
func (g GUID) String() string {
	var b [36]byte
	g.appendTo(b[:0])
	return string(b[:])
}

// AppendText appends the canonical form of g to b.
func (g GUID) AppendText(b []byte) ([]byte, error) { return g.appendTo(b), nil }

func (g GUID) appendTo(b []byte) []byte {
	hexN := func(b []byte, v uint64, digits int) []byte {
		for i := digits - 1; i >= 0; i-- {
			b = append(b, hexDigits[(v>>(4*uint(i)))&0xF])
		}
		return b
	}
	b = hexN(b, uint64(g.Data1), 8)
	b = append(b, '-')
	b = hexN(b, uint64(g.Data2), 4)
	b = append(b, '-')
	b = hexN(b, uint64(g.Data3), 4)
	b = append(b, '-')
	for i, c := range g.Data4 {
		if i == 2 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&0xF])
	}
	return b
}

var errBadGUID = errors.New("etl: malformed GUID")

// ParseGUID parses the canonical form, with or without braces, in either case.
func ParseGUID(s string) (GUID, error) {
	if len(s) == 38 && s[0] == '{' && s[37] == '}' {
		s = s[1:37]
	}
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return GUID{}, errBadGUID
	}
	field := func(part string) (uint64, error) { return strconv.ParseUint(part, 16, 64) }
	d1, err1 := field(s[0:8])
	d2, err2 := field(s[9:13])
	d3, err3 := field(s[14:18])
	if err := errors.Join(err1, err2, err3); err != nil {
		return GUID{}, errBadGUID
	}
	g := GUID{Data1: uint32(d1), Data2: uint16(d2), Data3: uint16(d3)}
	rest := s[19:23] + s[24:36]
	for i := range g.Data4 {
		v, err := field(rest[2*i : 2*i+2])
		if err != nil {
			return GUID{}, errBadGUID
		}
		g.Data4[i] = byte(v)
	}
	return g, nil
}

// MustParseGUID is ParseGUID for constants; it panics on a malformed string.
func MustParseGUID(s string) GUID {
	g, err := ParseGUID(s)
	if err != nil {
		panic(err)
	}
	return g
}
