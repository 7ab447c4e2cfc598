package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/internal/tokeleak"
	"github.com/poolprof/poolprof/pool/pprof"
	"github.com/poolprof/poolprof/stacks"
	"github.com/poolprof/poolprof/symbols"
)

// The tests of this file name the bundled example's frames with the PDB
// fixtures of its kernel images: testdata/pdb is a plain folder holding
// ntkrnlmp.pdb and contosec.pdb, whose identities the example's
// DbgID_RSDS events carry.
const (
	symTrace  = "../../testdata/example/tokeleak.etl"
	symPDBDir = "../../testdata/pdb"
)

// noSymbolEnv clears the symbol path variables, so that the defaults the
// tests rely on do not depend on the machine.
func noSymbolEnv(t *testing.T) {
	t.Setenv("_NT_SYMBOL_PATH", "")
	t.Setenv("_NT_ALT_SYMBOL_PATH", "")
}

func runSymOK(t *testing.T, args ...string) (string, string) {
	t.Helper()
	code, out, errOut := runCmd(t, args...)
	require.Equal(t, exitOK, code, "%v: %s", args, errOut)
	return out, errOut
}

func stacksJSON(t *testing.T, out string) []stacks.Sample {
	t.Helper()
	var got []stacks.Sample
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.NotEmpty(t, got)
	return got
}

func TestStacksSymbols(t *testing.T) {
	noSymbolEnv(t)
	out, errOut := runSymOK(t, "stacks", "--tag", "Toke", "--format", "json", "--symbols", symPDBDir, symTrace)
	got := stacksJSON(t, out)
	heaviest := got[0]
	assert.EqualValues(t, 6043, heaviest.Count)
	assert.Equal(t, []string{"ntkrnlmp.exe!ExAllocatePoolWithTag", "ntkrnlmp.exe!ObCreateObject", "ntkrnlmp.exe!SepDuplicateToken",
		"ntkrnlmp.exe!NtDuplicateToken", "ntkrnlmp.exe!KiSystemServiceCopyEnd", "ntkrnlmp.exe!ZwDuplicateToken",
		"contosec.sys!CsCloneClientToken", "contosec.sys!CsDispatchDeviceControl", "ntkrnlmp.exe!IofCallDriver"}, heaviest.Frames[:9])
	assert.Contains(t, heaviest.Frames, "lsasrv.dll+0x5f3d1", "user images have no PDB on the path")
	// Only the images the stacks pass through were looked for.
	assert.Contains(t, errOut, "poolprof stacks: symbols: 2 of 7 PDBs found; not found: ")
	assert.Contains(t, errOut, "(see poolprof symbols "+symTrace+")")

	// The same names in the tree and the folded lines.
	out, _ = runSymOK(t, "stacks", "--tag", "Toke", "--symbols", symPDBDir, symTrace)
	assert.Regexp(t, `(?m)^\s+10055552\s+6043\s+ntkrnlmp\.exe!SepDuplicateToken$`, out)
	out, _ = runSymOK(t, "stacks", "--tag", "Toke", "--format", "folded", "--symbols", symPDBDir, symTrace)
	assert.Contains(t, out, ";contosec.sys!CsCloneClientToken;ntkrnlmp.exe!ZwDuplicateToken;ntkrnlmp.exe!KiSystemServiceCopyEnd;ntkrnlmp.exe!NtDuplicateToken;ntkrnlmp.exe!SepDuplicateToken;ntkrnlmp.exe!ObCreateObject;ntkrnlmp.exe!ExAllocatePoolWithTag 10055552\n")
}

