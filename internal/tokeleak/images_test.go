package tokeleak_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/internal/tokeleak"
)

func TestModuleMap(t *testing.T) {
	images := tokeleak.Images()
	byModule := map[string]tokeleak.Image{}
	for i, a := range images {
		if a.Kernel() {
			assert.GreaterOrEqual(t, a.Base, uint64(0xFFFF000000000000), a.Path)
		} else {
			assert.Less(t, a.Base+a.Size, uint64(0x800000000000), a.Path)
		}
		for _, b := range images[i+1:] {
			if a.Kernel() || b.Kernel() || a.PID == b.PID {
				assert.False(t, a.Base < b.Base+b.Size && b.Base < a.Base+a.Size, "%s overlaps %s", a.Path, b.Path)
			}
		}
		byModule[a.Module()] = a
	}
	assert.Equal(t, "ntkrnlmp.exe", byModule["ntkrnlmp.exe"].OriginalName)
	assert.Equal(t, `\SystemRoot\system32\ntoskrnl.exe`, byModule["ntkrnlmp.exe"].Path)
	assert.Equal(t, "ntkrnlmp.pdb", byModule["ntkrnlmp.exe"].PDB)
	assert.Empty(t, byModule[tokeleak.ModNETIO].OriginalName, "NETIO.SYS is named after its path")
	assert.Equal(t, byModule[tokeleak.ModLsass].Base, byModule[tokeleak.ModSvchost].Base)

	for _, a := range []uint64{tokeleak.UnknownFrame1, tokeleak.UnknownFrame2} {
		for _, im := range images {
			assert.False(t, im.Contains(a), "%#x in %s", a, im.Path)
		}
	}

	for i, f := range tokeleak.Functions {
		im, ok := byModule[f.Module]
		require.True(t, ok, f.Module)
		assert.LessOrEqual(t, uint64(f.Start)+uint64(f.Size), im.Size, "%s!%s", f.Module, f.Name)
		require.NotEmpty(t, f.Returns)
		for _, r := range f.Returns {
			assert.True(t, r > f.Start && r < f.Start+f.Size, "%s!%s return %#x", f.Module, f.Name, r)
		}
		for _, g := range tokeleak.Functions[i+1:] {
			if g.Module == f.Module {
				assert.False(t, f.Start < g.Start+g.Size && g.Start < f.Start+f.Size, "%s!%s overlaps %s", f.Module, f.Name, g.Name)
			}
		}
	}

	_, tr := build(t, tokeleak.Committed)
	late := 0
	for _, im := range tr.Images {
		if im.Late {
			late++
			assert.Greater(t, im.LoadTime, tr.Start)
		} else {
			assert.Zero(t, im.LoadTime)
		}
	}
	assert.Equal(t, 1, late)
}

func TestTagString(t *testing.T) {
	assert.Equal(t, "Toke", tokeleak.TagString(tokeleak.TagToke|tokeleak.ProtectedTag))
	assert.Equal(t, "Se  ", tokeleak.TagString(0x20206553))
	assert.Equal(t, `USB\x01`, tokeleak.TagString(0x01425355))
	assert.Equal(t, `a\\\x00\x7f`, tokeleak.TagString(0x7f005c61))
}
