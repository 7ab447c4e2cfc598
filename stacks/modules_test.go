package stacks

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/etl"
)

func buildModules(t *testing.T, tr *trace) *Modules {
	t.Helper()
	m := NewModules()
	for _, ev := range tr.events() {
		m.Observe(ev)
	}
	m.Finish()
	return m
}

// Kernel images belong to every process, user images to theirs; ImageID
// names an image whether it comes before or after its Image event (same
// timestamp, process and base), DbgID_RSDS gives its PDB identity.
func TestModulesNamesAndProcesses(t *testing.T) {
	const ntBase, ntdllBase = 0xfffff80021489000, 0x7ffb00000000
	pdbGUID := etl.MustParseGUID("ec83d8df-5559-46e0-b630-133ebd979266")
	tr := newTrace(t, 1)
	t1, t2, t3, t4 := tr.ts(1*ms), tr.ts(2*ms), tr.ts(3*ms), tr.ts(4*ms)
	// ImageID before the Image event.
	tr.imageID(0, t1, ntBase, 0x748000, 0, 0x5010AE7A, "ntkrnlmp.exe")
	tr.image(0, hookImageDCS, t1, ntBase, 0x748000, 0, `\SystemRoot\system32\ntoskrnl.exe`)
	tr.dbgID(0, t1, ntBase, 0, pdbGUID, 2, "ntkrnlmp.pdb")
	// ImageID after, and an ImageID of another process at the same base
	// and timestamp that must not name it.
	tr.image(0, hookImageDCS, t2, ntdllBase, 0x1f0000, 500, `\Device\HarddiskVolume2\Windows\System32\ntdll.dll`)
	tr.imageID(0, t2, ntdllBase, 0x1f0000, 600, 0, "other.dll")
	tr.imageID(0, t2, ntdllBase, 0x1f0000, 500, 0, "ntdll.dll")
	tr.dbgID(0, t2, ntdllBase, 500, pdbGUID, 1, "ntdll.pdb")
	// No ImageID: the file name of the path.
	tr.image(0, hookImageLoad, t3, 0x400000, 0x10000, 500, `\Device\HarddiskVolume2\app\Leaky.exe`)
	// A rundown at the end repeats an image without changing it.
	tr.image(0, hookImageDCS, t4, ntdllBase, 0x1f0000, 500, `\Device\HarddiskVolume2\Windows\System32\ntdll.dll`)
	m := buildModules(t, tr)

	s := m.Stats()
	assert.Equal(t, int64(4), s.ImageEvents)
	assert.Equal(t, int64(3), s.ImageIDs)
	assert.Equal(t, int64(2), s.DbgIDs)
	assert.Equal(t, int64(1), s.Unmatched, "the ImageID of process 600")
	assert.Equal(t, 3, s.Modules)

	nt := m.Lookup(12345, ntBase+0x5a3b10)
	require.NotNil(t, nt)
	assert.Equal(t, "ntkrnlmp.exe", nt.Name)
	assert.True(t, nt.Kernel)
	assert.Equal(t, uint32(0x5010AE7A), nt.TimeDateStamp)
	assert.Equal(t, PDB{Name: "ntkrnlmp.pdb", GUID: pdbGUID, Age: 2}, nt.PDB)
	assert.Equal(t, "ntkrnlmp.exe+0x5a3b10", m.FrameName(ntBase+0x5a3b10, 12345))
	assert.Equal(t, "ntkrnlmp.exe+0x0", m.FrameName(ntBase, 0))
	assert.Equal(t, "0xfffff80021bd1000", m.FrameName(ntBase+0x748000, 0), "one past the end")

	ntdll := m.Lookup(500, ntdllBase+0x10)
	require.NotNil(t, ntdll)
	assert.Equal(t, "ntdll.dll", ntdll.Name)
	assert.Equal(t, uint32(500), ntdll.PID)
	assert.Equal(t, PDB{Name: "ntdll.pdb", GUID: pdbGUID, Age: 1}, ntdll.PDB)
	assert.Nil(t, m.Lookup(600, ntdllBase+0x10), "user images belong to their process")
	assert.Equal(t, "0x7ffb00000010", m.FrameName(ntdllBase+0x10, 600))

	assert.Equal(t, "Leaky.exe+0x123", m.FrameName(0x400123, 500))
	assert.True(t, m.Lookup(500, 0x400000).PDB.IsZero())
	assert.Equal(t, "0x0", m.FrameName(0, 500))
}