// Without a symbol path, with an empty one and with --no-symbols, frames
// are module+0xRVA; the environment gives the default path.
func TestStacksSymbolPathChoice(t *testing.T) {
	noSymbolEnv(t)
	heaviest := func(args ...string) (string, string) {
		t.Helper()
		out, errOut := runSymOK(t, append(append([]string{"stacks", "--tag", "Toke", "--format", "json"}, args...), symTrace)...)
		return stacksJSON(t, out)[0].Frames[2], errOut
	}
	plain := "ntkrnlmp.exe+0x5a3b10"
	named := "ntkrnlmp.exe!SepDuplicateToken"
	f, errOut := heaviest()
	assert.Equal(t, plain, f)
	assert.NotContains(t, errOut, "symbols:", "no symbol path, no lookup, no warning")
	f, _ = heaviest("--no-symbols", "--symbols", symPDBDir)
	assert.Equal(t, plain, f)

	t.Setenv("_NT_SYMBOL_PATH", symPDBDir)
	f, _ = heaviest()
	assert.Equal(t, named, f, "the default comes from _NT_SYMBOL_PATH")
	f, _ = heaviest("--no-symbols")
	assert.Equal(t, plain, f)
	f, _ = heaviest("--symbols", "")
	assert.Equal(t, plain, f, "an empty --symbols overrides the environment")
	t.Setenv("_NT_SYMBOL_PATH", "")
	t.Setenv("_NT_ALT_SYMBOL_PATH", symPDBDir)
	f, _ = heaviest("--offline")
	assert.Equal(t, named, f)

	t.Setenv("_NT_ALT_SYMBOL_PATH", "cache*a*b")
	f, errOut = heaviest()
	assert.Equal(t, plain, f)
	assert.Contains(t, errOut, "warning: ignoring _NT_ALT_SYMBOL_PATH/_NT_SYMBOL_PATH")

	for _, cmd := range [][]string{{"stacks"}, {"pprof", "-o", filepath.Join(t.TempDir(), "x.pb.gz")}, {"symbols"}} {
		code, out, errOut := runCmd(t, append(cmd, "--symbols", "cache*a*b", symTrace)...)
		assert.Equal(t, exitUsage, code, cmd)
		assert.Empty(t, out)
		assert.Contains(t, errOut, "--symbols: symbol path element", cmd)
	}
}

// profileOf writes the example's profile with args and parses it.
func profileOf(t *testing.T, args ...string) *profile.Profile {
	t.Helper()
	name := filepath.Join(t.TempDir(), "toke.pb.gz")
	runSymOK(t, append(append([]string{"pprof", "-o", name}, args...), symTrace)...)
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	p, err := profile.Parse(bytes.NewReader(b))
	require.NoError(t, err)
	return p
}

func TestPprofSymbols(t *testing.T) {
	noSymbolEnv(t)
	p := profileOf(t, "--symbols", symPDBDir)
	fn := map[string]*profile.Function{}
	for _, f := range p.Function {
		fn[f.Name] = f
	}
	sep := fn["ntkrnlmp.exe!SepDuplicateToken"]
	require.NotNil(t, sep, "no function ntkrnlmp.exe!SepDuplicateToken")
	assert.Equal(t, "SepDuplicateToken", sep.SystemName)
	assert.Equal(t, `C:\src\src\ntkrnlmp.c`, sep.Filename)
	assert.NotNil(t, fn["contosec.sys!CsCloneClientToken"])
	assert.NotNil(t, fn["ntdll.dll+0x9d2f4"], "unsymbolized frames keep module+0xRVA")

	var nt, ntdll *profile.Mapping
	for _, m := range p.Mapping {
		switch m.File {
		case `\SystemRoot\system32\ntoskrnl.exe`:
			nt = m
		case `\Device\HarddiskVolume3\Windows\System32\ntdll.dll`:
			ntdll = m
		}
	}
	require.NotNil(t, nt)
	require.NotNil(t, ntdll)
	assert.True(t, nt.HasFunctions, "every ntkrnlmp.exe frame is named")
	assert.True(t, nt.HasFilenames)
	assert.True(t, nt.HasLineNumbers)
	assert.False(t, ntdll.HasFunctions, "no PDB for ntdll.dll")
	assert.Equal(t, "26C67E5BB87F2FDF4C4C44205044422E1", nt.BuildID)

	// The frame of the story, with its source line.
	var loc *profile.Location
	for _, l := range p.Location {
		if l.Mapping == nt && l.Address == tokeleak.NtoskrnlBase+tokeleak.SepDuplicateTokenRVA {
			loc = l
		}
	}
	require.NotNil(t, loc)
	require.Len(t, loc.Line, 1)
	assert.Same(t, sep, loc.Line[0].Function)
	assert.Positive(t, loc.Line[0].Line)

	// The allocator is named, so the named pattern alone hides it.
	assert.Equal(t, pprof.AllocatorFrames, p.DropFrames)
	assert.Regexp(t, "^("+p.DropFrames+")$", "ntkrnlmp.exe!ExAllocatePoolWithTag")

	// Without symbols nothing claims functions and the unnamed allocator
	// frame is hidden by address.
	p = profileOf(t, "--no-symbols")
	for _, m := range p.Mapping {
		assert.False(t, m.HasFunctions, m.File)
	}
	assert.Contains(t, p.DropFrames, `ntkrnlmp\.exe\+0x36f1b4`)
}

