package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/pprof/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/internal/corpus"
	"github.com/poolprof/poolprof/internal/tokeleak"
)

// The tests of this file run summary, stacks and pprof on the bundled
// example and compare what they print with tokeleak.Truth: the numbers the
// generator planned, never numbers read back from poolprof's own output.

// exampleTrace is the bundled example, relative to this package.
const exampleTrace = "../../testdata/example/tokeleak.etl"

// exampleTruth is what the committed example holds. internal/tokeleak's
// tests check that the committed file is what Build writes.
var exampleTruth = sync.OnceValues(func() (*tokeleak.Truth, error) {
	return tokeleak.Build(io.Discard, tokeleak.Committed)
})

func truthOf(t *testing.T) *tokeleak.Truth {
	t.Helper()
	truth, err := exampleTruth()
	require.NoError(t, err)
	return truth
}

// runExample runs a command on the example and requires success.
func runExample(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := runCmd(t, append(args, exampleTrace)...)
	require.Equal(t, exitOK, code, "%v: %s", args, errOut)
	return out
}

// exRow is a summary row or the totals: the contract's keys (those of
// tokeleak.Row) and the extra keys a window needs.
type exRow struct {
	tokeleak.Row
	AOFIBytes uint64 `json:"aofi_bytes"`
	AOFOCount uint64 `json:"aofo_count"`
	AOFOBytes uint64 `json:"aofo_bytes"`
}

type exKey struct {
	tag   string
	paged bool
}

// exPaged classifies a logged pool type as design.md says: bit 0 of the
// kernel type (the tracer's big-pool nibble removed) is paged, and NX pool
// is nonpaged whatever the rest.
func exPaged(poolType uint32) bool {
	base := poolType &^ 0xF0000000
	return base&1 != 0 && base&0x200 == 0
}

// exSelect is what a command line selects, for exExpect.
type exSelect struct {
	// from and to bound the window in raw timestamps; 0 leaves a bound
	// open.
	from, to int64
	// pool passes the tag and pool conditions (nil: all).
	pool func(tag string, paged bool) bool
	// alloc passes the size and process conditions of an allocation
	// (nil: all). Set sizeOrPID with it: a free whose allocation was
	// never seen is dropped then, its size and process being unknown.
	alloc     func(a *tokeleak.Allocation) bool
	sizeOrPID bool
	// classes are the lifetime classes kept (nil: all).
	classes []string
}