// Lookup answers for the end of the trace: an unloaded image stays in the
// map, and where a range was reused the image loaded last wins.
func TestModulesUnloadAndReuse(t *testing.T) {
	tr := newTrace(t, 1)
	tr.image(0, hookImageLoad, tr.ts(1*ms), 0x10000000, 0x20000, 500, `C:\a.dll`)
	tr.image(0, hookImageUnload, tr.ts(2*ms), 0x10000000, 0x20000, 500, `C:\a.dll`)
	tr.image(0, hookImageLoad, tr.ts(3*ms), 0x10010000, 0x8000, 500, `C:\b.dll`)
	tr.image(0, hookImageLoad, tr.ts(4*ms), 0x20000000, 0x1000, 500, `C:\c.dll`)
	tr.image(0, hookImageUnload, tr.ts(5*ms), 0x20000000, 0x1000, 500, `C:\c.dll`)
	m := buildModules(t, tr)

	assert.Equal(t, "a.dll+0xfff0", m.FrameName(0x1000fff0, 500))
	assert.Equal(t, "b.dll+0x0", m.FrameName(0x10010000, 500), "loaded over a's range")
	assert.Equal(t, "b.dll+0x7fff", m.FrameName(0x10017fff, 500))
	assert.Equal(t, "a.dll+0x18000", m.FrameName(0x10018000, 500), "a again past b's end")
	assert.Equal(t, "0x10020000", m.FrameName(0x10020000, 500))
	c := m.Lookup(500, 0x20000010)
	require.NotNil(t, c)
	assert.True(t, c.Unloaded)
	assert.Equal(t, "c.dll", c.Name)
	assert.Len(t, m.Modules(), 3)
}

// An image whose range runs past the top of the address space is damage:
// counted, and kept out of the map, where it would own every address
// above its base (and give pprof a mapping whose limit is below its
// start). FuzzAnalysis found it.
func TestModulesRefuseWrappingImage(t *testing.T) {
	tr := newTrace(t, 1)
	tr.image(0, hookImageLoad, tr.ts(1*ms), 0xfffff80000000000, 0x748000, 0, `\SystemRoot\system32\ntoskrnl.exe`)
	tr.image(0, hookImageLoad, tr.ts(2*ms), 0xffffffffffff0000, 0x10000, 0, `\SystemRoot\system32\drivers\top.sys`)
	tr.image(0, hookImageLoad, tr.ts(3*ms), 0xffffb1d8a2200000, 0x00ffb1d8a2200000^0xffffb1d8a2200000, 0, `\SystemRoot\System32\win32kfull.sys`)
	m := buildModules(t, tr)

	s := m.Stats()
	assert.Equal(t, int64(1), s.ImageEvents)
	assert.Equal(t, int64(2), s.BadEvents)
	assert.Len(t, m.Modules(), 1)
	assert.Nil(t, m.Lookup(4, 0xffffffffffff0010))
	assert.Equal(t, "ntoskrnl.exe+0x10", m.FrameName(0xfffff80000000010, 4))
}

func TestModulesLookupAllocatesNothing(t *testing.T) {
	tr := newTrace(t, 1)
	tr.image(0, hookImageDCS, tr.ts(1*ms), 0xfffff80000000000, 0x100000, 0, `\SystemRoot\system32\ntoskrnl.exe`)
	tr.image(0, hookImageDCS, tr.ts(2*ms), 0x10000000, 0x10000, 500, `C:\a.dll`)
	m := buildModules(t, tr)
	buf := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(100, func() {
		_ = m.Lookup(500, 0x10000010)
		_ = m.Lookup(500, 0xfffff80000000010)
		buf = m.AppendFrame(buf[:0], 0xfffff80000000010, 500)
		buf = m.AppendFrame(buf[:0], 0x30000000, 500)
	})
	assert.Zero(t, allocs)
	assert.Nil(t, NewModules().Lookup(1, 2), "before Finish")
}

func TestFrameNameFormats(t *testing.T) {
	mod := &Module{Name: "ntkrnlmp.exe", Base: 0xfffff80021489000}
	assert.Equal(t, "ntkrnlmp.exe+0x5a3b10", string(AppendModuleOffset(nil, mod, 0xfffff80021a2cb10)))
	assert.Equal(t, "0xfffff80021a2cb10", string(AppendAddress(nil, 0xfffff80021a2cb10)))
	assert.Equal(t, "0xabc", FrameName(Addresses, 0xabc, 1))
}
