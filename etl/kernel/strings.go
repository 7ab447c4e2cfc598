package kernel

import (
	"encoding/binary"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Str is a string field of a payload, kept as the encoded bytes (without
// the terminator) so that decoding an event copies and converts nothing.
// UTF-16LE strings (file names, command lines) are converted to UTF-8 only
// when asked; 8-bit strings (process image names, PDB names) are read as
// UTF-8 where they are valid UTF-8 and byte by byte as Latin-1 elsewhere,
// so every Str converts to valid UTF-8.
//
// A Str aliases the event payload; String and Append make copies that
// outlive it. The zero Str is the empty string.
type Str struct {
	raw  []byte // capacity capped at its length, so appends cannot touch the payload
	wide bool
}

// WideStr makes a UTF-16LE Str over b (an even number of bytes, no
// terminator). It is for building values in tests and tools; decoders
// produce Str values themselves.
func WideStr(b []byte) Str { return Str{raw: b[: len(b)&^1 : len(b)&^1], wide: true} }

// ByteStr makes an 8-bit Str over b (no terminator).
func ByteStr(b []byte) Str { return Str{raw: b[:len(b):len(b)]} }

// IsEmpty reports whether the string has no characters.
func (s Str) IsEmpty() bool { return len(s.raw) == 0 }

// Wide reports whether the string is UTF-16LE (true) or 8-bit (false).
func (s Str) Wide() bool { return s.wide }

// Raw returns the encoded bytes without the terminator. They alias the
// payload.
func (s Str) Raw() []byte { return s.raw }

// next decodes the rune at byte index i and returns it with the number of
// bytes it used.
func (s Str) next(i int) (rune, int) {
	if s.wide {
		u := rune(binary.LittleEndian.Uint16(s.raw[i:]))
		if utf16.IsSurrogate(u) && u < 0xDC00 && i+4 <= len(s.raw) {
			if r := utf16.DecodeRune(u, rune(binary.LittleEndian.Uint16(s.raw[i+2:]))); r != utf8.RuneError {
				return r, 4
			}
		}
		if utf16.IsSurrogate(u) {
			return utf8.RuneError, 2
		}
		return u, 2
	}
	c := s.raw[i]
	if c < utf8.RuneSelf {
		return rune(c), 1
	}
	r, n := utf8.DecodeRune(s.raw[i:])
	if r == utf8.RuneError && n == 1 {
		return rune(c), 1 // not UTF-8: Latin-1
	}
	return r, n
}

// Append appends the UTF-8 form of s to dst. It allocates only if dst
// must grow.
func (s Str) Append(dst []byte) []byte {
	for i := 0; i < len(s.raw); {
		r, n := s.next(i)
		i += n
		if r < utf8.RuneSelf {
			dst = append(dst, byte(r))
		} else {
			dst = utf8.AppendRune(dst, r)
		}
	}
	return dst
}

// String returns the UTF-8 form of s (a copy).
func (s Str) String() string {
	if !s.wide && isASCII(s.raw) {
		return string(s.raw)
	}
	return string(s.Append(make([]byte, 0, len(s.raw)+len(s.raw)/2)))
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// Equal reports whether s converts to exactly t, without converting it.
func (s Str) Equal(t string) bool {
	i := 0
	for _, tr := range t {
		if i >= len(s.raw) {
			return false
		}
		r, n := s.next(i)
		if r != tr {
			return false
		}
		i += n
	}
	return i == len(s.raw)
}

// EqualFold is Equal under simple Unicode case folding (as
// strings.EqualFold), since Windows compares file names without case.
func (s Str) EqualFold(t string) bool {
	i := 0
	for _, tr := range t {
		if i >= len(s.raw) {
			return false
		}
		r, n := s.next(i)
		i += n
		if !foldEqual(r, tr) {
			return false
		}
	}
	return i == len(s.raw)
}

func foldEqual(r, tr rune) bool {
	if r == tr {
		return true
	}
	if tr < r {
		r, tr = tr, r
	}
	if tr < utf8.RuneSelf {
		return 'A' <= r && r <= 'Z' && tr == r+'a'-'A'
	}
	f := unicode.SimpleFold(r)
	for f != r && f < tr {
		f = unicode.SimpleFold(f)
	}
	return f == tr
}

// Base returns the part of s after its last path separator ('\' or '/'),
// e.g. "ntdll.dll" for "\Device\HarddiskVolume3\Windows\System32\ntdll.dll".
// It aliases s.
func (s Str) Base() Str {
	if s.wide {
		for i := len(s.raw) - 2; i >= 0; i -= 2 {
			if s.raw[i+1] == 0 && (s.raw[i] == '\\' || s.raw[i] == '/') {
				return Str{raw: s.raw[i+2:], wide: true}
			}
		}
		return s
	}
	for i := len(s.raw) - 1; i >= 0; i-- {
		if s.raw[i] == '\\' || s.raw[i] == '/' {
			return Str{raw: s.raw[i+1:]}
		}
	}
	return s
}