// exExpect computes the rows and totals of a selection from the truth's
// allocation and free lists, with design.md's definitions: against the
// window [from, to), AIFI is allocated and freed inside, AIFO allocated
// inside and not freed by its end, AOFI freed inside and allocated before
// it (or before the trace: no bytes), AOFO allocated before and still
// outstanding at its end; an allocation closed by a later allocation at its
// address is a lost free if both fall inside.
func exExpect(truth *tokeleak.Truth, sel exSelect) (map[exKey]exRow, exRow) {
	type addrKey struct {
		session bool
		id      uint32
		addr    uint64
	}
	keyOf := func(a *tokeleak.Allocation) addrKey {
		k := addrKey{session: a.Session, addr: a.Addr}
		if a.Session {
			k.id = a.SessionID
		}
		return k
	}
	// A lost free is closed by the next allocation at its address.
	closedAt := map[int]int64{}
	for i := range truth.Allocations {
		a := &truth.Allocations[i]
		if a.Lifetime != tokeleak.LostFree {
			continue
		}
		for j := i + 1; j < len(truth.Allocations); j++ {
			if keyOf(&truth.Allocations[j]) == keyOf(a) {
				closedAt[i] = truth.Allocations[j].Time
				break
			}
		}
	}
	before := func(ts int64) bool { return sel.from != 0 && ts < sel.from }
	atEnd := func(ts int64) bool { return sel.to != 0 && ts >= sel.to }
	kept := func(class string) bool { return sel.classes == nil || slices.Contains(sel.classes, class) }

	rows := map[exKey]*exRow{}
	add := func(tag string, paged bool, class string, size uint64) {
		if !kept(class) {
			return
		}
		k := exKey{tag, paged}
		r := rows[k]
		if r == nil {
			r = &exRow{Row: tokeleak.Row{Tag: tag, Paged: paged}}
			rows[k] = r
		}
		switch class {
		case "AIFO":
			r.Allocs++
			r.AIFOCount++
			r.AIFOBytes += size
		case "AIFI":
			r.Allocs++
			r.Frees++
			r.AIFICount++
			r.AIFIBytes += size
		case "LostFree":
			r.Allocs++
			r.LostFrees++
		case "AOFI":
			r.Frees++
			r.AOFICount++
			r.AOFIBytes += size
		case "AOFO":
			r.AOFOCount++
			r.AOFOBytes += size
		}
	}
	for i := range truth.Allocations {
		a := &truth.Allocations[i]
		tag, paged := tokeleak.TagString(a.Tag), exPaged(a.PoolType)
		if (sel.pool != nil && !sel.pool(tag, paged)) || (sel.alloc != nil && !sel.alloc(a)) || atEnd(a.Time) {
			continue
		}
		end, closed := int64(0), false // when it was freed or replaced
		switch a.Lifetime {
		case tokeleak.AIFI:
			end, closed = a.FreeTime, true
		case tokeleak.LostFree:
			end, closed = closedAt[i]
		}
		closed = closed && !atEnd(end)
		switch {
		case !closed && before(a.Time):
			add(tag, paged, "AOFO", a.Size)
		case !closed:
			add(tag, paged, "AIFO", a.Size)
		case before(end):
			// Allocated and freed before the window: no class.
		case before(a.Time) && a.Lifetime == tokeleak.AIFI:
			add(tag, paged, "AOFI", a.Size)
		case before(a.Time):
			// A lost free of a block from before the window: no row.
		case a.Lifetime == tokeleak.AIFI:
			add(tag, paged, "AIFI", a.Size)
		default:
			add(tag, paged, "LostFree", a.Size)
		}
	}
	for i := range truth.Frees {
		f := &truth.Frees[i]
		tag, paged := tokeleak.TagString(f.Tag), exPaged(f.PoolType)
		if !f.AOFI || sel.sizeOrPID || before(f.Time) || atEnd(f.Time) ||
			(sel.pool != nil && !sel.pool(tag, paged)) {
			continue
		}
		add(tag, paged, "AOFI", 0) // allocated before the trace: no bytes
	}

	out := map[exKey]exRow{}
	var totals exRow
	for k, r := range rows {
		if r.Row == (tokeleak.Row{Tag: k.tag, Paged: k.paged}) && r.AOFOCount == 0 {
			continue
		}
		out[k] = *r
		totals.Allocs += r.Allocs
		totals.Frees += r.Frees
		totals.AIFOCount += r.AIFOCount
		totals.AIFOBytes += r.AIFOBytes
		totals.AIFICount += r.AIFICount
		totals.AIFIBytes += r.AIFIBytes
		totals.AOFICount += r.AOFICount
		totals.LostFrees += r.LostFrees
		totals.AOFIBytes += r.AOFIBytes
		totals.AOFOCount += r.AOFOCount
		totals.AOFOBytes += r.AOFOBytes
	}
	return out, totals
}

