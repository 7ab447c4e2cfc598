package symbols

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Damaged inline data: opening still succeeds, and procedures, publics
// and lines come out as from the intact file.

// inlineFixture is x64-inline's streams with what the damage tests
// need to find in its only compiled module.
type inlineFixture struct {
	s            [][]byte
	mod          int   // the module's stream
	symEnd       int   // end of its symbol records
	c13Off, c13E int   // its C13 subsections
	sites        []int // offsets of its S_INLINESITE records
}

func loadInlineFixture(t *testing.T) inlineFixture {
	t.Helper()
	f := inlineFixture{s: fixtureStreams(t, "x64-inline")}
	dbi, err := parseDBI(&stream{data: f.s[3]})
	require.NoError(t, err)
	m := dbi.modules[0]
	f.mod, f.symEnd = m.Stream, int(m.symBytes)
	f.c13Off = f.symEnd + int(m.c11Bytes)
	f.c13E = f.c13Off + int(m.c13Bytes)
	d := f.s[f.mod]
	for p := 4; p < f.symEnd; p += 2 + int(binary.LittleEndian.Uint16(d[p:])) {
		if binary.LittleEndian.Uint16(d[p+2:]) == sInlineSite {
			f.sites = append(f.sites, p)
		}
	}
	require.Len(t, f.sites, 4, "Bump, Mix, Hash, Bump")
	return f
}

// subsection returns the stream offset of the body of the module's
// first C13 subsection of the given kind.
func (f inlineFixture) subsection(t *testing.T, kind uint32) int {
	d := f.s[f.mod]
	for p := f.c13Off; p < f.c13E; p += 8 + (int(binary.LittleEndian.Uint32(d[p+4:]))+3)&^3 {
		if binary.LittleEndian.Uint32(d[p:]) == kind {
			return p + 8
		}
	}
	t.Fatalf("no subsection %#x", kind)
	return 0
}

// withSymbols replaces the module's symbol records by Outer's S_GPROC32
// (with its code size set to size), then body, then S_END.
func (f *inlineFixture) withSymbols(t *testing.T, size uint32, body []byte) {
	d := f.s[f.mod]
	procAt := 4
	for binary.LittleEndian.Uint16(d[procAt+2:]) != sGProc32 {
		procAt += 2 + int(binary.LittleEndian.Uint16(d[procAt:]))
	}
	proc := append([]byte(nil), d[procAt:procAt+2+int(binary.LittleEndian.Uint16(d[procAt:]))]...)
	binary.LittleEndian.PutUint32(proc[16:], size)
	syms := append([]byte{4, 0, 0, 0}, proc...)
	syms = append(syms, body...)
	syms = append(syms, 2, 0, 0x06, 0x00) // S_END
	f.s[f.mod] = append(syms, d[f.symEnd:]...)
	binary.LittleEndian.PutUint32(f.s[3][dbiHeaderSize+36:], uint32(len(syms))) // module 0's symBytes
	f.symEnd = len(syms)
}

func (f inlineFixture) open(t *testing.T) *PDB {
	b, _ := testMSF{blockSize: 4096, streams: f.s}.write(t)
	return openBytes(t, b)
}

// plain lists what Lookup, Procedures and Publics give, which inline
// damage must not change.
func plain(p *PDB) string {
	var b strings.Builder
	for rva := uint32(0x1000); rva < 0x1060; rva++ {
		s, ok := p.Lookup(rva)
		fmt.Fprintf(&b, "%v %s:%d\n", format(s, ok), s.File, s.Line)
	}
	for s := range p.Procedures() {
		fmt.Fprintf(&b, "proc %v\n", s)
	}
	for s := range p.Publics() {
		fmt.Fprintf(&b, "pub %v\n", s)
	}
	return b.String()
}

// names returns the inline chain's names at rva, innermost first.
func names(p *PDB, rva uint32) string {
	var n []string
	for _, s := range p.LookupInlined(rva, nil) {
		n = append(n, fmt.Sprintf("%s:%d", s.Name, s.Line))
	}
	return strings.Join(n, "<")
}

