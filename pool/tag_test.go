package pool_test

import (
	"encoding/binary"
	"testing"

	"github.com/poolprof/poolprof/pool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTagString(t *testing.T) {
	for _, c := range []struct {
		tag  uint32
		want string
	}{
		{0x656b6f54, "Toke"},              // first character in the lowest byte
		{0x636F7250, "Proc"},              // etl-format.md §4.1
		{0x3161654c, "Lea1"},              // the ntdebugging blog's dc output
		{0x20206553, "Se  "},              // trailing spaces kept
		{0x656b6f54 | 0x80000000, "Toke"}, // PROTECTED_POOL cleared
		{0x00002001, `\x01 \x00\x00`},     // control bytes escaped
		{0x7E5C7F41, `A\x7f\\~`},          // DEL and backslash
		{0x41A0E9FF, `\xff\xe9\xa0A`},     // high bytes escaped
	} {
		assert.Equal(t, c.want, pool.TagString(c.tag), "%#x", c.tag)
		back, err := pool.ParseTag(c.want)
		require.NoError(t, err, c.want)
		assert.Equal(t, c.tag&^protectedTag, back, c.want)
	}
}

func TestParseTag(t *testing.T) {
	v, err := pool.ParseTag("Se")
	require.NoError(t, err)
	assert.Equal(t, "Se  ", pool.TagString(v), "short tags are padded with spaces")

	for _, bad := range []string{"", "Tokens", `\x4`, `\q`, `abc\`, `abc\xC1`} {
		_, err := pool.ParseTag(bad)
		assert.Error(t, err, "%q", bad)
	}
	// Every tag prints distinctly and reads back.
	for _, v := range []uint32{0, 0x7F7F7F7F, 0x5C5C5C5C, 0x2A3F2A3F, 0x01020304} {
		back, err := pool.ParseTag(pool.TagString(v))
		require.NoError(t, err)
		assert.Equal(t, v, back)
	}
}

func TestTagPatterns(t *testing.T) {
	for _, c := range []struct {
		pattern string
		match   []string
		miss    []string
	}{
		{"Toke", []string{"Toke"}, []string{"toke", "Tok ", "TokE"}}, // case sensitive
		{"Se", []string{"Se  "}, []string{"SeSd", "Se x"}},           // padded without '*'
		{"Se*", []string{"Se  ", "SeSd", "Se\x01x"}, []string{"Sx  ", "se  "}},
		{"Tok?", []string{"Toke", "Tok ", "Tokx"}, []string{"Tike"}},
		{"?ok?", []string{"Toke", "tokx"}, []string{"Tike"}},
		{"*", []string{"Toke", "    ", "\x00\x00\x00\x00"}, nil},
		{"*e", []string{"Toke", "eeee", "   e"}, []string{"Tokx", "e   "}},
		{"*ok*", []string{"Toke", "okok", "  ok"}, []string{"o k "}},
		{"A*B*C", []string{"AxBC", "ABxC", "AB C"}, []string{"ABCD", "AxxB", "BxAC"}},
		{"Mm**", []string{"MmSt", "Mm  "}, []string{"mMSt"}},
		{`\x01*`, []string{"\x01abc"}, []string{"abcd"}},
		{`\*\?x`, []string{"*?x "}, []string{"ab x"}},
		{"????", []string{"Toke", "    "}, nil},
		{"???", nil, []string{"Toke"}}, // padded: "??? " matches only a trailing space
	} {
		p, err := pool.ParseTagPattern(c.pattern)
		require.NoError(t, err, c.pattern)
		assert.Equal(t, c.pattern, p.String())
		for _, s := range c.match {
			assert.True(t, p.Match(rawTag(s)), "%q should match %q", c.pattern, s)
		}
		for _, s := range c.miss {
			assert.False(t, p.Match(rawTag(s)), "%q should not match %q", c.pattern, s)
		}
	}
	for _, bad := range []string{"", "Tokens", "ab*cde", `\q`, `ab\x`} {
		_, err := pool.ParseTagPattern(bad)
		assert.Error(t, err, "%q", bad)
	}
	var zero pool.TagPattern
	assert.False(t, zero.Match(rawTag("Toke")))
	// The protected bit does not change matching.
	p, _ := pool.ParseTagPattern("Toke")
	assert.True(t, p.Match(rawTag("Toke")|protectedTag))

	ps, err := pool.ParseTagPatterns("Se*,Toke,Irp ")
	require.NoError(t, err)
	require.Len(t, ps, 3)
	assert.True(t, pool.MatchAny(ps, rawTag("Irp ")))
	assert.False(t, pool.MatchAny(ps, rawTag("Irp2")))
	ps, err = pool.ParseTagPatterns("")
	require.NoError(t, err)
	assert.Empty(t, ps)
	_, err = pool.ParseTagPatterns("Se*, Toke") // " Toke" is five characters
	assert.Error(t, err)
}

// rawTag packs four characters without parsing escapes.
func rawTag(s string) uint32 {
	var b [4]byte
	copy(b[:], s)
	return binary.LittleEndian.Uint32(b[:])
}

func TestTagFilterRows(t *testing.T) {
	evs := []ev{
		a(1, "Se  ", paged, 1, 1), a(2, "SeSd", paged, 2, 2), a(3, "Toke", paged, 4, 3),
		a(4, "Tok2", paged, 8, 4), a(5, "Irp ", nonpaged, 16, 5), a(6, "File", nonpaged, 32, 6),
	}
	pats := func(s string) []pool.TagPattern {
		ps, err := pool.ParseTagPatterns(s)
		require.NoError(t, err)
		return ps
	}
	for _, c := range []struct {
		name             string
		include, exclude string
		wantBytes        uint64
	}{
		{"none", "", "", 63},
		{"include", "Se*,Toke", "", 1 + 2 + 4},
		{"exclude", "", "Se*,Tok?", 16 + 32},
		{"both", "Se*,Tok?", "SeSd,Tok2", 1 + 4},
		{"padded", "Se", "", 1},
		{"nothing", "Zz*", "", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := track(t, pool.Options{Filter: pool.Filter{Tags: pats(c.include), ExcludeTags: pats(c.exclude)}}, evs...)
			assert.Equal(t, c.wantBytes, r.Totals.Bytes)
			for _, row := range r.Rows {
				fl := pool.Filter{Tags: pats(c.include), ExcludeTags: pats(c.exclude)}
				assert.True(t, fl.MatchTag(row.Tag), pool.TagString(row.Tag))
			}
		})
	}
}