// go tool pprof -top ranks the function that asked for the memory, named,
// first; the allocator is hidden.
func TestPprofSymbolsTool(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go tool pprof")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	noSymbolEnv(t)
	dir := t.TempDir()
	name := filepath.Join(dir, "toke.pb.gz")
	runSymOK(t, "pprof", "-o", name, "--symbols", symPDBDir, symTrace)
	cmd := exec.Command(goBin, "tool", "pprof", "-top", "-inuse_space", "-unit=B", name)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PPROF_BINARY_PATH="+dir, "PPROF_TMPDIR="+dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	out := stdout.String()
	t.Logf("go tool pprof -top:\n%s", out)
	assert.NotContains(t, stderr.String(), "ntoskrnl.exe", "pprof does not try to symbolize ntkrnlmp.exe itself")

	_, rows, ok := strings.Cut(out, "flat%")
	require.True(t, ok, out)
	lines := strings.Split(strings.TrimSpace(rows), "\n")[1:]
	require.NotEmpty(t, lines)
	first := regexp.MustCompile(`\s(\S+)$`).FindStringSubmatch(lines[0])
	require.NotNil(t, first, lines[0])
	assert.Equal(t, "ntkrnlmp.exe!ObCreateObject", first[1], "the token body's allocation, named, leads")
	assert.NotContains(t, out, "ExAllocatePoolWithTag", "the allocator is dropped")
	assert.Contains(t, out, "ntkrnlmp.exe!SepDuplicateToken")
}

// symbolsReport is the JSON form of poolprof symbols, as far as the tests
// read it.
type symbolsReport struct {
	SymbolPath string `json:"symbol_path"`
	Images     []struct {
		Image   string `json:"image"`
		Kernel  bool   `json:"kernel"`
		PID     uint32 `json:"pid"`
		Process string `json:"process"`
		Base    string `json:"base"`
		Size    string `json:"size"`
		PDB     *struct {
			Name string `json:"name"`
			GUID string `json:"guid"`
			Age  uint32 `json:"age"`
			Key  string `json:"key"`
		} `json:"pdb"`
		Status string `json:"status"`
		File   string `json:"file"`
		Source string `json:"source"`
		Error  string `json:"error"`
		Tried  []struct {
			Element string `json:"element"`
			Where   string `json:"where"`
			Outcome string `json:"outcome"`
			Got     string `json:"got"`
			Note    string `json:"note"`
		} `json:"tried"`
	} `json:"images"`
}

func symbolsJSONOf(t *testing.T, args ...string) symbolsReport {
	t.Helper()
	out, _ := runSymOK(t, append(append([]string{"symbols", "--format", "json"}, args...), symTrace)...)
	var r symbolsReport
	require.NoError(t, json.Unmarshal([]byte(out), &r), out)
	return r
}