func TestInlineDamagedAnnotations(t *testing.T) {
	want := plain(openFixture(t, "x64-inline"))
	l := func(m string) int { return srcLine(t, "inl.c", m) }

	// The first Bump's program starts with an invalid opcode.
	f := loadInlineFixture(t)
	f.s[f.mod][f.sites[0]+inlineSiteAnnotAt] = 0xF0
	p := f.open(t)
	assert.Equal(t, want, plain(p))
	assert.Equal(t, 1, p.InlineSitesSkipped())
	assert.Empty(t, names(p, 0x1000))
	assert.Equal(t, fmt.Sprintf("Hash:%d<Mix:%d", l("hash.body"), l("mix.call")), names(p, 0x1008))
	assert.Equal(t, fmt.Sprintf("Bump:%d", l("bump.body")), names(p, 0x1033))

	// Every program is cut short (an operand missing). Mix's is the
	// parent of Hash's, which is then unreachable too.
	f = loadInlineFixture(t)
	for _, at := range f.sites {
		d := f.s[f.mod][at+inlineSiteAnnotAt : at+2+int(binary.LittleEndian.Uint16(f.s[f.mod][at:]))]
		d[0], d[1] = baChangeCodeOffset, 0x80 // a 2-byte operand, cut by
		d[2] = 0xC0                           // a 4-byte one...
		for i := 3; i < len(d); i++ {
			d[i] = 0xC0 // ...to the end of the record
		}
	}
	p = f.open(t)
	assert.Equal(t, want, plain(p))
	assert.Equal(t, 4, p.InlineSitesSkipped())
	assert.False(t, p.HasInlineSites())
	for rva := uint32(0x1000); rva < 0x1060; rva++ {
		assert.Empty(t, p.LookupInlined(rva, nil), "%#x", rva)
	}

	// Ranges outside the procedure are dropped: Bump claims 0x1000
	// bytes at offset 0x40.
	f = loadInlineFixture(t)
	copy(f.s[f.mod][f.sites[3]+inlineSiteAnnotAt:], []byte{baCodeOffset, 0x40, baChangeCodeLength, 0x90, 0x00, 0, 0, 0})
	p = f.open(t)
	assert.Equal(t, want, plain(p))
	assert.Empty(t, names(p, 0x1033))
	assert.Empty(t, names(p, 0x1040), "KiSystemStartup")
	assert.Equal(t, 1, p.InlineSitesSkipped())
}

// Without the IPI stream, or with a damaged one, inline frames keep
// their ranges and lines and are named by their id.
func TestInlineWithoutIPI(t *testing.T) {
	want := plain(openFixture(t, "x64-inline"))
	l := func(m string) int { return srcLine(t, "inl.c", m) }
	for name, edit := range map[string]func(ipi []byte) []byte{
		"empty":            func([]byte) []byte { return []byte{} },
		"nil":              func([]byte) []byte { return nil },
		"header too large": func(ipi []byte) []byte { binary.LittleEndian.PutUint32(ipi[4:], 1<<30); return ipi },
		"records overrun":  func(ipi []byte) []byte { binary.LittleEndian.PutUint32(ipi[16:], 1<<30); return ipi },
		"first record too long": func(ipi []byte) []byte {
			binary.LittleEndian.PutUint16(ipi[binary.LittleEndian.Uint32(ipi[4:]):], 0xFFFF)
			return ipi
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := loadInlineFixture(t)
			f.s[ipiStreamIndex] = edit(f.s[ipiStreamIndex])
			p := f.open(t)
			assert.Equal(t, want, plain(p))
			assert.Equal(t, fmt.Sprintf("inlinee 0x1002:%d<inlinee 0x1001:%d", l("hash.body"), l("mix.call")), names(p, 0x1008))
		})
	}

	// An id that is not an LF_FUNC_ID: LF_STRING_ID 0x1005.
	f := loadInlineFixture(t)
	binary.LittleEndian.PutUint32(f.s[f.mod][f.sites[0]+12:], 0x1005)
	assert.Equal(t, "inlinee 0x1005:0", names(f.open(t), 0x1000), "no name, and no inlinee line either")
}

