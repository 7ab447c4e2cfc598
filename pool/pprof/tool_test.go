package pprof_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/pool/pprof"
)

// goPprof writes the fixture profile (with facts adjusted by edit) and runs
// `go tool pprof args... FILE`, returning its standard output.
func goPprof(t *testing.T, edit func(*pprof.Facts), args ...string) string {
	t.Helper()
	samples, facts := fixture()
	if edit != nil {
		edit(&facts)
	}
	return runGoPprof(t, samples, facts, args...)
}

// runGoPprof writes the profile of samples and facts and runs `go tool
// pprof args... FILE`, returning its standard output.
func runGoPprof(t *testing.T, samples []pprof.Sample, facts pprof.Facts, args ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs go tool pprof")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	dir := t.TempDir()
	name := filepath.Join(dir, "toke.pb.gz")
	var buf bytes.Buffer
	require.NoError(t, pprof.Write(&buf, samples, facts))
	require.NoError(t, os.WriteFile(name, buf.Bytes(), 0o644))

	cmd := exec.Command(goBin, append(append([]string{"tool", "pprof"}, args...), name)...)
	cmd.Dir = dir
	// No binaries to symbolize with: pprof keeps our names.
	cmd.Env = append(os.Environ(), "PPROF_BINARY_PATH="+dir, "PPROF_TMPDIR="+dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "go tool pprof %s: %s", strings.Join(args, " "), stderr.String())
	t.Logf("go tool pprof %s:\n%s", strings.Join(args, " "), stdout.String())
	return stdout.String()
}

// topRows returns the function names of a -top report, in report order.
func topRows(t *testing.T, out string) []string {
	t.Helper()
	// flat flat% sum% cum cum% name
	row := regexp.MustCompile(`^\s*\S+\s+\S+%\s+\S+%\s+\S+\s+\S+%\s+(.+)$`)
	var names []string
	header := true
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\n")
		if header {
			header = !strings.Contains(line, "flat%")
			continue
		}
		m := row.FindStringSubmatch(line)
		require.NotNil(t, m, "unexpected -top line %q", line)
		names = append(names, m[1])
	}
	return names
}

// totals returns the "Showing nodes accounting for SHOWN, P% of TOTAL
// total" figures of a report header. With -tagfocus, SHOWN is what the
// focused samples hold and TOTAL stays the whole profile's.
func totals(t *testing.T, out string) (shown, total string) {
	t.Helper()
	m := regexp.MustCompile(`Showing nodes accounting for (\S+), \S+ of (\S+) total`).FindStringSubmatch(out)
	require.NotNil(t, m, "no totals in %q", out)
	return m[1], m[2]
}

func TestGoToolPprofTop(t *testing.T) {
	// -nodefraction=0 keeps the small rows ([no stack], the frame outside
	// every module) that pprof would otherwise drop from the report.
	out := goPprof(t, nil, "-top", "-inuse_space", "-nodefraction=0", "-unit=B")
	rows := topRows(t, out)
	require.NotEmpty(t, rows)
	assert.Equal(t, "ntkrnlmp.exe!SepDuplicateToken", rows[0], "the leak leads -top")
	assert.Contains(t, rows, pprof.NoStack)
	assert.Contains(t, rows, "Ntfs.sys!NtfsCreateFcb")
	assert.Contains(t, rows, "0xffffe00012345678")
	assert.NotContains(t, rows, "ntkrnlmp.exe!ExAllocatePoolWithTag", "AllocatorFrames hides the allocator")
	shown, total := totals(t, out)
	assert.Equal(t, strconv.Itoa(totalInuseB)+"B", total)
	assert.Equal(t, total, shown)
	assert.Contains(t, out, "Type: inuse_space")
	assert.Contains(t, out, "Lost: 3 events, 1 buffers")
	assert.NotContains(t, out, "# module", "'#' comments stay out of the header")
	assert.Regexp(t, `(?m)^\s*10055552B\s+96\.63%.*ntkrnlmp\.exe!SepDuplicateToken$`, out)

	// The default sample type is inuse_space, and the defaults of pprof
	// put the leak on top as well.
	out = goPprof(t, nil, "-top")
	assert.Contains(t, out, "Type: inuse_space")
	assert.Equal(t, "ntkrnlmp.exe!SepDuplicateToken", topRows(t, out)[0])
}

