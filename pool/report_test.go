package pool_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolprof/poolprof/pool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// reportStream is the small example behind the golden files. By hand:
//
//	Toke Paged  3 allocs of 1664, one freed      AIFO 2/3328, AIFI 1/1664
//	Se   Paged  64 freed, 128 outstanding        AIFO 1/128, AIFI 1/64
//	Irp  Nonp   512 outstanding, one unseen free AIFO 1/512, AOFI 1
//	Irp  Paged  100 outstanding                  AIFO 1/100
//	File Nonp   (NX, protected) 256 lost, then
//	            256 again at the same address    AIFO 1/256, lost 1/256
//	\x01a\\b    Nonp 8 outstanding, no stack     AIFO 1/8
func reportStream() []ev {
	return []ev{
		a(1, "Toke", paged, 1664, 0x1000),
		a(2, "Toke", paged, 1664, 0x2000),
		a(3, "Se  ", paged, 64, 0x3000),
		f(4, "Se  ", paged, 0x3000),
		a(5, "Irp ", nonpaged, 512, 0x4000),
		a(6, `File`, nx, 256, 0x5000),
		a(12, "Toke", paged, 1664, 0x6000),
		f(13, "Toke", paged, 0x2000),
		f(14, "Irp ", nonpaged, 0x9000),
		a(15, `File`, nx, 256, 0x5000),
		a(16, "Irp ", paged, 100, 0x7000),
		a(21, "Se  ", paged, 128, 0x8000),
		a(22, `\x01a\\b`, nonpaged, 8, 0xA000).withStack(0),
		f(25, "Zzzz", paged, 0xB000).withOp(0),
	}
}

func reportResult(t *testing.T, opts pool.Options) *pool.Result {
	tr := pool.NewTracker(opts)
	for _, e := range reportStream() {
		pe := e.event(t)
		if pool.TagString(pe.Tag) == "File" {
			pe.Tag |= protectedTag
		}
		tr.Add(&pe)
	}
	r := tr.Finish()
	checkIdentities(t, r)
	return r
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./pool -run %s -update", t.Name())
	assert.Equal(t, string(want), string(got))
}

func TestReportCounts(t *testing.T) {
	r := reportResult(t, pool.Options{})
	assert.Equal(t, counts(2, 3328, 1, 1664, 0, 0, 0, 0, 0, 0), row(t, r, "Toke", true))
	assert.Equal(t, counts(1, 128, 1, 64, 0, 0, 0, 0, 0, 0), row(t, r, "Se  ", true))
	assert.Equal(t, counts(1, 512, 0, 0, 1, 0, 0, 0, 0, 0), row(t, r, "Irp ", false))
	assert.Equal(t, counts(1, 100, 0, 0, 0, 0, 0, 0, 0, 0), row(t, r, "Irp ", true))
	assert.Equal(t, counts(1, 256, 0, 0, 0, 0, 0, 0, 1, 256), row(t, r, "File", false))
	assert.Equal(t, counts(1, 8, 0, 0, 0, 0, 0, 0, 0, 0), row(t, r, `\x01a\\b`, false))
	assert.Equal(t, counts(7, 4332, 2, 1728, 1, 0, 0, 0, 1, 256), r.Totals)
	assert.Equal(t, uint64(1), r.Health.FreesWithoutAlloc)
	assert.Equal(t, uint64(1), r.Health.LostFrees)
	assert.Equal(t, uint64(1), r.Health.AllocsWithoutStack)
	assert.Equal(t, uint64(1), r.Health.Ignored)
}

func TestWriteJSON(t *testing.T) {
	r := reportResult(t, pool.Options{})
	var buf bytes.Buffer
	require.NoError(t, pool.WriteJSON(&buf, r, pool.ReportOptions{}))
	golden(t, "summary.json", buf.Bytes())

	// The contract: three top-level keys, and each row starts with the
	// keys design.md lists, in that order.
	var top map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(buf.Bytes(), &top))
	assert.ElementsMatch(t, []string{"rows", "totals", "health"}, keys(top))
	var rows []json.RawMessage
	require.NoError(t, json.Unmarshal(top["rows"], &rows))
	require.NotEmpty(t, rows)
	contract := []string{"tag", "paged", "allocs", "frees", "aifo_count", "aifo_bytes", "aifi_count", "aifi_bytes", "aofi_count", "lost_frees"}
	for _, raw := range rows {
		order := keyOrder(t, raw)
		require.GreaterOrEqual(t, len(order), len(contract))
		assert.Equal(t, contract, order[:len(contract)])
	}
	var health map[string]uint64
	require.NoError(t, json.Unmarshal(top["health"], &health))
	assert.Equal(t, uint64(1), health["frees_without_alloc"])
	assert.Equal(t, uint64(1), health["lost_frees"])
	assert.Equal(t, uint64(1), health["allocs_without_stack"])

	// An empty result still has a rows array.
	buf.Reset()
	require.NoError(t, pool.WriteJSON(&buf, pool.NewTracker(pool.Options{}).Finish(), pool.ReportOptions{}))
	assert.Contains(t, buf.String(), `"rows": []`)
}