// Without the inlinee lines subsection the frames have no lines.
func TestInlineWithoutInlineeLines(t *testing.T) {
	want := plain(openFixture(t, "x64-inline"))
	for name, edit := range map[string]func(body []byte){
		"unknown signature": func(b []byte) { b[0] = 7 },
		"other inlinee ids": func(b []byte) {
			binary.LittleEndian.PutUint32(b[4:], 0x7777)
			binary.LittleEndian.PutUint32(b[16:], 0x7777)
			binary.LittleEndian.PutUint32(b[28:], 0x7777)
		},
		"extended, too many": func(b []byte) { b[0] = inlineeSigExtra; binary.LittleEndian.PutUint32(b[16:], 1<<30) },
	} {
		t.Run(name, func(t *testing.T) {
			f := loadInlineFixture(t)
			edit(f.s[f.mod][f.subsection(t, debugSInlineeLines):])
			p := f.open(t)
			assert.Equal(t, want, plain(p))
			assert.Equal(t, "Hash:0<Mix:0", names(p, 0x1008))
			got := p.LookupInlined(0x1008, nil)
			require.Len(t, got, 2)
			assert.Equal(t, "", got[0].File)
			assert.Equal(t, uint32(0x1008), got[0].RVA)
		})
	}
}

// Inline sites nested deeper than maxInlineDepth are skipped. The
// module's symbols are replaced by Outer holding 70 nested sites of
// Hash, each covering Outer's first 0x10 bytes.
func TestInlineDepthLimit(t *testing.T) {
	f := loadInlineFixture(t)
	site := []byte{20 - 2, 0, 0x4D, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x10, 0, 0,
		baChangeCodeOffsetAndLineOffset, 0x00, baChangeCodeLength, 0x10}
	const n = 70
	var body []byte
	for range n {
		body = append(body, site...)
	}
	for range n {
		body = append(body, 2, 0, 0x4E, 0x11)
	}
	f.withSymbols(t, 0x3d, body)
	p := f.open(t)
	got := p.LookupInlined(0x1004, nil)
	require.Len(t, got, maxInlineDepth)
	for _, s := range got {
		assert.Equal(t, "Hash", s.Name)
		assert.Equal(t, srcLine(t, "inl.c", "hash.body")-2, s.Line, "the inlinee's opening line")
	}
	assert.Empty(t, p.LookupInlined(0x1010, nil))
	s, ok := p.Lookup(0x1004)
	require.True(t, ok)
	assert.Equal(t, "Outer", s.Name)
}

// Under OMAP, addresses are translated as by Lookup: x64-inline with
// .text moved to 0x5000.
func TestLookupInlinedOMAP(t *testing.T) {
	streams := fixtureStreams(t, "x64-inline")
	dbi := streams[3]
	l := dbiLayoutOf(dbi)
	origHdr := int(binary.LittleEndian.Uint16(dbi[l.dbgHeader+2*dbgSectionHdr:]))
	newHdr := append([]byte(nil), streams[origHdr]...)
	binary.LittleEndian.PutUint32(newHdr[12:], 0x5000) // .text VirtualAddress
	n := len(streams)
	streams = append(streams, newHdr, omapBytes(0x5000, 0x1000, 0x5060, 0), omapBytes(0x1000, 0x5000, 0x1060, 0))
	setDbgStream(t, dbi, dbgSectionHdr, n)
	setDbgStream(t, dbi, dbgSectionHdrOrig, origHdr)
	setDbgStream(t, dbi, dbgOmapToSrc, n+1)
	setDbgStream(t, dbi, dbgOmapFromSrc, n+2)
	b, _ := testMSF{blockSize: 4096, streams: streams}.write(t)
	p := openBytes(t, b)
	require.True(t, p.HasOMAP())
	got := p.LookupInlined(0x5010, nil)
	require.Len(t, got, 2)
	assert.Equal(t, "Hash", got[0].Name)
	assert.Equal(t, uint32(0x5008), got[0].RVA)
	assert.Equal(t, uint32(8), got[0].Offset)
	assert.Equal(t, "Mix", got[1].Name)
	assert.Equal(t, uint32(0x5006), got[1].RVA)
	assert.Empty(t, p.LookupInlined(0x1010, nil), "an address of the original layout")
}

// A module of nothing but inline sites whose annotations describe a
// one-byte range every few bytes: the ranges kept are bounded by the
// file size, and opening allocates a small multiple of it. In the
// second program every range is in a file that the checksum table does
// not have: that costs no error value per range.
func TestOpenInlineRangesBounded(t *testing.T) {
	for name, op := range map[string][]byte{
		"one-byte ranges":       {baChangeCodeOffset, 1},
		"ranges in no file":     {baChangeFile, 0xBF, 0xFF, baChangeCodeOffset, 1},
		"ranges in other files": {baChangeFile, 0x00, baChangeCodeOffset, 1, baChangeFile, 0x01, baChangeCodeOffset, 1},
	} {
		t.Run(name, func(t *testing.T) { testOpenInlineRangesBounded(t, op) })
	}
}

