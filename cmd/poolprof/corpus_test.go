package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/internal/corpus"
)

func corpusName(name string) string {
	return filepath.Base(filepath.Dir(name)) + "/" + filepath.Base(name)
}

// comparedKeys are the keys whose values must equal the reference's. "i"
// is the index in file order in both. "ts" is checked apart (see
// checkTime).
var comparedKeys = []string{
	"i", "buf", "off", "ht", "htc", "provider", "group", "opcode", "id", "version",
	"pid", "tid", "ts_raw", "size", "plen", "payload", "ext",
	"task", "level", "keywords", "channel", "flags", "eprop",
}

// maxMismatches stops a file's comparison from flooding the log.
const maxMismatches = 20

// TestCorpusEventsJSONL compares "events --format jsonl --order file" line
// by line with the reference dump of every corpus file: same number of
// lines, the same keys on each line, and the same values.
//
// Two differences with the dumps are known and checked here rather than
// ignored:
//   - provider_as_reported: a key the dumps add to keep the reference
//     parser's byte-swapped EVENT_HEADER GUID; it is not part of our
//     output (the dumps' "provider" holds the corrected GUID, which we
//     match).
//   - ts: the reference converts through float64 (see dissectTime) and is
//     off by up to about 2 µs; we print the exact conversion truncated to
//     the microsecond.
//
// The README also warns that the reference sometimes lists "ext" items for
// records whose header flags say there are none; such lines are accepted
// only when our flags lack EXTENDED_INFO, and logged. No corpus file has
// one at present.
func TestCorpusEventsJSONL(t *testing.T) {
	for _, name := range corpus.Files(t) {
		t.Run(corpusName(name), func(t *testing.T) {
			f, err := etl.Open(name)
			require.NoError(t, err)
			defer f.Close()

			var out, errOut bytes.Buffer
			code := run([]string{"events", "--format", "jsonl", "--order", "file", name}, &out, &errOut)
			require.Equal(t, exitOK, code, errOut.String())
			assert.Empty(t, errOut.String(), "no problems in the corpus")

			ref := corpus.Dump(t, name)
			ours := bufio.NewScanner(&out)
			ours.Buffer(nil, 1<<20)
			var t0 int64
			bad := 0
			line := 0
			for ; ref.Scan(); line++ {
				if !assert.True(t, ours.Scan(), "our output ends at line %d, the reference goes on", line) {
					return
				}
				want := decodeLine(t, ref.Bytes())
				got := decodeLine(t, ours.Bytes())
				delete(want, "provider_as_reported")
				if line == 0 {
					// The logfile header event anchors the clock.
					t0 = asInt(t, want["ts_raw"])
				}
				if msg := compareLine(t, f, t0, want, got); msg != "" {
					bad++
					t.Errorf("line %d (buf %v off %v): %s", line, want["buf"], want["off"], msg)
					if bad == maxMismatches {
						t.Fatalf("stopping after %d mismatching lines", bad)
					}
				}
			}
			require.NoError(t, ref.Err())
			assert.False(t, ours.Scan(), "our output has more lines than the reference's %d", line)
		})
	}
}

// compareLine returns what differs between a reference line and ours, or
// "".
func compareLine(t testing.TB, f *etl.File, t0 int64, want, got map[string]any) string {
	var diffs []string
	if ext, ok := want["ext"]; ok {
		if _, ours := got["ext"]; !ours {
			if flags, ok := got["flags"].(json.Number); ok && numberValue(flags)&1 == 0 {
				// The reference's known defect: ext items for a record
				// whose flags say it has none.
				delete(want, "ext")
				t.Logf("buf %v off %v: reference lists ext %v for a record without EXTENDED_INFO (known reference defect)", want["buf"], want["off"], ext)
			}
		}
	}
	wantKeys, gotKeys := sortedMapKeys(want), sortedMapKeys(got)
	if !slices.Equal(wantKeys, gotKeys) {
		diffs = append(diffs, fmt.Sprintf("keys %v, reference %v", gotKeys, wantKeys))
	}
	for _, k := range comparedKeys {
		w, inWant := want[k]
		g, inGot := got[k]
		if inWant != inGot {
			continue // reported with the keys
		}
		if fmt.Sprint(w) != fmt.Sprint(g) {
			diffs = append(diffs, fmt.Sprintf("%s = %v, reference %v", k, g, w))
		}
	}
	if msg := checkTime(f, t0, want, got); msg != "" {
		diffs = append(diffs, msg)
	}
	return strings.Join(diffs, "; ")
}

// tsTolerance bounds the reference's error. Its FILETIME goes through a
// float64: a FILETIME near 1.3e17 has a spacing of 16 (1.6 µs), so ±0.8
// µs; times 1e-7 gives seconds near 1.3e10 whose spacing is 2^-19 s (1.9
// µs), so ±0.95 µs; rounding to the microsecond adds ±0.5 µs, its integer
// truncations up to 0.2 µs, and our truncation to the microsecond up to
// 1 µs.
const tsTolerance = 3500 * time.Nanosecond