func keys(m map[string]json.RawMessage) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// keyOrder returns the keys of a JSON object in document order.
func keyOrder(t *testing.T, raw json.RawMessage) []string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok)
	var order []string
	for dec.More() {
		tok, err := dec.Token()
		require.NoError(t, err)
		order = append(order, tok.(string))
		var v json.RawMessage
		require.NoError(t, dec.Decode(&v))
	}
	return order
}

func TestWriteCSV(t *testing.T) {
	r := reportResult(t, pool.Options{})
	var buf bytes.Buffer
	require.NoError(t, pool.WriteCSV(&buf, r, pool.ReportOptions{}))
	golden(t, "summary.csv", buf.Bytes())

	buf.Reset()
	require.NoError(t, pool.WriteCSV(&buf, r, pool.ReportOptions{Sort: pool.SortTag, Top: 2}))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 3)
	assert.True(t, strings.HasPrefix(lines[1], `\x01a\\b,false,`), lines[1])
	assert.True(t, strings.HasPrefix(lines[2], "File,false,"), lines[2])
}

func TestWriteText(t *testing.T) {
	r := reportResult(t, pool.Options{})
	var buf bytes.Buffer
	require.NoError(t, pool.WriteText(&buf, r, pool.ReportOptions{}))
	golden(t, "summary.txt", buf.Bytes())

	buf.Reset()
	require.NoError(t, pool.WriteText(&buf, r, pool.ReportOptions{Sort: pool.SortAllocs, Top: 3}))
	golden(t, "summary_top3_allocs.txt", buf.Bytes())

	// A window narrower than the trace adds the AOFO columns.
	buf.Reset()
	r = reportResult(t, pool.Options{Window: pool.Between(10, 20)})
	require.NoError(t, pool.WriteText(&buf, r, pool.ReportOptions{}))
	golden(t, "summary_window.txt", buf.Bytes())
}

func TestWriteSeriesCSV(t *testing.T) {
	r := reportResult(t, pool.Options{Series: pool.SeriesOptions{Width: 10}})
	var buf bytes.Buffer
	require.NoError(t, pool.WriteSeriesCSV(&buf, r.Series, nil))
	golden(t, "series.csv", buf.Bytes())
}

func TestSortRows(t *testing.T) {
	r := reportResult(t, pool.Options{})
	order := func(k pool.SortKey) []string {
		rows := append([]pool.Row(nil), r.Rows...)
		pool.SortRows(rows, k)
		var s []string
		for _, row := range rows {
			s = append(s, pool.TagString(row.Tag)+"/"+pool.PagedString(row.Paged))
		}
		return s
	}
	assert.Equal(t, []string{"Toke/Paged", "Irp /Nonp", "File/Nonp", "Se  /Paged", "Irp /Paged", `\x01a\\b/Nonp`}, order(pool.SortBytes))
	assert.Equal(t, order(pool.SortBytes), func() []string {
		var s []string
		for _, row := range r.Rows {
			s = append(s, pool.TagString(row.Tag)+"/"+pool.PagedString(row.Paged))
		}
		return s
	}(), "Finish sorts by bytes")
	assert.Equal(t, []string{`\x01a\\b/Nonp`, "File/Nonp", "Irp /Nonp", "Irp /Paged", "Se  /Paged", "Toke/Paged"}, order(pool.SortTag))
	assert.Equal(t, []string{"Toke/Paged", "File/Nonp", "Se  /Paged", `\x01a\\b/Nonp`, "Irp /Nonp", "Irp /Paged"}, order(pool.SortAllocs))

	for _, name := range []string{"bytes", "count", "outstanding", "allocs", "frees", "diff", "per-alloc", "aifo-bytes", "aifi-bytes", "tag", "b", "t"} {
		k, err := pool.ParseSortKey(name)
		require.NoError(t, err, name)
		if len(name) > 1 && name != "count" {
			assert.Equal(t, name, k.String())
		}
	}
	_, err := pool.ParseSortKey("size")
	assert.Error(t, err)
}