func testOpenInlineRangesBounded(t *testing.T, op []byte) {
	f := loadInlineFixture(t)
	const annot = 65000
	site := make([]byte, inlineSiteAnnotAt, inlineSiteAnnotAt+annot)
	for len(site)+len(op) <= cap(site) {
		site = append(site, op...)
	}
	binary.LittleEndian.PutUint16(site[0:], uint16(len(site)-2))
	binary.LittleEndian.PutUint16(site[2:], sInlineSite)
	binary.LittleEndian.PutUint32(site[12:], 0x1002)
	const sites = 16
	var body []byte
	for range sites {
		body = append(body, site...)
		body = append(body, 2, 0, 0x4E, 0x11)
	}
	f.withSymbols(t, 1<<24, body)
	b, _ := testMSF{blockSize: 4096, streams: f.s}.write(t)

	var p *PDB
	var err error
	alloc, dur := allocatedDuring(func() { p, err = open(b) })
	t.Logf("%d-byte file: %d bytes allocated in %v", len(b), alloc, dur)
	require.NoError(t, err)
	assert.LessOrEqual(t, alloc, maxOpenAlloc(len(b)))
	assert.LessOrEqual(t, len(p.t.inl), len(b)/8)
	got := p.LookupInlined(0x1005, nil)
	require.Len(t, got, 1)
	assert.Equal(t, "Hash", got[0].Name)
	assert.Equal(t, uint32(0x1005), got[0].RVA)
	assert.Equal(t, uint32(1), got[0].Size)
	s, ok := p.Lookup(0x1005)
	require.True(t, ok)
	assert.Equal(t, "Outer", s.Name)
}

// S_INLINESITE2 (with an invocation count before the annotations) reads
// like S_INLINESITE; a site record too short for its fields is skipped
// and its S_INLINESITE_END still closes it.
func TestInlineSite2(t *testing.T) {
	f := loadInlineFixture(t)
	body := []byte{
		// S_INLINESITE2 for Mix (0x1001), invoked 3 times: code 4, line +1, length 8.
		24 - 2, 0, 0x5D, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x10, 0, 0, 3, 0, 0, 0,
		baChangeCodeOffsetAndLineOffset, 0x24, baChangeCodeLength, 0x08,
		// S_INLINESITE too short for its inlinee, nested in it.
		10 - 2, 0, 0x4D, 0x11, 0, 0, 0, 0, 0, 0,
		2, 0, 0x4E, 0x11,
		// S_INLINESITE for Hash (0x1002) inside Mix: code 6, length 2.
		20 - 2, 0, 0x4D, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x10, 0, 0,
		baChangeCodeOffsetAndLineOffset, 0x06, baChangeCodeLength, 0x02,
		2, 0, 0x4E, 0x11,
		2, 0, 0x4E, 0x11,
	}
	f.withSymbols(t, 0x3d, body)
	p := f.open(t)
	assert.Equal(t, 1, p.InlineSitesSkipped())
	l := func(m string) int { return srcLine(t, "inl.c", m) }
	assert.Equal(t, fmt.Sprintf("Mix:%d", l("mix.call")-1), names(p, 0x1004))
	assert.Equal(t, fmt.Sprintf("Hash:%d<Mix:%d", l("hash.body")-2, l("mix.call")-1), names(p, 0x1007))
	assert.Empty(t, names(p, 0x100c))
	got := p.LookupInlined(0x1007, nil)
	require.Len(t, got, 2)
	assert.Equal(t, Symbol{Name: "Hash", Kind: Inlined, RVA: 0x1006, Size: 2, Offset: 1, File: `C:\src\src\inl.c`, Line: l("hash.body") - 2}, got[0])
	assert.Equal(t, Symbol{Name: "Mix", Kind: Inlined, RVA: 0x1004, Size: 8, Offset: 3, File: `C:\src\src\inl.c`, Line: l("mix.call") - 1}, got[1])
}
