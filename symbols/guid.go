package symbols

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// GUID is a Windows GUID in its 16-byte in-file form, exactly as it is
// stored in a PDB info stream and in an image's RSDS record: Data1 (4
// bytes), Data2 and Data3 (2 bytes each) little-endian, then Data4.
//
// Other GUID representations convert through these bytes; for the
// project's etl.GUID: var g symbols.GUID; eg.PutBytes(g[:]).
type GUID [16]byte

// String returns the registry form without braces, upper case, as
// symbol tools print it: "5882160C-99D6-B04B-4C4C-44205044422E".
func (g GUID) String() string {
	d1 := binary.LittleEndian.Uint32(g[0:])
	d2 := binary.LittleEndian.Uint16(g[4:])
	d3 := binary.LittleEndian.Uint16(g[6:])
	return fmt.Sprintf("%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X",
		d1, d2, d3, g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15])
}

var errBadGUID = errors.New("symbols: malformed GUID")

// ParseGUID parses the registry form "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX",
// with or without braces, in either case.
func ParseGUID(s string) (GUID, error) {
	if len(s) == 38 && s[0] == '{' && s[37] == '}' {
		s = s[1:37]
	}
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return GUID{}, errBadGUID
	}
	var raw [16]byte // in printed order
	j := 0
	for i := 0; i < len(s); i += 2 {
		if s[i] == '-' {
			i--
			continue
		}
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return GUID{}, errBadGUID
		}
		raw[j] = hi<<4 | lo
		j++
	}
	var g GUID
	// Data1..Data3 are printed as big-endian numbers, stored little-endian.
	g[0], g[1], g[2], g[3] = raw[3], raw[2], raw[1], raw[0]
	g[4], g[5] = raw[5], raw[4]
	g[6], g[7] = raw[7], raw[6]
	copy(g[8:], raw[8:])
	return g, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Identity is what ties a PDB to an image: the GUID and the age that
// the image's CodeView RSDS record carries.
type Identity struct {
	GUID GUID
	Age  uint32
}

// String returns "GUID age", for example "5882160C-99D6-B04B-4C4C-44205044422E age 1".
func (id Identity) String() string {
	return fmt.Sprintf("%v age %d", id.GUID, id.Age)
}
