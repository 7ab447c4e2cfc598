package analysis_test

import (
	"encoding/binary"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/analysis"
	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/etl/etltest"
	"github.com/poolprof/poolprof/etl/kernel"
	"github.com/poolprof/poolprof/pool/pprof"
	"github.com/poolprof/poolprof/stacks"
	"github.com/poolprof/poolprof/symbols"
)

// inlineSite finds, in the x64-inline fixture, an address of Outer where
// Hash runs inlined into Mix inlined into Outer (testdata/pdb/src/inl.c).
func inlineSite(t *testing.T, p *symbols.PDB) uint32 {
	t.Helper()
	for fn := range p.Procedures() {
		if fn.Name != "Outer" {
			continue
		}
		for rva := fn.RVA; rva < fn.RVA+fn.Size; rva++ {
			in := p.LookupInlined(rva, nil)
			if len(in) == 2 && in[0].Name == "Hash" && in[1].Name == "Mix" {
				return rva
			}
		}
	}
	t.Fatal("no address of Outer runs Hash inlined into Mix")
	return 0
}

// TestInlinedFramesEndToEnd: a driver built with optimization leaks from
// a helper the compiler inlined. With its PDB, the stacks show the
// inlined functions as frames of their own, and the pprof profile has
// them as lines of one location.
func TestInlinedFramesEndToEnd(t *testing.T) {
	const base = 0xfffff80120000000
	p, err := symbols.OpenPDBFile("../testdata/pdb/x64-inline.pdb")
	require.NoError(t, err)
	site := inlineSite(t, p)

	b, err := etltest.New(etltest.Options{CPUs: 1})
	require.NoError(t, err)
	add := func(r etltest.Record) {
		_, err := b.Add(0, r)
		require.NoError(t, err)
	}
	img := binary.LittleEndian.AppendUint64(nil, base)
	img = binary.LittleEndian.AppendUint64(img, 0x10000)
	img = append(img, make([]byte, 16)...) // pid, checksum, time stamp, signature
	img = append(img, make([]byte, 24)...) // default base, reserved
	for _, u := range utf16.Encode([]rune(`\SystemRoot\system32\drivers\inl.sys`)) {
		img = binary.LittleEndian.AppendUint16(img, u)
	}
	img = append(img, 0, 0)
	add(etltest.Record{Kind: etl.KindSystem64, HookID: 0x1403, Version: 3, ThreadID: 8, Timestamp: 100, Payload: img})
	dbg := binary.LittleEndian.AppendUint64(nil, base)
	dbg = binary.LittleEndian.AppendUint32(dbg, 0)
	guid := p.GUID() // as the file stores it, which the event repeats
	dbg = append(dbg, guid[:]...)
	dbg = binary.LittleEndian.AppendUint32(dbg, p.Age())
	dbg = append(dbg, "x64-inline.pdb\x00"...)
	add(etltest.Record{Kind: etl.KindFullHeader64, Provider: kernel.ImageIDGUID, Opcode: 36, Version: 2,
		ThreadID: 0xFFFFFFFF, Timestamp: 100, Payload: dbg})

	add(pagedAlloc(t, 200, "Toke", 1664, 0xffffa00000001000))
	add(stackOf(200, 4, 8, base+uint64(site)+1)) // System; returns just after the inlined code
	res := analyze(t, b, analysis.Options{})
	require.Len(t, res.Pool.Outstanding, 1)

	n := &analysis.SymbolNamer{Modules: res.Modules, Resolver: pdbResolver(t)}
	var folded strings.Builder
	require.NoError(t, stacks.WriteFolded(&folded, analysis.StackCounts(res).Tree(res.Stacks, n), stacks.ByBytes))
	assert.Equal(t, "inl.sys!Outer;inl.sys!Mix (inline);inl.sys!Hash (inline) 1664\n", folded.String())

	fr := n.Frame(base+uint64(site)+1, 4)
	assert.Equal(t, "Outer", fr.Function)
	require.Len(t, fr.Inlined, 2)
	assert.Equal(t, "Hash", fr.Inlined[0].Function)
	assert.Equal(t, "Mix", fr.Inlined[1].Function)
	for _, in := range fr.Inlined {
		assert.True(t, strings.HasSuffix(in.File, "inl.c"), "file %q", in.File)
		assert.Positive(t, in.Line)
	}

	samples := analysis.ProfileSamples(res, n)
	prof, err := pprof.Build(samples, analysis.ProfileFacts(res, "inline.etl"))
	require.NoError(t, err)
	require.Len(t, prof.Sample, 1)
	require.Len(t, prof.Sample[0].Location, 1)
	var lines []string
	for _, ln := range prof.Sample[0].Location[0].Line {
		lines = append(lines, ln.Function.Name)
	}
	assert.Equal(t, []string{"inl.sys!Hash", "inl.sys!Mix", "inl.sys!Outer"}, lines)
	assert.True(t, prof.Sample[0].Location[0].Mapping.HasInlineFrames)
}