// summaryJSONOf runs summary --format json with args and returns its rows
// by key and its totals.
func summaryJSONOf(t *testing.T, args ...string) (map[exKey]exRow, exRow) {
	t.Helper()
	out := runExample(t, append([]string{"summary", "--format", "json"}, args...)...)
	var got struct {
		Rows   []exRow `json:"rows"`
		Totals exRow   `json:"totals"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	rows := map[exKey]exRow{}
	for _, r := range got.Rows {
		k := exKey{r.Tag, r.Paged}
		require.NotContains(t, rows, k, "two rows for %q paged=%v", r.Tag, r.Paged)
		rows[k] = r
	}
	return rows, got.Totals
}

// TestExpectWholeTrace checks the test's own bookkeeping: with the whole
// trace as the window and no filter it gives the generator's rows.
func TestExpectWholeTrace(t *testing.T) {
	truth := truthOf(t)
	rows, totals := exExpect(truth, exSelect{})
	require.Len(t, rows, len(truth.Rows))
	for _, w := range truth.Rows {
		w.TagValue = 0
		assert.Equal(t, exRow{Row: w}, rows[exKey{w.Tag, w.Paged}], w.Tag)
	}
	assert.Equal(t, exRow{Row: truth.Totals}, totals)
}

// TestSummaryJSONExample checks every row and the totals of the bundled
// example against the generator's, and the keys design.md fixes.
func TestSummaryJSONExample(t *testing.T) {
	truth := truthOf(t)
	out := runExample(t, "summary", "--format", "json")

	var shape struct {
		Rows   []map[string]any `json:"rows"`
		Totals map[string]any   `json:"totals"`
		Health map[string]any   `json:"health"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &shape))
	require.NotEmpty(t, shape.Rows)
	for _, k := range []string{"tag", "paged", "allocs", "frees", "aifo_count", "aifo_bytes",
		"aifi_count", "aifi_bytes", "aofi_count", "lost_frees"} {
		for _, r := range shape.Rows {
			assert.Contains(t, r, k, "row %v", r["tag"])
		}
		if k != "tag" && k != "paged" {
			assert.Contains(t, shape.Totals, k)
		}
	}
	assert.NotEmpty(t, shape.Health)

	rows, totals := summaryJSONOf(t)
	require.Len(t, rows, len(truth.Rows))
	for _, w := range truth.Rows {
		got, ok := rows[exKey{w.Tag, w.Paged}]
		if !assert.True(t, ok, "no row %q paged=%v", w.Tag, w.Paged) {
			continue
		}
		w.TagValue = 0
		assert.Equal(t, w, got.Row, "row %q paged=%v", w.Tag, w.Paged)
		assert.Zero(t, got.AOFOCount, w.Tag)
	}
	assert.Equal(t, truth.Totals, totals.Row)

	toke := rows[exKey{tokeleak.TokeTag, true}]
	assert.Equal(t, uint64(6189), toke.AIFOCount, "the story's outstanding Toke allocations")
	planned := tokeleak.DefaultLeaked
	for _, b := range tokeleak.TokeOutstanding {
		planned += b.Count
	}
	assert.Equal(t, uint64(planned), toke.AIFOCount)

	// Rows come sorted by outstanding bytes, Toke first.
	assert.Equal(t, tokeleak.TokeTag, shape.Rows[0]["tag"])
}

func TestSummaryCSVExample(t *testing.T) {
	truth := truthOf(t)
	out := runExample(t, "summary", "--format", "csv")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 1+len(truth.Rows))
	header := recs[0]
	assert.Equal(t, []string{"tag", "paged", "allocs", "frees", "aifo_count", "aifo_bytes",
		"aifi_count", "aifi_bytes", "aofi_count", "lost_frees"}, header[:10])

	w := truth.Row(tokeleak.TokeTag, true)
	require.NotNil(t, w)
	want := map[string]string{
		"tag": "Toke", "paged": "true",
		"allocs": dec(w.Allocs), "frees": dec(w.Frees),
		"aifo_count": dec(w.AIFOCount), "aifo_bytes": dec(w.AIFOBytes),
		"aifi_count": dec(w.AIFICount), "aifi_bytes": dec(w.AIFIBytes),
		"aofi_count": dec(w.AOFICount), "lost_frees": dec(w.LostFrees),
	}
	var found bool
	for _, rec := range recs[1:] {
		require.Len(t, rec, len(header))
		if rec[0] != tokeleak.TokeTag || rec[1] != "true" {
			continue
		}
		found = true
		for i, col := range header {
			if v, ok := want[col]; ok {
				assert.Equal(t, v, rec[i], col)
			}
		}
	}
	assert.True(t, found, "no Toke row in\n%s", out)
	assert.Equal(t, "Toke,true,6253,76,6189,10215712,64,62208,12,0", strings.Join(recs[1][:10], ","),
		"the first row is Toke's, as testdata/example/README.md lists it")
}