func TestSymbolsCommand(t *testing.T) {
	noSymbolEnv(t)
	out, errOut := runSymOK(t, "symbols", "--symbols", symPDBDir, symTrace)
	t.Logf("poolprof symbols:\n%s", out)
	assert.NotContains(t, errOut, "symbols:")
	assert.Contains(t, out, "Symbol path: "+symPDBDir+"\n")
	assert.Regexp(t, `(?m)^ntkrnlmp\.exe\s+kernel\s+0xfffff80412a00000\s+0x1047000\s+ntkrnlmp\.pdb\s+26C67E5B-B87F-2FDF-4C4C-44205044422E\s+1\s+found\s+`+
		regexp.QuoteMeta(filepath.Join(symPDBDir, "ntkrnlmp.pdb"))+`\s+`+regexp.QuoteMeta(symPDBDir)+`$`, out)
	assert.Regexp(t, `(?m)^contosec\.sys\s+kernel\s.*\sfound\s`, out)
	assert.Regexp(t, `(?m)^lsass\.exe\s+lsass\.exe \(712\)\s+0x7ff74c2d0000\s+0x14000\s+lsass\.pdb\s.*\snot found\s+-\s+-$`, out)
	assert.Regexp(t, `(?m)^NETIO\.SYS\s+kernel\s.*\sno identity\s`, out)
	assert.Contains(t, out, "\nlsass.exe in lsass.exe (712): PDB not found: lsass.pdb 8F1B3D4E6A8C4E0D8F4B6C8D0E2F4A6B1 (2 places looked at)\n"+
		"\tnot found: "+filepath.Join(symPDBDir, "lsass.pdb")+"\n"+
		"\tnot found: "+filepath.Join(symPDBDir, "lsass.pdb", "8F1B3D4E6A8C4E0D8F4B6C8D0E2F4A6B1")+": no such directory\n")
	assert.Contains(t, out, "\nNETIO.SYS (kernel): the trace has no DbgID_RSDS event for it\n")
	assert.Equal(t, 1, strings.Count(out, "ntdll.dll in "), "a PDB shared by two processes is explained once")

	r := symbolsJSONOf(t, "--symbols", symPDBDir)
	assert.Equal(t, symPDBDir, r.SymbolPath)
	require.Len(t, r.Images, 23)
	byName := map[string]int{}
	for i, im := range r.Images {
		if _, ok := byName[im.Image]; !ok {
			byName[im.Image] = i
		}
	}
	nt := r.Images[byName["ntkrnlmp.exe"]]
	assert.True(t, nt.Kernel)
	assert.Equal(t, "0xfffff80412a00000", nt.Base)
	assert.Equal(t, "0x1047000", nt.Size)
	require.NotNil(t, nt.PDB)
	assert.Equal(t, "ntkrnlmp.pdb", nt.PDB.Name)
	assert.Equal(t, "26C67E5B-B87F-2FDF-4C4C-44205044422E", nt.PDB.GUID)
	assert.Equal(t, "26C67E5BB87F2FDF4C4C44205044422E1", nt.PDB.Key)
	assert.EqualValues(t, 1, nt.PDB.Age)
	assert.Equal(t, "found", nt.Status)
	assert.Equal(t, filepath.Join(symPDBDir, "ntkrnlmp.pdb"), nt.File)
	assert.Equal(t, symPDBDir, nt.Source)
	require.Len(t, nt.Tried, 1)
	assert.Equal(t, "found", nt.Tried[0].Outcome)

	lsass := r.Images[byName["lsass.exe"]]
	assert.False(t, lsass.Kernel)
	assert.Equal(t, "lsass.exe (712)", lsass.Process)
	assert.Equal(t, "not found", lsass.Status)
	assert.Contains(t, lsass.Error, "PDB not found: lsass.pdb")
	require.Len(t, lsass.Tried, 2)
	assert.Equal(t, "not found", lsass.Tried[0].Outcome)
	assert.Equal(t, symPDBDir, lsass.Tried[0].Element)

	netio := r.Images[byName["NETIO.SYS"]]
	assert.Nil(t, netio.PDB)
	assert.Equal(t, "no identity", netio.Status)
	assert.Empty(t, netio.Tried)

	// No symbol path: nothing found, and the report says why.
	r = symbolsJSONOf(t)
	assert.Empty(t, r.SymbolPath)
	assert.Contains(t, r.Images[byName["ntkrnlmp.exe"]].Error, "the symbol path is empty")
	out, _ = runSymOK(t, "symbols", symTrace)
	assert.Contains(t, out, "Symbol path: (empty: give --symbols PATH or set _NT_SYMBOL_PATH)")
}

