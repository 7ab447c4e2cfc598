package pool

import (
	"errors"
	"fmt"
	"strings"
)

// ProtectedTag is PROTECTED_POOL, the bit some callers set in the fourth
// character of a tag. It is not part of the text: tags are printed,
// grouped and matched with it cleared.
const ProtectedTag uint32 = 0x80000000

// CleanTag returns tag without the PROTECTED_POOL bit.
func CleanTag(tag uint32) uint32 { return tag &^ ProtectedTag }

// TagBytes returns the four characters of the clean tag in text order: the
// first character is the lowest byte of the logged value.
func TagBytes(tag uint32) [4]byte {
	tag = CleanTag(tag)
	return [4]byte{byte(tag), byte(tag >> 8), byte(tag >> 16), byte(tag >> 24)}
}

// MakeTag is the inverse of TagBytes: it packs four characters, the first
// into the lowest byte ("Toke" is 0x656b6f54).
func MakeTag(b [4]byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

const lowerHex = "0123456789abcdef"

// AppendTag appends the text of tag to dst as TagString writes it.
func AppendTag(dst []byte, tag uint32) []byte {
	for _, c := range TagBytes(tag) {
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

// TagString prints a tag as four characters: the first from the lowest
// byte, the PROTECTED_POOL bit cleared, trailing spaces kept ("Se  "), a
// backslash written `\\` and any byte outside printable ASCII written
// `\xHH`, so that distinct tags print distinctly and ParseTag reads every
// printed tag back.
func TagString(tag uint32) string {
	var b [16]byte
	return string(AppendTag(b[:0], tag))
}

var errTag = errors.New("pool: a tag is one to four characters (escapes \\\\ and \\xHH)")

// ParseTag reads a tag in the form TagString prints. Shorter text is padded
// with spaces, as drivers pad their tags ("Se" is "Se  "). The result never
// has the PROTECTED_POOL bit set, so a fourth character of 0x80 or above
// is rejected.
func ParseTag(s string) (uint32, error) {
	var b [4]byte
	n := 0
	for i := 0; i < len(s); n++ {
		if n == 4 {
			return 0, errTag
		}
		c, w, ok := unescape(s[i:])
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
	tag := MakeTag(b)
	if tag&ProtectedTag != 0 {
		return 0, errTag
	}
	return tag, nil
}

// unescape reads one character of tag text: a plain byte, `\\`, `\xHH`,
// or (for patterns) `\*` and `\?`. It returns the byte and the width read.
func unescape(s string) (c byte, width int, ok bool) {
	if s[0] != '\\' {
		return s[0], 1, true
	}
	switch {
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

// A TagPattern matches tags the way poolmon's /i and /x switches do: case
// sensitive, `*` for any run of characters (also none) and `?` for exactly
// one. A pattern without `*` that is shorter than four characters is padded
// with spaces, so "Se" and "Se  " both match only the tag "Se  ". Literal
// characters may be escaped as in TagString, and `\*` and `\?` match a star
// and a question mark. The zero TagPattern matches nothing.
type TagPattern struct {
	text string
	elem [8]patElem // at most 4 characters and 4 stars after collapsing
	n    int
}

type patElem struct {
	kind byte // patLit, patAny, patStar
	c    byte
}

const (
	patLit byte = iota + 1
	patAny
	patStar
)

var errPattern = errors.New("pool: a tag pattern is up to four characters plus `*` (escapes \\\\, \\xHH, \\*, \\?)")

// ParseTagPattern compiles one pattern.
func ParseTagPattern(s string) (TagPattern, error) {
	p := TagPattern{text: s}
	chars, stars := 0, false
	for i := 0; i < len(s); {
		var e patElem
		switch s[i] {
		case '*':
			e, i = patElem{kind: patStar}, i+1
		case '?':
			e, i = patElem{kind: patAny}, i+1
		default:
			c, w, ok := unescape(s[i:])
			if !ok {
				return TagPattern{}, errPattern
			}
			e, i = patElem{kind: patLit, c: c}, i+w
		}
		if e.kind == patStar {
			stars = true
			if p.n > 0 && p.elem[p.n-1].kind == patStar {
				continue // "**" is "*"
			}
		} else {
			chars++
		}
		if chars > 4 || p.n == len(p.elem) {
			return TagPattern{}, errPattern
		}
		p.elem[p.n] = e
		p.n++
	}
	if p.n == 0 {
		return TagPattern{}, errPattern
	}
	if !stars {
		for ; chars < 4; chars++ {
			p.elem[p.n] = patElem{kind: patLit, c: ' '}
			p.n++
		}
	}
	return p, nil
}

// ParseTagPatterns compiles a comma-separated list such as "Se*,Toke".
// Spaces are part of a tag, so they are not trimmed; a comma inside a tag
// is written \x2c. An empty string gives an empty list.
func ParseTagPatterns(list string) ([]TagPattern, error) {
	if list == "" {
		return nil, nil
	}
	var ps []TagPattern
	for s := range strings.SplitSeq(list, ",") {
		p, err := ParseTagPattern(s)
		if err != nil {
			return nil, fmt.Errorf("%w: %q", err, s)
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// String returns the pattern as it was written.
func (p TagPattern) String() string { return p.text }

// Match reports whether the clean tag matches the pattern.
func (p TagPattern) Match(tag uint32) bool {
	if p.n == 0 {
		return false
	}
	t := TagBytes(tag)
	// Iterative glob with backtracking to the last star.
	ti, pi := 0, 0
	starP, starT := -1, 0
	for ti < 4 {
		if pi < p.n {
			e := p.elem[pi]
			switch {
			case e.kind == patStar:
				starP, starT = pi, ti
				pi++
				continue
			case e.kind == patAny || e.c == t[ti]:
				ti++
				pi++
				continue
			}
		}
		if starP < 0 {
			return false
		}
		starT++
		ti, pi = starT, starP+1
	}
	for pi < p.n && p.elem[pi].kind == patStar {
		pi++
	}
	return pi == p.n
}

// MatchAny reports whether tag matches any of the patterns.
func MatchAny(patterns []TagPattern, tag uint32) bool {
	for i := range patterns {
		if patterns[i].Match(tag) {
			return true
		}
	}
	return false
}
