package pool

import (
	"errors"
	"fmt"
	"strings"

	"github.com/poolprof/poolprof/etl/kernel"
)

// cleanTag returns tag without the PROTECTED_POOL bit, as
// [kernel.Tag.Unprotected] does. Tags here are the raw uint32 of
// Event.Tag; package kernel owns what they mean ([kernel.Tag]): the bit
// ([kernel.ProtectedPool]) is not part of the text, and tags are printed,
// grouped and matched with it cleared. (Masking directly keeps the hot
// path's inlined code what it was.)
func cleanTag(tag uint32) uint32 { return tag &^ uint32(kernel.ProtectedPool) }

// TagString prints a tag as [kernel.Tag.String] does: four characters, the
// first from the lowest byte, the PROTECTED_POOL bit cleared, trailing
// spaces kept ("Se  "), a backslash written `\\` and any byte outside
// printable ASCII written `\xHH`, so that distinct tags print distinctly
// and ParseTag reads every printed tag back.
func TagString(tag uint32) string { return kernel.Tag(tag).String() }

// ParseTag reads a tag in the form TagString prints, as [kernel.ParseTag]
// does: shorter text is padded with spaces ("Se" is "Se  "), and the result
// never has the PROTECTED_POOL bit set.
func ParseTag(s string) (uint32, error) {
	t, err := kernel.ParseTag(s)
	return uint32(t), err
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
			c, w, ok := kernel.UnescapeTagChar(s[i:])
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
	t := kernel.Tag(tag).Bytes()
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