// checkTime checks "ts" two ways: the reference's value is exactly what
// its float64 conversion gives (so the difference is that conversion's
// rounding, not a misread timestamp), and ours is within tsTolerance of
// it.
func checkTime(f *etl.File, t0 int64, want, got map[string]any) string {
	ws, _ := want["ts"].(string)
	gs, _ := got["ts"].(string)
	raw, err := asIntErr(want["ts_raw"])
	if err != nil {
		return "ts_raw: " + err.Error()
	}
	if emu := dissectTime(&f.Header, t0, raw); emu != ws {
		return fmt.Sprintf("reference ts %s is not its float64 conversion %s", ws, emu)
	}
	wt, err1 := time.Parse(time.RFC3339Nano, ws)
	gt, err2 := time.Parse(time.RFC3339Nano, gs)
	if err1 != nil || err2 != nil {
		return fmt.Sprintf("ts %q, reference %q: not RFC 3339", gs, ws)
	}
	if d := gt.Sub(wt); d < -tsTolerance || d > tsTolerance {
		return fmt.Sprintf("ts %s, reference %s: %v apart", gs, ws, d)
	}
	if gs != f.Time(raw).Truncate(time.Microsecond).Format("2006-01-02T15:04:05.000000-07:00") {
		return fmt.Sprintf("ts %s is not the exact conversion %s", gs, f.Time(raw).Format(time.RFC3339Nano))
	}
	return ""
}

// dissectTime reproduces the reference parser's wall-clock conversion
// (dissect.etl LogfileHeader and ETL.calculate_timestamp, then
// dissect.util wintimestamp and Python's datetime.fromtimestamp): a float
// scale, integer truncation of the scaled deltas, then a FILETIME turned
// into float64 seconds since 1970 and rounded half-even to the
// microsecond. The float64 steps lose up to about 2 µs.
func dissectTime(h *etl.LogfileHeader, t0, ts int64) string {
	var scale float64
	switch h.ClockType {
	case etl.ClockQPC:
		scale = 1e7 / float64(h.PerfFreq)
	case etl.ClockSystemTime:
		scale = 1
	case etl.ClockCPUCycle:
		scale = 10 / float64(h.CPUSpeedMHz)
	}
	base := h.StartTime - int64(float64(scale*float64(t0)))
	ft := base + int64(float64(scale*float64(ts)))
	// Explicit conversions keep the compiler from fusing the multiply and
	// the subtraction, which Python does not.
	secs := float64(float64(ft)*1e-7) - 11644473600
	ip, frac := math.Modf(secs)
	us := math.RoundToEven(frac * 1e6)
	if us >= 1e6 {
		us -= 1e6
		ip++
	}
	return time.Unix(int64(ip), int64(us)*1000).UTC().Format("2006-01-02T15:04:05.000000-07:00")
}

// decodeLine decodes a JSON object keeping numbers as written, so that
// values compare exactly.
func decodeLine(t *testing.T, b []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	require.NoError(t, d.Decode(&m), "line %s", b)
	return m
}

func asInt(t *testing.T, v any) int64 {
	t.Helper()
	n, err := asIntErr(v)
	require.NoError(t, err)
	return n
}

func asIntErr(v any) (int64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%v is not a number", v)
	}
	return n.Int64()
}

// numberValue is the integer n holds, 0 when it holds none.
func numberValue(n json.Number) int64 {
	v, _ := n.Int64()
	return v
}

func sortedMapKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestCorpusInfoJSON checks the info inventory of every corpus file
// against the reference summary: the event total, the raw time range, and
// the counts by provider, header kind, (id,) opcode and version, to which
// info's rows fold when their hook is dropped.
func TestCorpusInfoJSON(t *testing.T) {
	for _, name := range corpus.Files(t) {
		t.Run(corpusName(name), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run([]string{"info", "--format", "json", name}, &out, &errOut)
			require.Equal(t, exitOK, code, errOut.String())
			assert.Empty(t, errOut.String())
			var rep infoReport
			require.NoError(t, json.Unmarshal(out.Bytes(), &rep))

			want := corpus.ReadSummary(t, name)

			assert.Equal(t, want.Events, rep.Events.Total)
			assert.Equal(t, want.MinTS, rep.Events.FirstRaw)
			assert.Equal(t, want.MaxTS, rep.Events.LastRaw)
			assert.Zero(t, rep.Problems.Count)
			assert.Zero(t, rep.Buffers.Damaged)
			assert.Equal(t, rep.Size, rep.Buffers.Bytes, "buffers cover the file")

			byKey := map[string]int64{}
			byHeader := map[string]int64{}
			byProv := map[string]int64{}
			var total int64
			for _, g := range rep.Groups {
				k := fmt.Sprintf("%s %s op=%d v=%d", g.Provider, g.Kind, g.Opcode, g.Version)
				if g.ID != nil {
					k = fmt.Sprintf("%s %s id=%d op=%d v=%d", g.Provider, g.Kind, *g.ID, g.Opcode, g.Version)
				}
				byKey[k] += g.Count
				byHeader[g.Kind] += g.Count
				byProv[g.Provider] += g.Count
				total += g.Count
				assert.LessOrEqual(t, g.PayloadMin, g.PayloadMax)
			}
			assert.Equal(t, rep.Events.Total, total)
			assert.Equal(t, want.ByKey, byKey)
			assert.Equal(t, want.ByHeader, byHeader)
			assert.Equal(t, want.ByProv, byProv)
			assert.True(t, slices.IsSortedFunc(rep.Groups, func(a, b groupRow) int { return int(b.Count - a.Count) }),
				"rows by count, descending")
		})
	}
}