// dec prints v in decimal, as the outputs do.
func dec(v uint64) string { return strconv.FormatUint(v, 10) }

// TestSummaryTextExample reads the Toke line of the poolmon-style table by
// its column names.
func TestSummaryTextExample(t *testing.T) {
	truth := truthOf(t)
	out := runExample(t, "summary")
	lines := strings.Split(out, "\n")
	require.True(t, strings.HasPrefix(lines[0], "Tag "), "header: %q", lines[0])
	columns := regexp.MustCompile(`\S+(?: \S+)*`).FindAllString(lines[0], -1)
	var toke []string
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) > 0 && f[0] == tokeleak.TokeTag {
			toke = f
			break
		}
	}
	require.Len(t, toke, len(columns), "Toke line under %q in\n%s", columns, out)
	col := map[string]string{}
	for i, c := range columns {
		col[c] = toke[i]
	}
	w := truth.Row(tokeleak.TokeTag, true)
	assert.Equal(t, "Paged", col["Type"])
	assert.Equal(t, "6189", col["Outstanding"])
	assert.Equal(t, dec(w.AIFOCount), col["Outstanding"])
	assert.Equal(t, dec(w.Allocs), col["Allocs"])
	assert.Equal(t, dec(w.Frees), col["Frees"])
	assert.Equal(t, strconv.FormatInt(int64(w.Allocs)-int64(w.Frees), 10), col["Diff"])
	assert.Equal(t, dec(w.AIFOBytes), col["Bytes"])
	assert.Equal(t, dec(w.AIFOBytes), col["AIFO Bytes"])
	assert.Equal(t, dec(w.AIFICount), col["AIFI"])
	assert.Equal(t, dec(w.AOFICount), col["AOFI"])
	assert.Contains(t, out, "Health:")
}

// TestSummaryFiltersExample runs the shared filters and compares the rows
// with what the truth says they select.
func TestSummaryFiltersExample(t *testing.T) {
	truth := truthOf(t)
	for _, tc := range []struct {
		name string
		args []string
		sel  exSelect
	}{
		{"tag", []string{"--tag", "Toke"}, exSelect{
			pool: func(tag string, _ bool) bool { return tag == "Toke" }}},
		{"exclude-tag", []string{"--exclude-tag", "T*"}, exSelect{
			pool: func(tag string, _ bool) bool { return !strings.HasPrefix(tag, "T") }}},
		{"pool", []string{"--pool", "nonpaged"}, exSelect{
			pool: func(_ string, paged bool) bool { return !paged }}},
		{"size", []string{"--min-size", "1664", "--max-size", "1664"}, exSelect{
			alloc: func(a *tokeleak.Allocation) bool { return a.Size == 1664 }, sizeOrPID: true}},
		{"type", []string{"--type", "AIFI"}, exSelect{classes: []string{"AIFI"}}},
		{"pid", []string{"--pid", strconv.Itoa(tokeleak.PIDLsass)}, exSelect{
			alloc: func(a *tokeleak.Allocation) bool { return a.PID == tokeleak.PIDLsass }, sizeOrPID: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, wantTotals := exExpect(truth, tc.sel)
			require.NotEmpty(t, want)
			got, totals := summaryJSONOf(t, tc.args...)
			assert.Equal(t, want, got)
			assert.Equal(t, wantTotals, totals)
		})
	}

	// The story's numbers, from the generator's own counters.
	got, _ := summaryJSONOf(t, "--tag", "Toke")
	require.Len(t, got, 1)
	assert.Equal(t, *truth.Row("Toke", true), withTagValue(got[exKey{"Toke", true}].Row, tokeleak.TagToke))

	n1664, bytes1664 := truth.Count("Toke", 1664, tokeleak.AIFO)
	require.Equal(t, 6043, n1664)
	got, _ = summaryJSONOf(t, "--min-size", "1664", "--max-size", "1664", "--tag", "Toke", "--type", "AIFO")
	assert.Equal(t, map[exKey]exRow{{"Toke", true}: {Row: tokeleak.Row{Tag: "Toke", Paged: true,
		Allocs: 6043, AIFOCount: 6043, AIFOBytes: bytes1664}}}, got)
	assert.Equal(t, uint64(6043*1664), bytes1664)

	got, _ = summaryJSONOf(t, "--pid", strconv.Itoa(tokeleak.PIDLsass), "--tag", "Toke")
	assert.Equal(t, uint64(6189), got[exKey{"Toke", true}].AIFOCount, "every Toke allocation is lsass.exe's")
	assert.Zero(t, got[exKey{"Toke", true}].AOFICount, "frees of blocks from before the trace have no process")
}

