package stacks

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/etl/kernel"
)

// foldedTrace is a small pool trace: three 1664-byte allocations from a
// user process through a driver, two 64-byte ones on a System thread and
// one 100-byte allocation without a stack.
func foldedTrace(t *testing.T) (*Counts, *Joiner[uint64], *Modules) {
	const nt, leaky, ntdll = 0xfffff80000000000, 0xfffff88000000000, 0x7ffb00000000
	tr := newTrace(t, 1)
	t0 := tr.ts(ms)
	tr.image(0, hookImageDCS, t0, nt, 0x100000, 0, `\SystemRoot\system32\ntoskrnl.exe`)
	tr.imageID(0, t0, nt, 0x100000, 0, 0, "ntkrnlmp.exe")
	tr.image(0, hookImageDCS, tr.ts(2*ms), leaky, 0x10000, 0, `\SystemRoot\system32\drivers\leaky.sys`)
	tr.image(0, hookImageDCS, tr.ts(3*ms), ntdll, 0x1f0000, 500, `\Device\HarddiskVolume2\Windows\System32\ntdll.dll`)
	at := tr.ts(10 * ms)
	for i := range 3 {
		ts := at + int64(10*i)
		tr.alloc(0, ts, 500, 100, 1664)
		tr.stack(0, ts, ts, 500, 100, nt+0x1000, leaky+0x200, nt+0x5000)
		tr.keyRef(0, ts+1, ts, 500, 100, true, 0xfffffa8000001000)
	}
	tr.keyDef(0, hookKeyDelete, at+100, 0xfffffa8000001000, ntdll+0x9a0)
	for i := range 2 {
		ts := at + 200 + int64(10*i)
		tr.alloc(0, ts, 4, 8, 64)
		tr.stack(0, ts, ts, 4, 8, nt+0x1000, nt+0x3000, nt+0x5000)
	}
	tr.alloc(0, at+300, 4, 8, 100)

	m := NewModules()
	var c Counts
	j := NewJoiner(Options{}, func(size uint64, ref Ref) { c.Add(ref, 1, int64(size)) })
	var pe kernel.PoolEvent
	for _, ev := range tr.events() {
		m.Observe(ev)
		if kernel.Lookup(ev) == kernel.KindPoolAlloc {
			require.NoError(t, pe.Decode(ev))
			j.Hold(ev, pe.NumberOfBytes)
			continue
		}
		j.Observe(ev)
	}
	j.Finish()
	m.Finish()
	return &c, j, m
}

// TestFoldedOutputExact pins the three text outputs of a folded trace:
// folded stacks (by bytes and by count), the text tree and the JSON list.
func TestFoldedOutputExact(t *testing.T) {
	c, j, m := foldedTrace(t)
	require.Equal(t, 3, c.Len(), "three distinct stacks, the empty one included")
	tree := c.Tree(j, m)

	var b strings.Builder
	require.NoError(t, WriteFolded(&b, tree, ByBytes))
	assert.Equal(t, ""+
		"[no stack] 100\n"+
		"ntdll.dll+0x9a0;ntkrnlmp.exe+0x5000;leaky.sys+0x200;ntkrnlmp.exe+0x1000 4992\n"+
		"ntkrnlmp.exe+0x5000;ntkrnlmp.exe+0x3000;ntkrnlmp.exe+0x1000 128\n", b.String())

	b.Reset()
	require.NoError(t, WriteFolded(&b, tree, ByCount))
	assert.Equal(t, ""+
		"[no stack] 1\n"+
		"ntdll.dll+0x9a0;ntkrnlmp.exe+0x5000;leaky.sys+0x200;ntkrnlmp.exe+0x1000 3\n"+
		"ntkrnlmp.exe+0x5000;ntkrnlmp.exe+0x3000;ntkrnlmp.exe+0x1000 2\n", b.String())

	b.Reset()
	require.NoError(t, WriteTree(&b, tree, ByBytes))
	assert.Equal(t, ""+
		"       bytes      count  stack\n"+
		"        5220          6  all\n"+
		"        4992          3    ntdll.dll+0x9a0\n"+
		"        4992          3      ntkrnlmp.exe+0x5000\n"+
		"        4992          3        leaky.sys+0x200\n"+
		"        4992          3          ntkrnlmp.exe+0x1000\n"+
		"         128          2    ntkrnlmp.exe+0x5000\n"+
		"         128          2      ntkrnlmp.exe+0x3000\n"+
		"         128          2        ntkrnlmp.exe+0x1000\n"+
		"         100          1    [no stack]\n", b.String())

	b.Reset()
	require.NoError(t, WriteJSON(&b, c.Samples(j, m)))
	want := `[
{"frames":["ntkrnlmp.exe+0x1000","leaky.sys+0x200","ntkrnlmp.exe+0x5000","ntdll.dll+0x9a0"],"count":3,"bytes":4992},
{"frames":["ntkrnlmp.exe+0x1000","ntkrnlmp.exe+0x3000","ntkrnlmp.exe+0x5000"],"count":2,"bytes":128},
{"frames":[],"count":1,"bytes":100}
]
`
	assert.Equal(t, want, b.String())
	var back []Sample
	require.NoError(t, json.Unmarshal([]byte(b.String()), &back))
	assert.Len(t, back, 3)
}

// Refs whose stacks name the same (two processes, or a key and inline
// frames) merge in the samples.
func TestSamplesMergeByName(t *testing.T) {
	tr := newTrace(t, 1)
	a, b := tr.ts(1*ms), tr.ts(2*ms)
	tr.alloc(0, a, 500, 100, 1)
	tr.stack(0, a, a, 500, 100, k1, u1)
	tr.alloc(0, b, 600, 200, 1)
	tr.stack(0, b, b, 600, 200, k1, u1)
	out, j := join(t, tr.events(), Options{})
	require.NotEqual(t, out[0].ref, out[1].ref, "user frames of different processes")
	var c Counts
	c.Add(out[0].ref, 1, 10)
	c.Add(out[1].ref, 2, 20)
	c.Add(out[1].ref, 1, 5)
	assert.Equal(t, Value{3, 25}, c.Get(out[1].ref))
	s := c.Samples(j, Addresses)
	assert.Equal(t, []Sample{{Frames: []string{"0xfffff80000101000", "0x7ff600001000"}, Count: 4, Bytes: 35}}, s)
}

func TestEmptyOutputs(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteJSON(&b, nil))
	assert.Equal(t, "[]\n", b.String())
	b.Reset()
	require.NoError(t, WriteFolded(&b, NewTree(), ByBytes))
	assert.Empty(t, b.String())
}

// Folded lines have no escapes: separators and line breaks in names are
// replaced.
func TestFoldedNamesSanitized(t *testing.T) {
	tree := NewTree()
	tree.Add([]string{"inner;x", "outer\nline"}, 1, 8)
	tree.Add(nil, 0, 0)
	var b strings.Builder
	require.NoError(t, WriteFolded(&b, tree, ByBytes))
	assert.Equal(t, "outer line;inner:x 8\n", b.String())
	assert.Equal(t, Value{1, 8}, tree.Root().Value)
	require.Len(t, tree.Root().Children(), 1)
	assert.Equal(t, "outer\nline", tree.Root().Children()[0].Name)
}
