package analysis_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/analysis"
	"github.com/poolprof/poolprof/internal/tokeleak"
	"github.com/poolprof/poolprof/pool"
	"github.com/poolprof/poolprof/stacks"
	"github.com/poolprof/poolprof/symbols"
)

// pdbResolver returns a Resolver over testdata/pdb, the folder holding the
// example's ntkrnlmp.pdb and contosec.pdb.
func pdbResolver(t testing.TB) *symbols.Resolver {
	t.Helper()
	path, err := symbols.ParseSymbolPath("../testdata/pdb")
	require.NoError(t, err)
	return symbols.NewResolver(symbols.NewLocator(path, symbols.Options{Offline: true, DefaultCache: t.TempDir()}))
}

// symbolized maps a frame named module+0xRVA by the generator to the name
// a PDB of Functions gives it, for the images that have PDB fixtures.
func symbolized(t testing.TB, frame string) string {
	mod, off, ok := strings.Cut(frame, "+0x")
	if !ok || (mod != tokeleak.ModNT && mod != tokeleak.ModContosec) {
		return frame
	}
	rva, err := strconv.ParseUint(off, 16, 32)
	require.NoError(t, err)
	for _, f := range tokeleak.Functions {
		if f.Module == mod && uint32(rva) > f.Start && uint32(rva) <= f.Start+f.Size {
			return mod + "!" + f.Name
		}
	}
	t.Fatalf("no function of %s holds %#x", mod, rva)
	return ""
}

// TestExampleSymbolizedStacks names the Toke AIFO stacks with the PDB
// fixtures and compares them with the generator's stacks, whose frames
// are mapped to functions through its own function table.
func TestExampleSymbolizedStacks(t *testing.T) {
	f, truth := buildExample(t, tokeleak.Committed)
	res, err := analysis.Run(f, analysis.Options{})
	require.NoError(t, err)
	var counts stacks.Counts
	var refs []stacks.Ref
	toke, err := pool.ParseTag("Toke")
	require.NoError(t, err)
	for _, a := range res.Pool.Outstanding {
		if a.Tag == toke && a.Lifetime == pool.AIFO {
			counts.Add(stacks.Ref(a.Stack), 1, int64(a.Size))
			refs = append(refs, stacks.Ref(a.Stack))
		}
	}

	// Only the images these stacks pass through are looked for.
	r := pdbResolver(t)
	mods := analysis.StackModules(res.Modules, res.Stacks, refs)
	var names []string
	for _, m := range mods {
		names = append(names, m.Name)
	}
	slices.Sort(names)
	assert.Equal(t, []string{"KernelBase.dll", "contosec.sys", "contosecpkg.dll", "kernel32.dll", "lsasrv.dll", "ntdll.dll", "ntkrnlmp.exe"}, names)
	results := r.Load(context.Background(), analysis.SymbolRequests(mods))
	require.Len(t, results, len(mods))
	found := 0
	for _, res := range results {
		if res.PDB != nil {
			found++
		}
	}
	assert.Equal(t, 2, found, "ntkrnlmp.pdb and contosec.pdb")

	n := &analysis.SymbolNamer{Modules: res.Modules, Resolver: r}
	got := counts.Samples(res.Stacks, n)

	// The generator's stacks, named and folded the same way.
	idx := map[string]int{}
	var want []stacks.Sample
	for _, s := range truth.TokeAIFO {
		var frames []string
		for _, fr := range s.Frames {
			frames = append(frames, symbolized(t, fr))
		}
		k := strings.Join(frames, "\x00")
		i, ok := idx[k]
		if !ok {
			i = len(want)
			idx[k] = i
			want = append(want, stacks.Sample{Frames: frames})
		}
		want[i].Count += int64(s.Count)
		want[i].Bytes += int64(s.Bytes)
	}
	slices.SortFunc(want, func(a, b stacks.Sample) int {
		return cmp.Or(cmp.Compare(b.Bytes, a.Bytes), cmp.Compare(b.Count, a.Count), slices.Compare(a.Frames, b.Frames))
	})
	require.Equal(t, want, got)
	heaviest := got[0].Frames
	assert.Equal(t, []string{"ntkrnlmp.exe!ExAllocatePoolWithTag", "ntkrnlmp.exe!ObCreateObject", "ntkrnlmp.exe!SepDuplicateToken"}, heaviest[:3])
	assert.Contains(t, heaviest, "contosec.sys!CsCloneClientToken")
	assert.Contains(t, heaviest, "ntdll.dll+0x9d2f4", "no PDB for ntdll.dll: module+0xRVA")

	// The tree names frames the same way.
	tree := counts.Tree(res.Stacks, n)
	var path []string
	for node := tree.Root(); len(node.Children()) > 0; {
		kids := node.Children()
		node = slices.MaxFunc(kids, func(a, b *stacks.Node) int { return cmp.Compare(a.Value.Bytes, b.Value.Bytes) })
		path = append(path, node.Name)
	}
	slices.Reverse(path)
	assert.Equal(t, heaviest, path)
}

