package symbols

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chain formats Lookup's frame and LookupInlined's frames at rva,
// innermost first, as "Name RVA+Size @Offset line" entries joined by
// " < " (the last is the procedure).
func chain(p *PDB, rva uint32) string {
	var parts []string
	for _, s := range p.LookupInlined(rva, nil) {
		parts = append(parts, fmt.Sprintf("%s %#x+%#x @%#x %s:%d %s", s.Name, s.RVA, s.Size, s.Offset, baseName(s.File), s.Line, s.Kind))
	}
	if s, ok := p.Lookup(rva); ok {
		parts = append(parts, fmt.Sprintf("%s %#x+%#x @%#x %s:%d %s", s.Name, s.RVA, s.Size, s.Offset, baseName(s.File), s.Line, s.Kind))
	}
	return strings.Join(parts, " < ")
}

// The x64-inline fixture (testdata/pdb/src/inl.c at -O2): Outer at
// 0x1000 (61 bytes) holds Bump at 0x1000, Mix at 0x1006 with Hash
// inside it at 0x1008, and Bump again at 0x1033; the addresses were
// read off the disassembly (llvm-objdump -d) and agree with
// llvm-pdbutil's dump of the binary annotations.
func TestLookupInlinedFixture(t *testing.T) {
	p := openFixture(t, "x64-inline")
	require.True(t, p.HasInlineSites())
	assert.Zero(t, p.InlineSitesSkipped())
	l := func(m string) int { return srcLine(t, "inl.c", m) }
	outer := "Outer 0x1000+0x3d @%#x :0 procedure" // clang 14: no line rows for inlined code
	for _, tc := range []struct {
		rva  uint32
		want string
	}{
		{0x1000, fmt.Sprintf("Bump 0x1000+0x6 @0x0 inl.c:%d inlined < "+outer, l("bump.body"), 0)},
		{0x1005, fmt.Sprintf("Bump 0x1000+0x6 @0x5 inl.c:%d inlined < "+outer, l("bump.body"), 5)},
		{0x1006, fmt.Sprintf("Mix 0x1006+0x19 @0x0 inl.c:%d inlined < "+outer, l("mix.call"), 6)},
		{0x1008, fmt.Sprintf("Hash 0x1008+0xd @0x0 inl.c:%d inlined < Mix 0x1006+0x19 @0x2 inl.c:%d inlined < "+outer,
			l("hash.body"), l("mix.call"), 8)},
		{0x1014, fmt.Sprintf("Hash 0x1008+0xd @0xc inl.c:%d inlined < Mix 0x1006+0x19 @0xe inl.c:%d inlined < "+outer,
			l("hash.body"), l("mix.call"), 0x14)},
		{0x1015, fmt.Sprintf("Hash 0x1015+0xa @0x0 inl.c:%d inlined < Mix 0x1006+0x19 @0xf inl.c:%d inlined < "+outer,
			l("hash.ret"), l("mix.call"), 0x15)},
		{0x101e, fmt.Sprintf("Hash 0x1015+0xa @0x9 inl.c:%d inlined < Mix 0x1006+0x19 @0x18 inl.c:%d inlined < "+outer,
			l("hash.ret"), l("mix.call"), 0x1e)},
		{0x101f, fmt.Sprintf("Mix 0x101f+0x9 @0x0 inl.c:%d inlined < "+outer, l("mix.body"), 0x1f)},
		{0x1028, fmt.Sprintf("Mix 0x1028+0xb @0x0 inl.c:%d inlined < "+outer, l("mix.ret"), 0x28)},
		{0x1032, fmt.Sprintf("Mix 0x1028+0xb @0xa inl.c:%d inlined < "+outer, l("mix.ret"), 0x32)},
		// Bump's second call site.
		{0x1033, fmt.Sprintf("Bump 0x1033+0x6 @0x0 inl.c:%d inlined < "+outer, l("bump.body"), 0x33)},
		{0x1038, fmt.Sprintf("Bump 0x1033+0x6 @0x5 inl.c:%d inlined < "+outer, l("bump.body"), 0x38)},
		// Outer's own code, after the last inline site.
		{0x1039, fmt.Sprintf("Outer 0x1000+0x3d @0x39 inl.c:%d procedure", l("outer.ret"))},
		{0x1040, fmt.Sprintf("KiSystemStartup 0x1040+0x1f @0x0 inl.c:%d procedure", l("start"))},
	} {
		assert.Equal(t, tc.want, chain(p, tc.rva), "%#x", tc.rva)
	}
	assert.Empty(t, p.LookupInlined(0x900, nil), "before .text")
	assert.Empty(t, p.LookupInlined(0x5000, nil), "past the image")
}

// Every address of Outer is covered by exactly the expected nesting:
// no gaps inside inline sites, no chain deeper than two.
func TestLookupInlinedCoversOuter(t *testing.T) {
	p := openFixture(t, "x64-inline")
	var got []string
	for rva := uint32(0x1000); rva < 0x103d; rva++ {
		var names []string
		for _, s := range p.LookupInlined(rva, nil) {
			names = append(names, s.Name)
			assert.Equal(t, rva, s.RVA+s.Offset, "%#x", rva)
			assert.Less(t, s.Offset, s.Size, "%#x", rva)
		}
		got = append(got, strings.Join(names, "<"))
	}
	want := slicesRepeat("Bump", 6)
	want = append(want, slicesRepeat("Mix", 2)...)
	want = append(want, slicesRepeat("Hash<Mix", 0x17)...)
	want = append(want, slicesRepeat("Mix", 0x14)...)
	want = append(want, slicesRepeat("Bump", 6)...)
	want = append(want, slicesRepeat("", 4)...)
	assert.Equal(t, want, got)
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// LookupInlined appends after what dst holds and, given room, does not
// allocate.
func TestLookupInlinedAppendsWithoutAllocating(t *testing.T) {
	p := openFixture(t, "x64-inline")
	dst := append(make([]Symbol, 0, 8), Symbol{Name: "caller's"})
	got := p.LookupInlined(0x1010, dst)
	require.Len(t, got, 3)
	assert.Equal(t, "caller's", got[0].Name)
	assert.Equal(t, "Hash", got[1].Name)
	assert.Equal(t, "Mix", got[2].Name)
	assert.Equal(t, Inlined, got[1].Kind)
	assert.Equal(t, "inlined", got[1].Kind.String())

	buf := make([]Symbol, 0, 8)
	allocs := testing.AllocsPerRun(100, func() {
		buf = p.LookupInlined(0x1010, buf[:0])
		buf = p.LookupInlined(0x1000, buf[:0])
		buf = p.LookupInlined(0x1039, buf[:0])
	})
	assert.Zero(t, allocs)
}

// PDBs without inline sites answer with dst unchanged.
func TestLookupInlinedNone(t *testing.T) {
	for _, name := range []string{"x64-full", "x86-full", "x64-publics", "big"} {
		p := openFixture(t, name)
		assert.False(t, p.HasInlineSites(), name)
		assert.Empty(t, p.LookupInlined(0x1000, nil), name)
	}
}