func withTagValue(r tokeleak.Row, v uint32) tokeleak.Row {
	r.TagValue = v
	return r
}

// TestSummaryWindowExample narrows the window to minutes 5 to 12: the
// classes are computed from the event times of the truth.
func TestSummaryWindowExample(t *testing.T) {
	truth := truthOf(t)
	// --from and --to are offsets from the start of the trace, the
	// logfile header event at T0.
	from := truth.T0 + int64(5*time.Minute/time.Second)*tokeleak.TicksPerSecond
	to := truth.T0 + int64(12*time.Minute/time.Second)*tokeleak.TicksPerSecond
	want, wantTotals := exExpect(truth, exSelect{from: from, to: to})
	got, totals := summaryJSONOf(t, "--from", "5m", "--to", "12m")
	assert.Equal(t, want, got)
	assert.Equal(t, wantTotals, totals)
	// The window has all four classes.
	assert.NotZero(t, wantTotals.AIFOCount)
	assert.NotZero(t, wantTotals.AIFICount)
	assert.NotZero(t, wantTotals.AOFICount)
	assert.NotZero(t, wantTotals.AOFOCount)

	// An open end and an open start.
	want, _ = exExpect(truth, exSelect{from: from})
	got, _ = summaryJSONOf(t, "--from", "5m")
	assert.Equal(t, want, got, "--from 5m")
	want, _ = exExpect(truth, exSelect{to: to})
	got, _ = summaryJSONOf(t, "--to", "12m")
	assert.Equal(t, want, got, "--to 12m")

	// The leak inside the window: one a ~200 ms, outstanding at its end.
	w := want[exKey{"Toke", true}]
	assert.Less(t, w.AIFOCount, uint64(6189))
	assert.Greater(t, w.AIFOCount, uint64(3000))
}

// TestStacksJSONExample checks the Toke AIFO stacks, and every AIFO
// stack, against the generator's.
func TestStacksJSONExample(t *testing.T) {
	truth := truthOf(t)
	decode := func(out string) []tokeleak.Stack {
		var got []tokeleak.Stack
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		return got
	}

	got := decode(runExample(t, "stacks", "--format", "json", "--tag", "Toke"))
	assert.Equal(t, truth.TokeAIFO, got)
	require.NotEmpty(t, got)
	n, b := truth.Count("Toke", tokeleak.TokeSize, tokeleak.AIFO)
	assert.Equal(t, uint64(n), got[0].Count)
	assert.Equal(t, b, got[0].Bytes)
	sep := fmt.Sprintf("%s+%#x", tokeleak.ModNT, tokeleak.SepDuplicateTokenRVA)
	assert.Equal(t, "ntkrnlmp.exe+0x5a3b10", sep)
	assert.Contains(t, got[0].Frames, sep)

	// --type AIFO is the default.
	assert.Equal(t, got, decode(runExample(t, "stacks", "--format", "json", "--tag", "Toke", "--type", "AIFO")))

	// Every outstanding allocation, those without a stack under "frames": [].
	all := decode(runExample(t, "stacks", "--format", "json"))
	assert.Equal(t, truth.Stacks("", tokeleak.AIFO), all)
	assert.True(t, slices.ContainsFunc(all, func(s tokeleak.Stack) bool { return s.Frames != nil && len(s.Frames) == 0 }),
		"allocations without a stack")

	// Toke allocations freed inside the trace.
	assert.Equal(t, truth.Stacks("Toke", tokeleak.AIFI),
		decode(runExample(t, "stacks", "--format", "json", "--tag", "Toke", "--type", "AIFI")))
}

