package symbols

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// allLookups resolves every address from 0 to limit and renders the
// answers, to compare two loads of the same PDB.
func allLookups(p *PDB, limit uint32) []string {
	var out []string
	for rva := uint32(0); rva < limit; rva++ {
		s, ok := p.Lookup(rva)
		if ok {
			out = append(out, fmt.Sprintf("%#x %s+%#x %s:%d", rva, s.Name, s.Offset, s.File, s.Line))
		}
	}
	return out
}

// Every block size the format allows, with streams stored backwards so
// that each one is split across non-contiguous blocks, reads the same.
func TestAllBlockSizes(t *testing.T) {
	for _, name := range []string{"x64-full", "big"} {
		orig := openFixture(t, name)
		want := allLookups(orig, 0x5000)
		require.NotEmpty(t, want)
		streams := fixtureStreams(t, name)
		for _, bs := range []int{512, 1024, 2048, 4096, 8192, 16384, 32768} {
			for _, scramble := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%d/scramble=%v", name, bs, scramble), func(t *testing.T) {
					b, _ := testMSF{blockSize: bs, streams: streams, scramble: scramble}.write(t)
					p := openBytes(t, b)
					assert.Equal(t, bs, p.BlockSize())
					assert.Equal(t, orig.Identity(), p.Identity())
					assert.Equal(t, want, allLookups(p, 0x5000))
				})
			}
		}
	}
}

// The DBI age is the identity; the info stream age is only reported.
func TestInfoAgeDiffersFromDBIAge(t *testing.T) {
	streams := fixtureStreams(t, "x64-full")
	streams[1][8] = 2 // info stream age, as pdbstr leaves it
	b, _ := testMSF{blockSize: 4096, streams: streams}.write(t)
	p := openBytes(t, b)
	g, age, _ := rsds(t, fixtureDir+"/x64-full.exe")
	assert.Equal(t, uint32(2), p.InfoAge())
	assert.Equal(t, uint32(1), p.Age())
	assert.True(t, p.Matches(g, age))
	assert.False(t, p.Matches(g, 2))
}

func TestStrippedFlag(t *testing.T) {
	streams := fixtureStreams(t, "x64-publics")
	streams[3][56] |= dbiFlagStripped
	b, _ := testMSF{blockSize: 4096, streams: streams}.write(t)
	p := openBytes(t, b)
	assert.True(t, p.Stripped())
	checkX64Lookups(t, p, false)
}

// Without the public symbol index the publics come from a walk of the
// symbol record stream.
func TestPublicsWithoutIndex(t *testing.T) {
	streams := fixtureStreams(t, "x64-publics")
	streams[3][16], streams[3][17] = 0xFF, 0xFF // PublicStreamIndex = none
	b, _ := testMSF{blockSize: 4096, streams: streams}.write(t)
	checkX64Lookups(t, openBytes(t, b), false)
}

// Without /names, procedures still resolve; lines do not.
func TestNoNamesStream(t *testing.T) {
	full := openFixture(t, "x64-full")
	streams := fixtureStreams(t, "x64-full")
	// Rename "/names" in the info stream's named stream map.
	i := indexOf(streams[1], "/names")
	require.Positive(t, i)
	streams[1][i+1] = 'N'
	b, _ := testMSF{blockSize: 4096, streams: streams}.write(t)
	p := openBytes(t, b)
	assert.False(t, p.HasLines())
	s, ok := p.Lookup(0x1070)
	require.True(t, ok)
	assert.Equal(t, "SepCopyTokenBody+0x10", format(s, ok))
	assert.Zero(t, s.Line)
	assert.Equal(t, full.NumProcedures(), p.NumProcedures())
}

func indexOf(b []byte, s string) int {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return i
		}
	}
	return -1
}

// A /DEBUG:FASTLINK PDB's module streams refer to object files: it is
// read as publics-only.
func TestFastlinkIsPublicsOnly(t *testing.T) {
	streams := fixtureStreams(t, "x64-full")
	streams[1] = binary.LittleEndian.AppendUint32(streams[1], featureMinimalDebugInfo)
	b, _ := testMSF{blockSize: 4096, streams: streams}.write(t)
	p := openBytes(t, b)
	assert.Zero(t, p.NumProcedures())
	assert.False(t, p.HasLines())
	s, ok := p.Lookup(0x1070)
	assert.Equal(t, "SepDuplicateToken+0x40", s.String())
	assert.True(t, ok)
}
