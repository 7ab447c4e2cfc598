package kernel

import "errors"

// Tag is a pool tag as logged: four characters, the first in the lowest
// byte, so the bytes in file order read as the text ("Toke" is
// 0x656b6f54). Bit 31 may carry PROTECTED_POOL, which is not part of the
// text.
type Tag uint32

// ProtectedPool is the bit some callers set in the fourth character of a
// tag (PROTECTED_POOL); the kernel masks it off before comparing tags.
const ProtectedPool Tag = 0x80000000

// Protected reports whether the PROTECTED_POOL bit is set.
func (t Tag) Protected() bool { return t&ProtectedPool != 0 }

// Unprotected returns t without the PROTECTED_POOL bit: the value to
// print, group and compare tags by.
func (t Tag) Unprotected() Tag { return t &^ ProtectedPool }

// Bytes returns the four characters of the unprotected tag in text order:
// the first character is the lowest byte of the logged value.
func (t Tag) Bytes() [4]byte {
	u := t.Unprotected()
	return [4]byte{byte(u), byte(u >> 8), byte(u >> 16), byte(u >> 24)}
}

const lowerHex = "0123456789abcdef"

// Append appends the tag text to dst: the four characters of the
// unprotected tag, trailing spaces kept ("Se  "), a backslash as `\\` and
// any other byte outside printable ASCII as `\xHH`, so that every tag
// prints distinctly and ParseTag reads it back.
func (t Tag) Append(dst []byte) []byte {
	for _, c := range t.Bytes() {
		switch {
		case c == '\\':
			dst = append(dst, '\\', '\\')
		case c < 0x20 || c > 0x7E:
			dst = append(dst, '\\', 'x', lowerHex[c>>4], lowerHex[c&0xF])
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// String returns the tag text as Append writes it.
func (t Tag) String() string {
	var b [16]byte
	return string(t.Append(b[:0]))
}

var errTag = errors.New("kernel: a pool tag is one to four characters (escapes \\\\, \\xHH, \\* and \\?)")

// ParseTag reads the text form written by Tag.String. Shorter text is
// padded with spaces, as drivers pad their tags ("Se" is "Se  "). The
// escapes are those of UnescapeTagChar. The result never has the
// PROTECTED_POOL bit set, so a fourth character of 0x80 or above is
// rejected.
func ParseTag(s string) (Tag, error) {
	var b [4]byte
	n := 0
	for i := 0; i < len(s); n++ {
		if n == 4 {
			return 0, errTag
		}
		c, w, ok := UnescapeTagChar(s[i:])
		if !ok {
			return 0, errTag
		}
		b[n] = c
		i += w
	}
	if n == 0 {
		return 0, errTag
	}
	for ; n < 4; n++ {
		b[n] = ' '
	}
	t := Tag(b[0]) | Tag(b[1])<<8 | Tag(b[2])<<16 | Tag(b[3])<<24
	if t.Protected() {
		return 0, errTag // a fourth character ≥ 0x80 is the protected bit, not text
	}
	return t, nil
}

// UnescapeTagChar reads the first character of tag text s: a plain byte,
// `\\` (a backslash), `\xHH` (any byte, either case of hex digit), or `\*`
// and `\?` (a star and a question mark, escaped as tag patterns need them;
// Append never writes these two). It returns the byte and the number of
// bytes of s it took; ok is false when s is empty or starts with any other
// backslash sequence.
func UnescapeTagChar(s string) (c byte, width int, ok bool) {
	switch {
	case s == "":
		return 0, 0, false
	case s[0] != '\\':
		return s[0], 1, true
	case len(s) >= 2 && (s[1] == '\\' || s[1] == '*' || s[1] == '?'):
		return s[1], 2, true
	case len(s) >= 4 && s[1] == 'x' && isHex(s[2]) && isHex(s[3]):
		return unhex(s[2])<<4 | unhex(s[3]), 4, true
	}
	return 0, 0, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
