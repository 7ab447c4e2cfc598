package symbols

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzCleanPDBName: a name that passes is one path element that stays
// in the directory it is joined to, on POSIX and on Windows.
func FuzzCleanPDBName(f *testing.F) {
	for _, s := range []string{"ntkrnlmp.pdb", `d:\b\x.pdb`, "..", `a\..\..`, "a:b", "con.pdb", "x\x00y", "é.pdb", ". .", "..."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		name, err := CleanPDBName(raw)
		if err != nil {
			return
		}
		if name == "" || strings.ContainsAny(name, "/\\:\x00") || name == "." || name == ".." || len(name) > maxPDBNameLen {
			t.Fatalf("CleanPDBName(%q) = %q", raw, name)
		}
		dir := filepath.FromSlash("/cache/store")
		if p := filepath.Join(dir, name, "KEY", name); !strings.HasPrefix(p, dir+string(filepath.Separator)) ||
			filepath.Dir(filepath.Dir(filepath.Dir(p))) != dir {
			t.Fatalf("CleanPDBName(%q) = %q leaves the store: %s", raw, name, p)
		}
		_ = compressedName(name)
		_ = twoTierPrefix(name)
	})
}

// FuzzParseSymbolPath: no panics, and every element has a kind.
func FuzzParseSymbolPath(f *testing.F) {
	for _, s := range []string{"srv*c*https://a/b", "cache*;x", "symsrv*symsrv.dll*c*http://h", "srv**", "*", ";;", "srv*a*http://x*b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseSymbolPath(s, "linux")
		if err != nil {
			return
		}
		for _, e := range p.Elements {
			if e.Kind == 0 || e.Raw == "" {
				t.Fatalf("%q: bad element %+v", s, e)
			}
		}
	})
}

// FuzzExpandCab: no panics, and output within the limit.
func FuzzExpandCab(f *testing.F) {
	if b, err := os.ReadFile(gcabFixture); err == nil {
		f.Add(b)
	}
	f.Add(makeCab(f, "a.pdb", bytes.Repeat([]byte("abc"), 20000), cabOpts{comp: cabCompMSZIP, block: 1000}))
	f.Add(makeCab(f, "a.pdb", []byte("stored"), cabOpts{comp: cabCompNone}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var out bytes.Buffer
		_, n, _ := expandCab(bytes.NewReader(b), int64(len(b)), 1<<20, &out)
		if n != int64(out.Len()) || n > 1<<20 {
			t.Fatalf("n %d, wrote %d", n, out.Len())
		}
	})
}