// TestStacksFoldedExample finds the leak's line in the folded output, by
// bytes and by count.
func TestStacksFoldedExample(t *testing.T) {
	truth := truthOf(t)
	n, b := truth.Count("Toke", tokeleak.TokeSize, tokeleak.AIFO)
	var leak *tokeleak.Stack
	for i := range truth.TokeAIFO {
		if truth.TokeAIFO[i].Count == uint64(n) && truth.TokeAIFO[i].Bytes == b {
			leak = &truth.TokeAIFO[i]
		}
	}
	require.NotNil(t, leak, "the 1664-byte stack")
	frames := slices.Clone(leak.Frames)
	slices.Reverse(frames) // folded lines go from the outermost caller
	line := strings.Join(frames, ";")

	lines := func(out string) []string { return strings.Split(strings.TrimSuffix(out, "\n"), "\n") }
	byBytes := lines(runExample(t, "stacks", "--format", "folded", "--tag", "Toke"))
	assert.Contains(t, byBytes, line+" "+strconv.Itoa(6043*1664))
	assert.Len(t, byBytes, len(truth.TokeAIFO))
	byCount := lines(runExample(t, "stacks", "--format", "folded", "--value", "count", "--tag", "Toke"))
	assert.Contains(t, byCount, line+" 6043")

	// The values add up to the Toke row.
	var sum uint64
	for _, l := range byBytes {
		v, err := strconv.ParseUint(l[strings.LastIndexByte(l, ' ')+1:], 10, 64)
		require.NoError(t, err, l)
		sum += v
	}
	assert.Equal(t, truth.Row("Toke", true).AIFOBytes, sum)
}

// examplePprof writes the example's profile and returns its name.
func examplePprof(t *testing.T, args ...string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "toke.pb.gz")
	code, out, errOut := runCmd(t, append(append([]string{"pprof", "-o", name}, args...), exampleTrace)...)
	require.Equal(t, exitOK, code, errOut)
	assert.Empty(t, out)
	return name
}