// TestSymbolNamerFrames checks every return address of the images with
// PDB fixtures, and the fallbacks.
func TestSymbolNamerFrames(t *testing.T) {
	f, _ := buildExample(t, tokeleak.Committed)
	res, err := analysis.Run(f, analysis.Options{})
	require.NoError(t, err)
	n := &analysis.SymbolNamer{Modules: res.Modules, Resolver: pdbResolver(t)}
	plain := &analysis.SymbolNamer{Modules: res.Modules}
	bases := map[string]uint64{}
	for _, im := range tokeleak.Images() {
		if im.Kernel() {
			bases[im.Module()] = im.Base
		}
	}
	checked := 0
	for _, fn := range tokeleak.Functions {
		base, ok := bases[fn.Module]
		if !ok {
			continue // a user image
		}
		for _, r := range fn.Returns {
			addr := base + uint64(r)
			for _, pid := range []uint32{tokeleak.PIDLsass, tokeleak.PIDSystem} { // kernel frames name alike in every process
				name := stacks.FrameName(n, addr, pid)
				fr := n.Frame(addr, pid)
				require.NotNil(t, fr.Module)
				assert.Equal(t, fn.Module, fr.Module.Name)
				assert.Equal(t, uint64(r), fr.RVA)
				assert.Equal(t, fmt.Sprintf("%s+0x%x", fn.Module, r), stacks.FrameName(plain, addr, pid), "without symbols")
				if fn.Module != tokeleak.ModNT && fn.Module != tokeleak.ModContosec {
					assert.Equal(t, fmt.Sprintf("%s+0x%x", fn.Module, r), name, "no PDB for %s", fn.Module)
					assert.Empty(t, fr.Function)
					continue
				}
				assert.Equal(t, fn.Module+"!"+fn.Name, name)
				assert.Equal(t, fn.Name, fr.Function)
				assert.Equal(t, uint64(r-fn.Start), fr.Offset)
				assert.Positive(t, fr.Line)
				assert.NotEmpty(t, fr.File)
				checked++
			}
		}
	}
	want := 0
	for _, fn := range tokeleak.Functions {
		if fn.Module == tokeleak.ModNT || fn.Module == tokeleak.ModContosec {
			want += 2 * len(fn.Returns)
		}
	}
	assert.Equal(t, want, checked)
	assert.Greater(t, want, 90)

	// Outside every image; an image without a PDB identity (NETIO.SYS); a
	// user image whose PDB is not on the path.
	assert.Equal(t, "0x"+strconv.FormatUint(tokeleak.UnknownFrame1, 16), stacks.FrameName(n, tokeleak.UnknownFrame1, tokeleak.PIDSystem))
	assert.Equal(t, analysis.Frame{}, n.Frame(tokeleak.UnknownFrame1, tokeleak.PIDSystem))
	for _, im := range tokeleak.Images() {
		if im.Module() == tokeleak.ModNETIO {
			assert.Equal(t, "NETIO.SYS+0x1f6b5", stacks.FrameName(n, im.Base+0x1f6b5, 0))
		}
	}
	ntdll := tokeleak.NtdllBase + uint64(tokeleak.NtdllNtDuplicateTokenRVA)
	assert.Equal(t, "ntdll.dll+0x9dd34", stacks.FrameName(n, ntdll, tokeleak.PIDLsass))

	// The start of a function is the return address of a call that ended
	// the function before it (or a gap): not this function.
	sep := uint64(tokeleak.NtoskrnlBase + 0x5a3600)
	assert.NotEqual(t, "ntkrnlmp.exe!SepDuplicateToken", stacks.FrameName(n, sep, 0))
	assert.Equal(t, "ntkrnlmp.exe!SepDuplicateToken", stacks.FrameName(n, sep+1, 0))

	// Named frames cost nothing once named.
	addr := tokeleak.NtoskrnlBase + uint64(tokeleak.SepDuplicateTokenRVA)
	buf := make([]byte, 0, 128)
	assert.Equal(t, "ntkrnlmp.exe!SepDuplicateToken", string(n.AppendFrame(buf, addr, tokeleak.PIDLsass)))
	assert.True(t, n.Symbolized(n.Frame(addr, 0).Module))
	allocs := testing.AllocsPerRun(100, func() {
		buf = n.AppendFrame(buf[:0], addr, tokeleak.PIDLsass)
		buf = n.AppendFrame(buf[:0], ntdll, tokeleak.PIDLsass)
	})
	assert.Zero(t, allocs)
}