// --offline skips the symbol servers of the path and says so; stores are
// still searched.
func TestSymbolsOffline(t *testing.T) {
	noSymbolEnv(t)
	cache := t.TempDir()
	path := symPDBDir + ";srv*" + cache + "*http://127.0.0.1:9/symbols"
	r := symbolsJSONOf(t, "--offline", "--symbols", path)
	for _, im := range r.Images {
		switch {
		case im.PDB == nil:
		case im.Image == "ntkrnlmp.exe" || im.Image == "contosec.sys":
			assert.Equal(t, "found", im.Status, im.Image)
		default:
			assert.Equal(t, "not found", im.Status, im.Image)
			last := im.Tried[len(im.Tried)-1]
			assert.Equal(t, "skipped", last.Outcome, im.Image)
			assert.Equal(t, "http://127.0.0.1:9/symbols", last.Where)
			assert.Contains(t, last.Note, "offline")
		}
	}
}

// A PDB of the right name but another identity is reported as a
// mismatch and never used.
func TestSymbolsMismatch(t *testing.T) {
	noSymbolEnv(t)
	dir := t.TempDir()
	wrong, err := os.ReadFile(filepath.Join(symPDBDir, "x64-full.pdb"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ntkrnlmp.pdb"), wrong, 0o644))
	right, err := os.ReadFile(filepath.Join(symPDBDir, "contosec.pdb"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "contosec.pdb"), right, 0o644))

	r := symbolsJSONOf(t, "--symbols", dir)
	for _, im := range r.Images {
		switch im.Image {
		case "ntkrnlmp.exe":
			assert.Equal(t, "mismatch", im.Status)
			assert.Empty(t, im.File)
			require.NotEmpty(t, im.Tried)
			assert.Equal(t, "mismatch", im.Tried[0].Outcome)
			assert.Equal(t, filepath.Join(dir, "ntkrnlmp.pdb"), im.Tried[0].Where)
			assert.Equal(t, "A5536410-56CC-CAB8-4C4C-44205044422E age 1", im.Tried[0].Got, "x64-full.pdb's identity")
			assert.Contains(t, im.Error, "1 mismatch")
		case "contosec.sys":
			assert.Equal(t, "found", im.Status)
		}
	}
	out, _ := runSymOK(t, "symbols", "--symbols", dir, symTrace)
	assert.Regexp(t, `(?m)^ntkrnlmp\.exe\s.*\smismatch\s+-\s+-$`, out)
	assert.Contains(t, out, "\tmismatch: "+filepath.Join(dir, "ntkrnlmp.pdb")+": PDB is A5536410-56CC-CAB8-4C4C-44205044422E age 1\n")

	// stacks does not use it.
	out, errOut := runSymOK(t, "stacks", "--tag", "Toke", "--format", "json", "--symbols", dir, symTrace)
	frames := stacksJSON(t, out)[0].Frames
	assert.Equal(t, "ntkrnlmp.exe+0x5a3b10", frames[2])
	assert.Equal(t, "contosec.sys!CsCloneClientToken", frames[6])
	assert.Contains(t, errOut, "ntkrnlmp.pdb: only PDBs of another GUID or age (not used)")
}

// The download line is drawn on a terminal only, and cleared at the end.
func TestDownloadProgress(t *testing.T) {
	var buf bytes.Buffer
	p := newDownloadProgress(&buf)
	assert.False(t, p.enabled, "a buffer is not a terminal")

	p.enabled = true
	p.update(symbols.Progress{Name: "ntkrnlmp.pdb", URL: "u1", Done: 0, Total: 2048})
	p.update(symbols.Progress{Name: "ntdll.pdb", URL: "u2", Done: 10, Total: -1}) // within 100ms: not drawn
	assert.Equal(t, "\r\x1b[Kdownloading ntkrnlmp.pdb 0 B/2.0 KiB 0%", buf.String())
	p.last = time.Time{}
	p.update(symbols.Progress{Name: "ntkrnlmp.pdb", URL: "u1", Done: 2048, Total: 2048, Finished: true})
	assert.Equal(t, "\r\x1b[Kdownloading ntdll.pdb 10 B", strings.TrimPrefix(buf.String(), "\r\x1b[Kdownloading ntkrnlmp.pdb 0 B/2.0 KiB 0%"))
	buf.Reset()
	p.finish()
	assert.Equal(t, "\r\x1b[K", buf.String())
	buf.Reset()
	p.finish()
	assert.Empty(t, buf.String(), "cleared once")
}