func TestPprofExample(t *testing.T) {
	truth := truthOf(t)
	fh, err := os.Open(examplePprof(t))
	require.NoError(t, err)
	defer fh.Close()
	p, err := profile.Parse(fh)
	require.NoError(t, err)
	require.NoError(t, p.CheckValid())

	var types []string
	for _, st := range p.SampleType {
		types = append(types, st.Type+"/"+st.Unit)
	}
	assert.Equal(t, []string{"alloc_objects/count", "alloc_space/bytes", "inuse_objects/count", "inuse_space/bytes"}, types)
	assert.Equal(t, "inuse_space", p.DefaultSampleType)

	var allocObjects, allocBytes, inuseObjects, inuseBytes, tokeObjects, tokeBytes int64
	for _, s := range p.Sample {
		require.Len(t, s.Value, 4)
		allocObjects += s.Value[0]
		allocBytes += s.Value[1]
		inuseObjects += s.Value[2]
		inuseBytes += s.Value[3]
		for _, k := range []string{"pooltag", "pooltype", "paged", "lifetime", "process"} {
			assert.Len(t, s.Label[k], 1, "label %s of %v", k, s.Label)
		}
		if s.Label["process"][0] != "Idle (0)" { // pprof reads a numeric label 0 as absent
			assert.Len(t, s.NumLabel["pid"], 1, "pid of %v", s.Label)
		}
		if s.Label["pooltag"][0] == "Toke" {
			tokeObjects += s.Value[2]
			tokeBytes += s.Value[3]
			assert.Equal(t, []string{"true"}, s.Label["paged"])
			assert.Equal(t, []int64{tokeleak.PIDLsass}, s.NumLabel["pid"])
			assert.Equal(t, []string{fmt.Sprintf("lsass.exe (%d)", tokeleak.PIDLsass)}, s.Label["process"])
		}
	}
	// inuse_* is what is outstanding at the end; alloc_* every allocation
	// made in the trace.
	assert.Equal(t, int64(truth.Totals.AIFOCount), inuseObjects)
	assert.Equal(t, int64(truth.Totals.AIFOBytes), inuseBytes)
	var wantAllocBytes int64
	for _, a := range truth.Allocations {
		wantAllocBytes += int64(a.Size)
	}
	assert.Equal(t, int64(truth.Totals.Allocs), allocObjects)
	assert.Equal(t, wantAllocBytes, allocBytes)
	assert.Equal(t, int64(6189), tokeObjects)
	assert.Equal(t, int64(truth.Row("Toke", true).AIFOBytes), tokeBytes)

	// One mapping per image, with the PDB identity as a symbol store
	// writes it (GUID without dashes, upper case, then the age in hex).
	byPath := map[string]*profile.Mapping{}
	for _, m := range p.Mapping {
		byPath[m.File] = m
	}
	var nt *profile.Mapping
	for _, im := range truth.Images {
		m := byPath[im.Path]
		if m == nil {
			continue // no frame in it
		}
		if im.PDB == "" {
			assert.Empty(t, m.BuildID, im.Path)
			continue
		}
		want := strings.ToUpper(strings.ReplaceAll(im.PDBGUID.String(), "-", "")) + strconv.FormatUint(uint64(im.PDBAge), 16)
		assert.Equal(t, want, m.BuildID, im.Path)
		if im.Module() == tokeleak.ModNT {
			nt = m
			assert.Equal(t, im.Base, m.Start)
			assert.Equal(t, im.Base+im.Size, m.Limit)
		}
	}
	require.NotNil(t, nt, "no ntkrnlmp.exe mapping")
	assert.Len(t, nt.BuildID, 33)

	// The leak's frame at SepDuplicateToken is in the profile, named as
	// poolprof stacks names it.
	var sep bool
	for _, loc := range p.Location {
		if loc.Mapping == nt && loc.Address == nt.Start+tokeleak.SepDuplicateTokenRVA {
			sep = len(loc.Line) == 1 && loc.Line[0].Function.Name == "ntkrnlmp.exe+0x5a3b10"
		}
	}
	assert.True(t, sep, "no location ntkrnlmp.exe+0x5a3b10")
}

