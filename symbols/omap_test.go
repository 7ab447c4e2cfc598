package symbols

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func omapBytes(entries ...uint32) []byte {
	var b []byte
	for _, e := range entries {
		b = binary.LittleEndian.AppendUint32(b, e)
	}
	return b
}

// omapFixture rewrites x64-full as if a post-link optimizer had moved
// .text to 0x5000 and swapped code around: ExAllocatePoolWithTag
// (originally 0x1000-0x1030) now lives at 0x5200, the rest of .text
// (0x1030-0x11bb) at 0x5000. The symbol records keep the original
// addresses; the original section headers, OMAP tables and new section
// headers describe the move.
func omapFixture(t *testing.T) []byte {
	streams := fixtureStreams(t, "x64-full")
	dbi := streams[3]
	l := dbiLayoutOf(dbi)
	origHdr := int(binary.LittleEndian.Uint16(dbi[l.dbgHeader+2*dbgSectionHdr:]))
	newHdr := append([]byte(nil), streams[origHdr]...)
	binary.LittleEndian.PutUint32(newHdr[8:], 0x230)   // .text VirtualSize
	binary.LittleEndian.PutUint32(newHdr[12:], 0x5000) // .text VirtualAddress
	toSrc := omapBytes(
		0x2000, 0x2000,
		0x5000, 0x1030,
		0x518b, 0,
		0x5200, 0x1000,
		0x5230, 0)
	// Stored out of order: the reader sorts.
	fromSrc := omapBytes(
		0x1030, 0x5000,
		0x1000, 0x5200,
		0x11bb, 0,
		0x2000, 0x2000)
	n := len(streams)
	streams = append(streams, newHdr, toSrc, fromSrc)
	setDbgStream(t, dbi, dbgSectionHdr, n)
	setDbgStream(t, dbi, dbgSectionHdrOrig, origHdr)
	setDbgStream(t, dbi, dbgOmapToSrc, n+1)
	setDbgStream(t, dbi, dbgOmapFromSrc, n+2)
	b, _ := testMSF{blockSize: 4096, streams: streams}.write(t)
	return b
}

func TestOMAP(t *testing.T) {
	p := openBytes(t, omapFixture(t))
	assert.True(t, p.HasOMAP())
	assert.Equal(t, uint32(0x5000), p.Sections()[0].VirtualAddress)

	for _, c := range []struct {
		rva       uint32
		want      string
		start     uint32
		file, mrk string
	}{
		{0x5200, "ExAllocatePoolWithTag+0x0", 0x5200, "kern.c", "alloc.body"},
		{0x5228, "ExAllocatePoolWithTag+0x28", 0x5200, "", ""}, // public fallback in the original layout
		{0x5000, "SepDuplicateToken+0x0", 0x5000, "kern.c", "dup.open"},
		{0x5040, "SepCopyTokenBody+0x10", 0x5030, "kern.c", "copy.loop"},
		{0x5180, "`anonymous namespace'::Mix+0x0", 0x5180, "kcpp.cpp", "mix"},
		{0x3010, "PoolCount+0x10", 0x3000, "", ""},
		{0x518b, "", 0, "", ""}, // maps to nothing
		{0x5230, "", 0, "", ""},
		{0x1000, "", 0, "", ""}, // below the first entry: not part of the rewritten image
	} {
		s, ok := p.Lookup(c.rva)
		assert.Equal(t, c.want, format(s, ok), "Lookup(%#x)", c.rva)
		if !ok {
			continue
		}
		assert.Equal(t, c.start, s.RVA, "start of %#x", c.rva)
		if c.file != "" {
			assert.Equal(t, srcLine(t, c.file, c.mrk), s.Line, "line of %#x", c.rva)
		} else {
			assert.Zero(t, s.Line)
		}
	}

	starts := map[string]uint32{}
	for s := range p.Procedures() {
		starts[s.Name] = s.RVA
	}
	assert.Equal(t, uint32(0x5200), starts["ExAllocatePoolWithTag"])
	assert.Equal(t, uint32(0x5000), starts["SepDuplicateToken"])
	assert.Equal(t, uint32(0x5030), starts["SepCopyTokenBody"])
	pubs := map[string]uint32{}
	for s := range p.Publics() {
		pubs[s.Name] = s.RVA
	}
	assert.Equal(t, uint32(0x5200), pubs["ExAllocatePoolWithTag"])
	assert.Equal(t, uint32(0x3000), pubs["PoolCount"])
}

func TestOMAPTranslate(t *testing.T) {
	m := omap{{0x1000, 0x5000}, {0x1010, 0}, {0x2000, 0x2000}}
	for _, c := range []struct {
		in, out uint32
		ok      bool
	}{
		{0xfff, 0, false},
		{0x1000, 0x5000, true},
		{0x100f, 0x500f, true},
		{0x1010, 0, false},
		{0x1fff, 0, false},
		{0x2000, 0x2000, true},
		{0xffffffff, 0xffffffff, true},
	} {
		got, ok := m.translate(c.in)
		require.Equal(t, c.ok, ok, "%#x", c.in)
		assert.Equal(t, c.out, got, "%#x", c.in)
	}
	overflow := omap{{0x10, 0xfffffff0}}
	_, ok := overflow.translate(0x30)
	assert.False(t, ok)
}
