package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/internal/tokeleak"
)

// exampleTrace is the bundled example, relative to this package.
const exampleTrace = "../../testdata/example/tokeleak.etl"

// TestRun runs the investigation on the bundled example and checks what it
// prints against the generator's truth.
func TestRun(t *testing.T) {
	truth, err := tokeleak.Build(io.Discard, tokeleak.Committed)
	require.NoError(t, err)
	// The program knows the story's frame by its RVA.
	require.Equal(t, tokeleak.SepDuplicateTokenRVA, sepDuplicateTokenRVA)
	require.Equal(t, tokeleak.ModNT, kernelModule)

	prof := filepath.Join(t.TempDir(), "toke.pb.gz")
	var out bytes.Buffer
	require.NoError(t, run([]string{"-o", prof, exampleTrace}, &out))
	text := out.String()
	t.Log("\n" + text)
	lines := strings.Split(text, "\n")

	// 1. The top tag is Toke, with the outstanding count and bytes of
	// its row.
	toke := truth.Row(tokeleak.TokeTag, true)
	require.NotNil(t, toke)
	assert.Regexp(t, fmt.Sprintf(`(?m)^\s+Tag\s+Pool\s+Outstanding\s+Bytes\n\s+Toke\s+Paged\s+%d\s+%d$`,
		toke.AIFOCount, toke.AIFOBytes), text)
	assert.Contains(t, text, " 6189 ")

	// 2. By size: the leak is 6043 × 1664 bytes.
	n, b := truth.Count(tokeleak.TokeTag, tokeleak.TokeSize, tokeleak.AIFO)
	assert.Regexp(t, fmt.Sprintf(`(?m)^\s+1664\s+%d\s+%d\s+= 6043 × 1664 bytes`, n, b), text)
	for _, batch := range tokeleak.TokeOutstanding {
		assert.Regexp(t, fmt.Sprintf(`(?m)^\s+%d\s+%d\s+%d$`, batch.Size, batch.Count, uint64(batch.Count)*batch.Size), text)
	}
	assert.Contains(t, text, fmt.Sprintf("made by lsass.exe (%d): %d\n", tokeleak.PIDLsass, toke.AIFOCount))

	// 3. The heaviest stack is the leak's, frame by frame, with
	// SepDuplicateToken marked.
	leak := truth.TokeAIFO[0]
	require.Equal(t, uint64(n), leak.Count)
	assert.Contains(t, text, fmt.Sprintf("heaviest Toke stack: %d allocations, %d bytes", leak.Count, leak.Bytes))
	start := indexOf(lines, "3. ") + 2
	require.Greater(t, start, 1)
	var frames, marked []string
	for _, l := range lines[start:] {
		f := strings.Fields(l)
		if len(f) == 0 {
			break
		}
		if f[0] == "=>" {
			marked = append(marked, l)
			f = f[1:]
		}
		frames = append(frames, f[0])
	}
	assert.Equal(t, leak.Frames, frames)
	require.Len(t, marked, 1)
	assert.Regexp(t, `^\s+=> ntkrnlmp\.exe\+0x5a3b10\s+ntkrnlmp\.exe!SepDuplicateToken`, marked[0])

	// 4. The profile: Toke's bytes in use, and the kernel's build id.
	fh, err := os.Open(prof)
	require.NoError(t, err)
	defer fh.Close()
	p, err := profile.Parse(fh)
	require.NoError(t, err)
	assert.Equal(t, "inuse_space", p.DefaultSampleType)
	var inuse, tokeInuse, tokeObjects, allocObjects int64
	for _, s := range p.Sample {
		allocObjects += s.Value[0]
		inuse += s.Value[3]
		if s.Label["pooltag"][0] == tokeleak.TokeTag {
			tokeObjects += s.Value[2]
			tokeInuse += s.Value[3]
		}
	}
	assert.Equal(t, int64(truth.Totals.AIFOBytes), inuse)
	assert.Equal(t, int64(truth.Totals.Allocs), allocObjects)
	assert.Equal(t, int64(toke.AIFOBytes), tokeInuse)
	assert.Equal(t, int64(6189), tokeObjects)
	var ntBuildID string
	for _, m := range p.Mapping {
		if strings.HasSuffix(m.File, `\ntoskrnl.exe`) {
			ntBuildID = m.BuildID
		}
	}
	// The build id is the symbol-store key of the kernel's PDB identity
	// as the generator wrote it: GUID digits, upper case, then the age.
	wantID := strings.ToUpper(strings.ReplaceAll(tokeleak.NtkrnlmpPDBGUID, "-", "")) + strconv.Itoa(tokeleak.NtkrnlmpPDBAge)
	assert.Equal(t, wantID, ntBuildID)
	assert.Contains(t, text, "Wrote "+prof)
}

func indexOf(lines []string, prefix string) int {
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return i
		}
	}
	return -1
}