// TestCorpusInfoText checks the text report of one corpus file for the
// facts read from its bytes: the header (a Windows 8 kernel+CLR trace
// merged by PerfView, relogged and compressed) and the buffer counts.
func TestCorpusInfoText(t *testing.T) {
	name := corpus.Path(t, "perfview/net.4.5.2.x64.etl__net.4.5.2.x64.etl")
	code, out, errOut := runCmd(t, "info", name)
	require.Equal(t, exitOK, code, errOut)
	assert.Empty(t, errOut)
	for _, want := range []string{
		"OS:             Windows 6.2 build 9200\n",
		"Trace format:   2.0\n",
		"Pointer size:   8 bytes\n",
		"CPUs:           8\n",
		"Buffer size:    65536 bytes\n",
		"Clock:          QPC (type 1), frequency 10000000 Hz, CPU speed 3592 MHz, timer resolution 15.625ms\n",
		"Start:          2020-07-29T00:07:00.6236167Z\n",
		"End:            2020-07-29T00:07:10.6935923Z (duration 10.070 s)\n",
		"Boot:           2020-07-29T00:03:46.4872939Z\n",
		"Logger:         Relogger\n",
		"Log file:       [multiple files]\n",
		"Log file mode:  0x04010001 FILE_MODE_SEQUENTIAL|RELOG_MODE|COMPRESSED_MODE\n",
		"Lost:           0 events, 0 buffers\n",
		"Buffers:        360 (359 compressed, 0 damaged), 4879401 bytes; header says 360 written\n",
		"  by CPU:       0:12 1:11 2:201 3:25 4:7 5:43 6:23 7:38\n",
		"  by type:      GENERIC:359 HEADER:1\n",
		"Events:         179474\n",
		"Problems:       none\n",
		"COUNT  PROVIDER",
	} {
		assert.Contains(t, out, want)
	}
	// The most frequent row: sampled-profile events.
	assert.Regexp(t, `(?m)^COUNT.*\n79528\s+ce1dbfb4-137e-4da6-87b0-3f59aa102cbc\s+PerfInfo\s+PERFINFO64\s+0x0f2e\s+46\s+-\s+2\s+16$`, out)

	// The 32-bit file reports its pointer size.
	code, out, _ = runCmd(t, "info", corpus.Path(t, "perfview/smallEtlFile.etl"))
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "Pointer size:   4 bytes\n")
	assert.Contains(t, out, "Buffers:        2 (1 compressed, 0 damaged)")
}

// TestCorpusTimeOrder checks that the default (time) order prints the same
// events as file order, timestamps never going back.
func TestCorpusTimeOrder(t *testing.T) {
	for _, name := range corpus.Files(t) {
		t.Run(corpusName(name), func(t *testing.T) {
			var byFile, byTime bytes.Buffer
			require.Equal(t, exitOK, run([]string{"events", "--format", "jsonl", "--order", "file", name}, &byFile, io.Discard))
			require.Equal(t, exitOK, run([]string{"events", "--format", "jsonl", name}, &byTime, io.Discard))
			strip := func(b []byte) []string {
				var lines []string
				for l := range strings.Lines(string(b)) {
					_, rest, _ := strings.Cut(l, ",") // drop "i"
					lines = append(lines, rest)
				}
				return lines
			}
			fl, tl := strip(byFile.Bytes()), strip(byTime.Bytes())
			last := int64(math.MinInt64)
			for _, l := range tl {
				var ev struct {
					TSRaw int64 `json:"ts_raw"`
				}
				require.NoError(t, json.Unmarshal([]byte("{"+l), &ev))
				require.GreaterOrEqual(t, ev.TSRaw, last)
				last = ev.TSRaw
			}
			sort.Strings(fl)
			sort.Strings(tl)
			assert.Equal(t, fl, tl)
		})
	}
}

// largestCorpusFile is the biggest file of the corpus, for benchmarks.
func largestCorpusFile(b *testing.B) (string, int64) {
	var best string
	var size int64
	for _, name := range corpus.Files(b) {
		st, err := os.Stat(name)
		require.NoError(b, err)
		if st.Size() > size {
			best, size = name, st.Size()
		}
	}
	return best, size
}

// BenchmarkEventsJSONL measures "events --format jsonl" end to end over
// the largest corpus file, reading and decompressing included. MB/s is
// over the file's size.
func BenchmarkEventsJSONL(b *testing.B) {
	name, size := largestCorpusFile(b)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if code := run([]string{"events", "--format", "jsonl", name}, io.Discard, io.Discard); code != exitOK {
			b.Fatalf("exit status %d", code)
		}
	}
}