func TestGoToolPprofKeepAllocator(t *testing.T) {
	out := goPprof(t, func(f *pprof.Facts) { f.DropFrames = "" }, "-top", "-inuse_space")
	rows := topRows(t, out)
	require.NotEmpty(t, rows)
	assert.Equal(t, "ntkrnlmp.exe!ExAllocatePoolWithTag", rows[0], "without DropFrames the allocator is every stack's leaf")
}

func TestGoToolPprofTagFocus(t *testing.T) {
	tokeRows := []string{
		"ntkrnlmp.exe!KiSystemServiceCopyEnd",
		"ntkrnlmp.exe!NtDuplicateToken",
		"ntkrnlmp.exe!SepDuplicateToken",
		"secagent.sys+0x1a2b",
		"secagent.sys+0x9c40",
	}
	out := goPprof(t, nil, "-top", "-inuse_space", "-nodefraction=0", "-tagfocus", "pooltag=Toke")
	rows := topRows(t, out)
	require.NotEmpty(t, rows)
	assert.Equal(t, "ntkrnlmp.exe!SepDuplicateToken", rows[0])
	slices.Sort(rows)
	assert.Equal(t, tokeRows, rows, "only the Toke stacks remain")
	assert.Contains(t, out, "tagfocus=pooltag=Toke")
	shown, total := totals(t, out)
	assert.Equal(t, "9.59MB", shown) // tokeInuseB
	assert.Equal(t, "9.92MB", total) // totalInuseB: pprof keeps the whole total

	for _, tc := range []struct {
		args  []string
		shown int
	}{
		{[]string{"-inuse_space", "-unit=B", "-tagfocus", "pooltag=Toke"}, tokeInuseB},
		{[]string{"-alloc_space", "-unit=B", "-tagfocus", "pooltag=Toke"}, tokeAllocs * tokeSize},
		{[]string{"-alloc_objects", "-tagfocus", "pooltag=Toke"}, tokeAllocs},
		{[]string{"-inuse_objects", "-tagfocus", "pooltag=Toke"}, tokeInuse},
		{[]string{"-alloc_objects", "-tagfocus", "lifetime=AIFI"}, 57},
		{[]string{"-inuse_space", "-unit=B", "-tagfocus", "paged=false"}, fileInuseB + irpInuseB},
		{[]string{"-inuse_space", "-unit=B", "-tagfocus", "process=lsass"}, tokeInuseB},
		{[]string{"-inuse_space", "-unit=B", "-tagfocus", "pid=4"}, fileInuseB},
		{[]string{"-inuse_space", "-unit=B", "-tagignore", "pooltag=Toke"}, totalInuseB - tokeInuseB},
	} {
		out := goPprof(t, nil, append([]string{"-top", "-nodefraction=0"}, tc.args...)...)
		shown, _ := totals(t, out)
		unit := ""
		if slices.Contains(tc.args, "-unit=B") {
			unit = "B"
		}
		assert.Equal(t, strconv.Itoa(tc.shown)+unit, shown, "%v", tc.args)
	}
}

func TestGoToolPprofTags(t *testing.T) {
	out := goPprof(t, nil, "-tags", "-inuse_space")
	for _, want := range []string{"pooltag", "Toke", "MmSt", "pooltype", "PagedPool", "paged", "lifetime", "AIFO", "process", "lsass.exe (712)", "pid"} {
		assert.Contains(t, out, want)
	}
}
