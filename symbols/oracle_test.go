package symbols

import (
	"debug/pe"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Cross-checks against llvm-pdbutil (LLVM's PDB reader) when it is
// installed: identity, publics, procedures and line rows of every
// fixture must agree with its dumps. Addresses are turned into RVAs with
// the section headers of the image (read with debug/pe), not with this
// package's own section table.

// pdbutil returns llvm-pdbutil 14, whose dump format the parsers here
// read; another version is skipped rather than misread.
func pdbutil(t *testing.T) string {
	return llvmTool(t, "llvm-pdbutil")
}

// llvmTool returns the path of an LLVM 14 tool (name-14, else name when
// it reports version 14), or skips the test.
func llvmTool(t *testing.T, name string) string {
	t.Helper()
	for _, n := range []string{name + "-14", name} {
		p, err := exec.LookPath(n)
		if err != nil {
			continue
		}
		out, err := exec.Command(p, "--version").Output()
		if err == nil && strings.Contains(string(out), "LLVM version 14.") {
			return p
		}
	}
	t.Skipf("%s from LLVM 14 not installed (Debian: apt-get install llvm-14)", name)
	return ""
}

func runPdbutil(t *testing.T, tool, pdb string, args ...string) string {
	t.Helper()
	out, err := exec.Command(tool, append(args, pdb)...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return string(out)
}

// imageSections returns the VirtualAddress of each section (1-based
// segment numbers index it from 1).
func imageSections(t *testing.T, image string) []uint32 {
	f, err := pe.Open(image)
	require.NoError(t, err)
	defer f.Close()
	va := []uint32{0}
	for _, s := range f.Sections {
		va = append(va, s.VirtualAddress)
	}
	return va
}

var (
	reYAMLAge   = regexp.MustCompile(`(?m)^(PdbStream|DbiStream):\n(?:  .*\n)*?  Age:\s+(\d+)`)
	reYAMLGUID  = regexp.MustCompile(`Guid:\s+'\{([0-9A-F-]+)\}'`)
	reBlockSize = regexp.MustCompile(`BlockSize:\s+(\d+)`)
	rePub       = regexp.MustCompile("S_PUB32 \\[size = \\d+\\] `(.*)`\\n\\s+flags = [^\\n]*addr = (\\d{4}):(\\d{4,})")
	reProc      = regexp.MustCompile("S_[GL]PROC32(?:_ID)? \\[size = \\d+\\] `(.*)`\\n\\s+parent = \\d+, end = \\d+, addr = (\\d{4}):(\\d{4,}), code size = (\\d+)")
	reLineFile  = regexp.MustCompile(`^(\S.*) \((?:MD5|SHA1|SHA256|None).*\)$`)
	reLineBlock = regexp.MustCompile(`^\s+(\d{4}):([0-9A-F]{8})-([0-9A-F]{8}), line/(?:column/)?addr entries = \d+$`)
	reLineRow   = regexp.MustCompile(`(\d+) ([0-9A-F]{8}) [! ]`)
)

func atoi(t *testing.T, s string, base int) uint32 {
	v, err := strconv.ParseUint(s, base, 32)
	require.NoError(t, err)
	return uint32(v)
}

var oracleImages = map[string]string{
	"x64-full": "x64-full.exe", "x64-publics": "x64-publics.exe", "x64-page8k": "x64-page8k.exe",
	"x86-full": "x86-full.exe", "big": "big.sys", "x64-inline": "x64-inline.exe",
}

func TestOracleLLVMPdbutil(t *testing.T) {
	tool := pdbutil(t)
	for _, name := range fixtureNames {
		t.Run(name, func(t *testing.T) {
			pdbFile := fixturePath(name)
			p := openFixture(t, name)
			secs := imageSections(t, filepath.Join(fixtureDir, oracleImages[name]))
			rva := func(seg, off string) uint32 { return secs[atoi(t, seg, 10)] + atoi(t, off, 10) }

			y := runPdbutil(t, tool, pdbFile, "pdb2yaml", "-pdb-stream", "-dbi-stream")
			ages := reYAMLAge.FindAllStringSubmatch(y, -1)
			require.Len(t, ages, 2, y)
			assert.Equal(t, "PdbStream", ages[0][1])
			assert.Equal(t, ages[0][2], strconv.Itoa(int(p.InfoAge())), "info age")
			assert.Equal(t, "DbiStream", ages[1][1])
			assert.Equal(t, ages[1][2], strconv.Itoa(int(p.Age())), "DBI age")
			assert.Equal(t, reYAMLGUID.FindStringSubmatch(y)[1], p.GUID().String())
			assert.Equal(t, reBlockSize.FindStringSubmatch(y)[1], strconv.Itoa(p.BlockSize()))

			// Publics.
			var want, got []string
			for _, m := range rePub.FindAllStringSubmatch(runPdbutil(t, tool, pdbFile, "dump", "-publics"), -1) {
				want = append(want, fmt.Sprintf("%#x %s", rva(m[2], m[3]), m[1]))
			}
			for s := range p.Publics() {
				got = append(got, fmt.Sprintf("%#x %s", s.RVA, s.Name))
			}
			assert.NotEmpty(t, want)
			assert.ElementsMatch(t, want, got, "publics")

			// Procedures.
			want, got = nil, nil
			for _, m := range reProc.FindAllStringSubmatch(runPdbutil(t, tool, pdbFile, "dump", "-symbols"), -1) {
				want = append(want, fmt.Sprintf("%#x %s %s", rva(m[2], m[3]), m[4], m[1]))
			}
			for s := range p.Procedures() {
				got = append(got, fmt.Sprintf("%#x %d %s", s.RVA, s.Size, s.Name))
			}
			assert.ElementsMatch(t, want, got, "procedures")
			for s := range p.Procedures() {
				l, ok := p.Lookup(s.RVA)
				require.True(t, ok)
				assert.Equal(t, s.RVA, l.RVA)
				assert.Equal(t, Procedure, l.Kind)
			}

			// Line rows: every row's address resolves to the row's
			// file and line (the first row, where several share one
			// address), and the end of each block to no line unless
			// another block starts there.
			lines := runPdbutil(t, tool, pdbFile, "dump", "-l")
			first := map[uint32]string{}
			ends := map[uint32]bool{}
			var file string
			var base uint32
			for _, ln := range strings.Split(lines, "\n") {
				if m := reLineFile.FindStringSubmatch(ln); m != nil {
					file = m[1]
					continue
				}
				if m := reLineBlock.FindStringSubmatch(ln); m != nil {
					seg := atoi(t, m[1], 10)
					base = secs[seg]
					ends[base+atoi(t, m[3], 16)] = true
					continue
				}
				if strings.Contains(ln, " ! ") || strings.HasSuffix(ln, " !") {
					for _, m := range reLineRow.FindAllStringSubmatch(ln, -1) {
						a := base + atoi(t, m[2], 16)
						if _, dup := first[a]; !dup {
							first[a] = fmt.Sprintf("%s:%s", file, m[1])
						}
					}
				}
			}
			if p.HasLines() {
				assert.NotEmpty(t, first)
			}
			for a, w := range first {
				s, ok := p.Lookup(a)
				require.True(t, ok, "%#x", a)
				assert.Equal(t, w, fmt.Sprintf("%s:%d", s.File, s.Line), "line at %#x", a)
			}
			for a := range ends {
				if _, ok := first[a]; ok {
					continue
				}
				s, _ := p.Lookup(a)
				assert.Zero(t, s.Line, "line at block end %#x", a)
			}
		})
	}
}

// Files re-packed by the test writer (other block sizes, scrambled
// blocks, OMAP streams) must be readable by llvm-pdbutil too, and dump
// the same symbols as the originals: that checks the writer that the
// block-size and OMAP tests rely on.
func TestOracleRepacked(t *testing.T) {
	tool := pdbutil(t)
	dir := t.TempDir()
	dump := func(file string) string {
		return runPdbutil(t, tool, file, "dump", "-publics", "-symbols", "-l", "-modules", "-section-headers")
	}
	want := dump(fixturePath("x64-full"))
	streams := fixtureStreams(t, "x64-full")
	for _, bs := range []int{512, 32768} {
		b, _ := testMSF{blockSize: bs, streams: streams, scramble: true}.write(t)
		f := filepath.Join(dir, fmt.Sprintf("bs%d.pdb", bs))
		require.NoError(t, os.WriteFile(f, b, 0o644))
		assert.Equal(t, want, dump(f), "block size %d", bs)
		y := runPdbutil(t, tool, f, "pdb2yaml")
		assert.Equal(t, strconv.Itoa(bs), reBlockSize.FindStringSubmatch(y)[1])
	}
	f := filepath.Join(dir, "omap.pdb")
	require.NoError(t, os.WriteFile(f, omapFixture(t), 0o644))
	// llvm-pdbutil has no OMAP dump; it must at least read the file and
	// see both sets of section headers.
	out := runPdbutil(t, tool, f, "dump", "-section-headers", "-publics")
	assert.Contains(t, out, "Section Headers")
	assert.Contains(t, out, "Original Section Headers")
	assert.Regexp(t, `(?m)^\s+5000 virtual address$`, out)
}
