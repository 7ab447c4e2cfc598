// Package corpus locates the real ETL files the tests read: the shared
// test data that CI lays beside the checkout (shared/testdata/etl), with
// the reference dumps of an independent parser next to each file. Tests
// skip, with a message saying where the files were looked for, when the
// folder is absent, so the project's own tests pass on a fresh machine.
package corpus

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// Dir returns the corpus folder: shared/testdata/etl beside the module's
// root, found from the working directory (a test runs in its package's
// folder), or "" when there is no module root above it.
func Dir() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "testdata", "etl")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Path returns the corpus file rel (e.g. "perfview/smallEtlFile.etl"), or
// skips the test when it is absent.
func Path(tb testing.TB, rel string) string {
	tb.Helper()
	p := filepath.Join(Dir(), filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("real ETL corpus file not found (it lives in shared/testdata/etl beside the checkout): %v", err)
	}
	return p
}

// Files returns every .etl file of the corpus, sorted, or skips the test
// when there is none.
func Files(tb testing.TB) []string {
	tb.Helper()
	dir := Dir()
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.etl"))
	if len(files) == 0 {
		tb.Skipf("real ETL corpus not found at %s (it lives in shared/testdata/etl beside the checkout)", dir)
	}
	sort.Strings(files)
	return files
}

// Name returns a corpus file's path relative to the corpus, with slashes.
func Name(path string) string {
	rel, err := filepath.Rel(Dir(), path)
	if err != nil {
		return path
	}
	return filepath.ToSlash(rel)
}

// Dump returns the lines of the reference dump of the corpus file path
// (path.dissect.jsonl.gz), one JSON object per event in file order.
func Dump(tb testing.TB, path string) *bufio.Scanner {
	tb.Helper()
	fh, err := os.Open(path + ".dissect.jsonl.gz")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { fh.Close() })
	zr, err := gzip.NewReader(fh)
	if err != nil {
		tb.Fatalf("%s.dissect.jsonl.gz: %v", path, err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	return sc
}

// Summary is the reference summary of a corpus file
// (path.summary.json): event counts by header kind, by provider and by
// provider, header kind, (id,) opcode and version, and the raw time range.
type Summary struct {
	Events   int64            `json:"events"`
	ByHeader map[string]int64 `json:"by_header_type"`
	ByProv   map[string]int64 `json:"by_provider"`
	ByKey    map[string]int64 `json:"by_provider_header_opcode_version"`
	MinTS    int64            `json:"min_ts_raw"`
	MaxTS    int64            `json:"max_ts_raw"`
}

// ReadSummary reads the reference summary of the corpus file path.
func ReadSummary(tb testing.TB, path string) Summary {
	tb.Helper()
	var s Summary
	b, err := os.ReadFile(path + ".summary.json")
	if err == nil {
		err = json.Unmarshal(b, &s)
	}
	if err != nil {
		tb.Fatalf("%s.summary.json: %v", path, err)
	}
	return s
}
