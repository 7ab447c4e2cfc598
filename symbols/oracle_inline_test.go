package symbols

import (
	"debug/pe"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Cross-check of inline frames against llvm-symbolizer (LLVM's native
// PDB reader) when it is installed, at every byte of x64-inline's code.
//
// Function names and nesting must agree everywhere. Lines are compared
// with care for two known behaviours of llvm-symbolizer 14:
//
//   - Inside a range of an inline site's annotations (past its first
//     byte) it reports the line of the site's next range, where there
//     is one: at 0x1009 it puts Hash on line 16, though 0x1008..0x1014
//     is "Sink = x * 31" (line 15) and "return x ^ (x >> 3)" starts at
//     0x1015 (llvm-objdump -d shows it). So where the lines differ,
//     the test checks that the symbolizer's line is that of our next
//     range of the same frame.
//   - For the procedure's own frame it reports the line of a row after
//     the address when no row precedes it; Lookup reports none. Only
//     addresses where Lookup has a line are compared.

// symbolizer returns llvm-symbolizer 14, whose behaviours the comparison
// knows.
func symbolizer(t *testing.T) string { return llvmTool(t, "llvm-symbolizer") }

type oracleFrame struct {
	name string
	line int
}

// symbolize runs llvm-symbolizer on image for rvas and returns each
// address's frames, innermost first.
func symbolize(t *testing.T, tool, image string, rvas []uint32) map[uint32][]oracleFrame {
	var in strings.Builder
	for _, a := range rvas {
		fmt.Fprintf(&in, "%#x\n", a)
	}
	cmd := exec.Command(tool, "--obj="+image, "--inlines", "--relative-address", "--print-address")
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.Output()
	require.NoError(t, err)
	res := map[uint32][]oracleFrame{}
	for _, block := range strings.Split(strings.TrimSpace(string(out)), "\n\n") {
		lines := strings.Split(block, "\n")
		require.Equal(t, 1, len(lines)%2, "%q", block)
		addr := atoi(t, strings.TrimPrefix(lines[0], "0x"), 16)
		var frames []oracleFrame
		for i := 1; i+1 < len(lines); i += 2 {
			loc := lines[i+1] // FILE:LINE:COLUMN, FILE may hold a colon
			loc = loc[:strings.LastIndexByte(loc, ':')]
			n, err := strconv.Atoi(loc[strings.LastIndexByte(loc, ':')+1:])
			require.NoError(t, err, "%q", lines[i+1])
			frames = append(frames, oracleFrame{lines[i], n})
		}
		res[addr] = frames
	}
	require.Len(t, res, len(rvas))
	return res
}

func TestOracleLLVMSymbolizerInline(t *testing.T) {
	tool := symbolizer(t)
	image := filepath.Join(fixtureDir, "x64-inline.exe")
	p := openFixture(t, "x64-inline")

	f, err := pe.Open(image)
	require.NoError(t, err)
	text := f.Section(".text")
	require.NotNil(t, text)
	var rvas []uint32
	for a := text.VirtualAddress; a < text.VirtualAddress+text.VirtualSize; a++ {
		rvas = append(rvas, a)
	}
	f.Close()
	want := symbolize(t, tool, image, rvas)

	// ours returns our frames at rva, innermost first.
	ours := func(rva uint32) []Symbol {
		chain := p.LookupInlined(rva, nil)
		if s, ok := p.Lookup(rva); ok {
			chain = append(chain, s)
		}
		return chain
	}
	var names, lines, linesExplained, outerLines, inlinedAddrs int
	for _, rva := range rvas {
		got, w := ours(rva), want[rva]
		gotNames := make([]string, len(got))
		wantNames := make([]string, len(w))
		for i := range got {
			gotNames[i] = got[i].Name
		}
		for i := range w {
			wantNames[i] = w[i].name
		}
		if !assert.Equal(t, wantNames, gotNames, "names at %#x", rva) {
			continue
		}
		names++
		if len(got) > 1 {
			inlinedAddrs++
		}
		for i, s := range got {
			if s.Kind != Inlined {
				if s.Line != 0 {
					assert.Equal(t, w[i].line, s.Line, "%s's line at %#x", s.Name, rva)
					outerLines++
				}
				continue
			}
			if w[i].line == s.Line {
				lines++
				continue
			}
			// The symbolizer's line must be the next range's, at the
			// same depth (counted from the outermost frame).
			next := ours(s.RVA + s.Size)
			depth := len(got) - 1 - i
			j := len(next) - 1 - depth
			require.True(t, j >= 0 && next[j].Name == s.Name && next[j].Kind == Inlined,
				"%s's line at %#x: symbolizer %d, ours %d, and no next range", s.Name, rva, w[i].line, s.Line)
			assert.Equal(t, w[i].line, next[j].Line, "%s's line at %#x", s.Name, rva)
			assert.NotZero(t, s.Offset, "a difference at the start of a range: %s at %#x", s.Name, rva)
			linesExplained++
		}
	}
	t.Logf("%d addresses: names and nesting agree at %d (%d with inline frames); inline frame lines agree %d times and differ %d times, each by llvm-symbolizer 14 reporting the next range's line; procedure lines agree at all %d addresses that Lookup has a line for",
		len(rvas), names, inlinedAddrs, lines, linesExplained, outerLines)
	assert.Equal(t, len(rvas), names)
	assert.Positive(t, inlinedAddrs)
	assert.Positive(t, lines)
}

var (
	reILProc   = regexp.MustCompile(`^\s+parent = \d+, end = \d+, addr = (\d{4}):(\d{4,}), code size = \d+$`)
	reILSite   = regexp.MustCompile(`^\s+inlinee = (0x[0-9A-F]+) \((.*)\), parent = \d+, end = \d+$`)
	reILCode   = regexp.MustCompile(`^\s+[0-9A-F]+\s+code (end )?0x([0-9A-F]+) \(\+0x[0-9A-F]+\)(?: line (\d+) \([+-]\d+\))?$`)
	reILLine   = regexp.MustCompile(`^\s+[0-9A-F]+\s+line (\d+) \([+-]\d+\)$`)
	reILInline = regexp.MustCompile(`^\s+(0x[0-9A-F]+) \|\s+(\d+) \| (.*) \(`)
)

// llvm-pdbutil decodes the binary annotations itself ("code 0x6 line
// 2"): every range it prints must be one of ours, with the line that
// the inlinee's first line (dump -il) plus the printed offset gives.
func TestOracleLLVMPdbutilInlineSites(t *testing.T) {
	tool := pdbutil(t)
	pdbFile := fixturePath("x64-inline")
	p := openFixture(t, "x64-inline")
	secs := imageSections(t, filepath.Join(fixtureDir, "x64-inline.exe"))

	start := map[string]int{} // inlinee id -> first line
	file := map[string]string{}
	for _, ln := range strings.Split(runPdbutil(t, tool, pdbFile, "dump", "-il"), "\n") {
		if m := reILInline.FindStringSubmatch(ln); m != nil {
			start[strings.ToLower(m[1])] = int(atoi(t, m[2], 10))
			file[strings.ToLower(m[1])] = m[3]
		}
	}
	require.Len(t, start, 3)

	type row struct {
		name, file string
		start, end uint32
		line       int
	}
	var rows []row
	var proc uint32
	var cur row
	var lineOff int
	open := false
	for _, ln := range strings.Split(runPdbutil(t, tool, pdbFile, "dump", "-symbols"), "\n") {
		if m := reILProc.FindStringSubmatch(ln); m != nil {
			proc = secs[atoi(t, m[1], 10)] + atoi(t, m[2], 10)
		} else if m := reILSite.FindStringSubmatch(ln); m != nil {
			id := strings.ToLower(m[1])
			cur = row{name: m[2], file: file[id], line: start[id]}
			lineOff, open = 0, false
		} else if m := reILLine.FindStringSubmatch(ln); m != nil {
			lineOff = int(atoi(t, m[1], 10))
		} else if m := reILCode.FindStringSubmatch(ln); m != nil {
			at := proc + atoi(t, m[2], 16)
			if open {
				rows[len(rows)-1].end = at
			}
			open = m[1] == ""
			if m[3] != "" {
				lineOff = int(atoi(t, m[3], 10))
			}
			if open {
				r := cur
				r.start, r.line = at, cur.line+lineOff
				rows = append(rows, r)
			}
		}
	}
	require.Len(t, rows, 7)
	for _, r := range rows {
		require.Less(t, r.start, r.end, "%+v", r)
		for a := r.start; a < r.end; a++ {
			found := false
			for _, s := range p.LookupInlined(a, nil) {
				if s.Name == r.name {
					found = true
					assert.Equal(t, fmt.Sprintf("%#x+%#x %s:%d", r.start, r.end-r.start, r.file, r.line),
						fmt.Sprintf("%#x+%#x %s:%d", s.RVA, s.Size, s.File, s.Line), "%s at %#x", r.name, a)
				}
			}
			assert.True(t, found, "%s at %#x", r.name, a)
		}
	}
}