// TestPprofToolExample opens the profile with go tool pprof and checks that
// -tagfocus pooltag=Toke accounts for exactly the Toke bytes.
func TestPprofToolExample(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go tool pprof")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	truth := truthOf(t)
	name := examplePprof(t)
	dir := filepath.Dir(name)
	cmd := exec.Command(goBin, "tool", "pprof", "-top", "-inuse_space", "-unit=B", "-nodefraction=0",
		"-tagfocus", "pooltag=Toke", name)
	cmd.Dir = dir
	// No binaries to symbolize with: pprof keeps poolprof's names.
	cmd.Env = append(os.Environ(), "PPROF_BINARY_PATH="+dir, "PPROF_TMPDIR="+dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	out := stdout.String()
	t.Logf("go tool pprof -top:\n%s", out)

	m := regexp.MustCompile(`Showing nodes accounting for (\d+)B, \S+ of (\d+)B total`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.Equal(t, dec(truth.Row("Toke", true).AIFOBytes), m[1], "the Toke bytes")
	assert.Equal(t, dec(truth.Totals.AIFOBytes), m[2], "every outstanding byte")

	// The flat column adds up to the same.
	row := regexp.MustCompile(`^\s*(\d+)B?\s+\S+%\s+\S+%\s+\S+\s+\S+%\s+(.+)$`)
	var flat uint64
	var header = true
	for line := range strings.Lines(out) {
		if header {
			header = !strings.Contains(line, "flat%")
			continue
		}
		r := row.FindStringSubmatch(strings.TrimRight(line, "\n"))
		require.NotNil(t, r, "-top line %q", line)
		v, err := strconv.ParseUint(r[1], 10, 64)
		require.NoError(t, err)
		flat += v
	}
	assert.Equal(t, truth.Row("Toke", true).AIFOBytes, flat)
	assert.Contains(t, out, "ntkrnlmp.exe+0x5a3b10")
}

// TestAnalyzeExitCodes: a bad flag value and a missing -o are usage errors
// (2); a file that is not a trace fails the analysis (1).
func TestAnalyzeExitCodes(t *testing.T) {
	dir := t.TempDir()
	notETL := filepath.Join(dir, "notes.etl")
	require.NoError(t, os.WriteFile(notETL, []byte("this is a text file, not an ETW trace\n"), 0o644))
	out := filepath.Join(dir, "out.pb.gz")
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"summary", "--type", "XYZ", exampleTrace}, exitUsage, "--type"},
		{[]string{"stacks", "--type", "XYZ", exampleTrace}, exitUsage, "--type"},
		{[]string{"pprof", "-o", out, "--type", "XYZ", exampleTrace}, exitUsage, "--type"},
		{[]string{"summary", "--format", "xml", exampleTrace}, exitUsage, "must be one of text, json, csv"},
		{[]string{"stacks", "--value", "pages", exampleTrace}, exitUsage, "must be one of bytes, count"},
		{[]string{"summary", "--sort", "nonsense", exampleTrace}, exitUsage, "--sort"},
		{[]string{"summary", "--tag", "TooLongTag", exampleTrace}, exitUsage, "--tag"},
		{[]string{"summary", "--pool", "swap", exampleTrace}, exitUsage, "--pool"},
		{[]string{"summary", "--pid", "lsass", exampleTrace}, exitUsage, "--pid"},
		{[]string{"summary", "--from", "10m", "--to", "5m", exampleTrace}, exitUsage, "not a window"},
		{[]string{"pprof", exampleTrace}, exitUsage, "-o FILE is required"},
		{[]string{"summary", notETL}, exitFail, notETL},
		{[]string{"stacks", notETL}, exitFail, notETL},
		{[]string{"pprof", "-o", out, notETL}, exitFail, notETL},
		{[]string{"summary", filepath.Join(dir, "missing.etl")}, exitFail, "missing.etl"},
	} {
		code, stdout, stderr := runCmd(t, tc.args...)
		assert.Equal(t, tc.code, code, "%v: %s", tc.args, stderr)
		assert.Empty(t, stdout, tc.args)
		assert.Contains(t, stderr, tc.msg, tc.args)
		if tc.msg == notETL {
			assert.Contains(t, stderr, "file offset 0x", tc.args)
		}
	}
	_, err := os.Stat(out)
	assert.True(t, os.IsNotExist(err), "a failed pprof run leaves no file")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "a failed pprof run leaves no temporary file either")
}

// TestSummaryWarnsWithoutPoolEvents: a trace without pool events gets an
// empty table and a warning that says how to record one.
func TestSummaryWarnsWithoutPoolEvents(t *testing.T) {
	name := corpus.Path(t, "perfview/smallEtlFile.etl")
	code, out, errOut := runCmd(t, "summary", name)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "Total")
	assert.Contains(t, errOut, "holds no pool events")
	assert.Contains(t, errOut, "PoolAlloc+PoolFree")
}
