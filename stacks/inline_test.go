package stacks

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// inlineNamer names frames like the module map and claims that, at
// leaky.sys+0x200, the compiler inlined AllocCtx into CreateCtx into the
// function there.
type inlineNamer struct{ *Modules }

const leakyInlineSite = 0xfffff88000000200

func (n inlineNamer) Inlined(addr uint64, pid uint32) int {
	if addr == leakyInlineSite {
		return 2
	}
	return 0
}

func (n inlineNamer) AppendInlined(dst []byte, addr uint64, pid uint32, k int) []byte {
	return append(dst, []string{"leaky.sys!AllocCtx", "leaky.sys!CreateCtx"}[k]...)
}

// Inlined functions get frames of their own, outermost after the frame
// they were inlined into, in the tree, the folded text and the samples.
func TestInlinedFramesFold(t *testing.T) {
	c, j, m := foldedTrace(t)
	n := inlineNamer{m}
	tree := c.Tree(j, n)

	var b strings.Builder
	require.NoError(t, WriteFolded(&b, tree, ByBytes))
	assert.Equal(t, ""+
		"[no stack] 100\n"+
		"ntdll.dll+0x9a0;ntkrnlmp.exe+0x5000;leaky.sys+0x200;leaky.sys!CreateCtx;leaky.sys!AllocCtx;ntkrnlmp.exe+0x1000 4992\n"+
		"ntkrnlmp.exe+0x5000;ntkrnlmp.exe+0x3000;ntkrnlmp.exe+0x1000 128\n", b.String())

	samples := c.Samples(j, n)
	require.Len(t, samples, 3)
	assert.Equal(t, []string{"ntkrnlmp.exe+0x1000", "leaky.sys!AllocCtx", "leaky.sys!CreateCtx", "leaky.sys+0x200", "ntkrnlmp.exe+0x5000", "ntdll.dll+0x9a0"}, samples[0].Frames)
	assert.Equal(t, int64(4992), samples[0].Bytes)
}

// Folding a stack that is already in the tree allocates nothing, inlined
// frames included.
func TestAddStackWithInlinesAllocatesNothing(t *testing.T) {
	c, j, m := foldedTrace(t)
	n := inlineNamer{m}
	tree := c.Tree(j, n)
	ref := c.refs[0]
	frames, pid := j.Resolve(ref), j.Process(ref)
	allocs := testing.AllocsPerRun(100, func() { tree.AddStack(n, frames, pid, 1, 1664) })
	assert.Zero(t, allocs)
}