// TestRunDefaultTrace: without an argument the program finds the bundled
// example from a directory of the repository.
func TestRunDefaultTrace(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run([]string{"-top", "1"}, &out))
	assert.True(t, strings.HasPrefix(out.String(), "Trace "+exampleTrace+": Windows 10.0 build 19045, 4 CPUs"), out.String())
	assert.Regexp(t, `(?m)^\s+Toke\s+Paged\s+6189\s+10215712\n\n2\. `, out.String(), "one tag only")
	assert.Contains(t, out.String(), "Run with -o toke.pb.gz")
}

func TestRunErrors(t *testing.T) {
	var out bytes.Buffer
	assert.ErrorIs(t, run([]string{"-h"}, &out), flag.ErrHelp)
	assert.Contains(t, out.String(), "usage: tokeleak")
	assert.Error(t, run([]string{"-bogus"}, io.Discard))
	assert.ErrorContains(t, run([]string{exampleTrace, exampleTrace}, io.Discard), "at most one trace")
	assert.ErrorContains(t, run([]string{"-top", "-1", exampleTrace}, io.Discard), "-top")
	assert.ErrorContains(t, run([]string{"no-such.etl"}, io.Discard), "no-such.etl")
	assert.ErrorContains(t, run([]string{"-tag", "Nope", exampleTrace}, io.Discard), "no Nope allocations outstanding")
	assert.ErrorContains(t, run([]string{"-tag", "TooLong", exampleTrace}, io.Discard), "-tag")

	notETL := filepath.Join(t.TempDir(), "notes.etl")
	require.NoError(t, os.WriteFile(notETL, []byte("not a trace\n"), 0o644))
	assert.ErrorContains(t, run([]string{notETL}, io.Discard), notETL)
}

// TestRunOtherTag drills into another tag: the mark is only for the
// story's frame.
func TestRunOtherTag(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run([]string{"-tag", "TcpP", exampleTrace}, &out))
	assert.Contains(t, out.String(), "2. TcpP: 16 allocations")
	assert.NotContains(t, out.String(), "=>")
	assert.False(t, regexp.MustCompile(`SepDuplicateToken`).MatchString(out.String()))
}

// The investigation of the bundled example, run from this directory.
func Example() {
	if err := run([]string{"-top", "3"}, os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// Trace ../../testdata/example/tokeleak.etl: Windows 10.0 build 19045, 4 CPUs, 9255 pool allocations and 2765 frees in 20m0s
	// (the session lost 2 events: a lost free makes an allocation look outstanding)
	//
	// 1. Tags holding the most pool memory at the end of the trace:
	//
	//    Tag   Pool   Outstanding       Bytes
	//    Toke  Paged         6189    10215712
	//    TcpP  Nonp            16      720896
	//    CM16  Paged           28      311296
	//
	// 2. Toke: 6189 allocations made during the trace and never freed (AIFO), 10215712 bytes, by size:
	//
	//      Size   Count       Bytes
	//      1664    6043    10055552  = 6043 × 1664 bytes, 98% of the tag
	//      1248      64       79872
	//      1424      42       59808
	//       512      40       20480
	//    made by lsass.exe (712): 6189
	//
	// 3. The heaviest Toke stack: 6043 allocations, 10055552 bytes; innermost frame first:
	//
	//       ntkrnlmp.exe+0x36f1b4
	//       ntkrnlmp.exe+0x62a5e2
	//    => ntkrnlmp.exe+0x5a3b10        ntkrnlmp.exe!SepDuplicateToken: a new token object per call
	//       ntkrnlmp.exe+0x5a2f87
	//       ntkrnlmp.exe+0x40e8b5
	//       ntkrnlmp.exe+0x3fd9b4
	//       contosec.sys+0x2bd2
	//       contosec.sys+0x1c4e
	//       ntkrnlmp.exe+0x2a7f55
	//       ntkrnlmp.exe+0x6b0d2a
	//       ntkrnlmp.exe+0x6af5c3
	//       ntkrnlmp.exe+0x6aea06
	//       ntkrnlmp.exe+0x40e8b5
	//       ntdll.dll+0x9d2f4
	//       KernelBase.dll+0x3e25b
	//       contosecpkg.dll+0x23a0
	//       contosecpkg.dll+0x19a7
	//       lsasrv.dll+0x5f3d1
	//       lsasrv.dll+0x2c8f2
	//       lsasrv.dll+0x2a1bb
	//       ntdll.dll+0x3aa2e
	//       ntdll.dll+0x36329
	//       kernel32.dll+0x17984
	//       ntdll.dll+0x7c4cb
	//
	//    A symbol store files ntkrnlmp.pdb under 26C67E5BB87F2FDF4C4C44205044422E1; with it, poolprof sym names RVA 0x5a3b10.
	//
	// 4. Run with -o toke.pb.gz to write a heap profile for go tool pprof.
}
