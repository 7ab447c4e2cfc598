package etl_test

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/internal/corpus"
)

// refEvent is one line of a reference dump.
type refEvent struct {
	I        int    `json:"i"`
	Buf      int    `json:"buf"`
	Off      int    `json:"off"`
	HT       string `json:"ht"`
	Provider string `json:"provider"`
	// ProviderAsReported is the reference parser's own reading of an
	// EVENT_HEADER provider GUID, byte-swapped (see reference_test.go).
	ProviderAsReported string  `json:"provider_as_reported"`
	Group              *int    `json:"group"`
	Opcode             int     `json:"opcode"`
	ID                 *int    `json:"id"`
	Version            int     `json:"version"`
	PID                *uint32 `json:"pid"`
	TID                *uint32 `json:"tid"`
	TSRaw              int64   `json:"ts_raw"`
	TS                 string  `json:"ts"`
	Size               int     `json:"size"`
	PLen               int     `json:"plen"`
	Payload            string  `json:"payload"`
	Ext                []int   `json:"ext"`
	Flags              *int    `json:"flags"`
}

// readDump reads the reference dump of a corpus file (an independent
// parser's, fox-it/dissect.etl).
func readDump(t testing.TB, name string) []refEvent {
	t.Helper()
	var out []refEvent
	sc := corpus.Dump(t, name)
	for sc.Scan() {
		var e refEvent
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e))
		out = append(out, e)
	}
	require.NoError(t, sc.Err())
	return out
}

// summaryKey is the reference summary's per-event key.
func summaryKey(ev *etl.Event) string {
	if ev.Kind == etl.KindEventHeader32 || ev.Kind == etl.KindEventHeader64 {
		return fmt.Sprintf("%s %s id=%d op=%d v=%d", ev.Provider, ev.Kind, ev.ID, ev.Opcode, ev.Version)
	}
	return fmt.Sprintf("%s %s op=%d v=%d", ev.Provider, ev.Kind, ev.Opcode, ev.Version)
}

// TestCorpusFileOrder walks every corpus file in file order and compares
// each event with the reference dump, then the totals with the summary.
func TestCorpusFileOrder(t *testing.T) {
	for _, name := range corpus.Files(t) {
		t.Run(filepath.Base(filepath.Dir(name))+"/"+filepath.Base(name), func(t *testing.T) {
			ref := readDump(t, name)
			f, err := etl.Open(name)
			require.NoError(t, err)
			defer f.Close()
			r := f.NewReader(etl.OrderFile)
			got := corpus.Summary{ByHeader: map[string]int64{}, ByProv: map[string]int64{}, ByKey: map[string]int64{}}
			i := 0
			for ev, err := range r.All() {
				require.NoError(t, err)
				if !assert.Less(t, i, len(ref), "more events than the reference") {
					break
				}
				compareEvent(t, &ref[i], ev)
				compareTime(t, f, &ref[i], ev)
				i++
				got.Events++
				got.ByHeader[ev.Kind.String()]++
				got.ByProv[ev.Provider.String()]++
				got.ByKey[summaryKey(ev)]++
				if got.Events == 1 || ev.Timestamp < got.MinTS {
					got.MinTS = ev.Timestamp
				}
				got.MaxTS = max(got.MaxTS, ev.Timestamp)
			}
			assert.Equal(t, len(ref), i, "event count")
			assert.Empty(t, r.Problems(), "problems")

			want := corpus.ReadSummary(t, name)
			assert.Equal(t, want.Events, got.Events)
			assert.Equal(t, want.ByHeader, got.ByHeader)
			assert.Equal(t, want.ByProv, got.ByProv)
			assert.Equal(t, want.ByKey, got.ByKey)
			assert.Equal(t, want.MinTS, got.MinTS)
			assert.Equal(t, want.MaxTS, got.MaxTS)
		})
	}
}

func compareEvent(t *testing.T, want *refEvent, ev *etl.Event) {
	t.Helper()
	where := fmt.Sprintf("event %d (buf %d off %#x)", want.I, want.Buf, want.Off)
	if !assert.Equal(t, want.Buf, ev.Buffer, where+" buf") || !assert.Equal(t, want.Off, ev.Offset, where+" off") {
		t.FailNow()
	}
	assert.Equal(t, want.HT, ev.Kind.String(), where+" ht")
	assert.Equal(t, want.Provider, ev.Provider.String(), where+" provider")
	if ev.IsKernel() {
		if assert.NotNil(t, want.Group, where+" group") {
			assert.Equal(t, *want.Group, int(ev.Group), where+" group")
		}
	} else {
		assert.Nil(t, want.Group, where+" group")
	}
	assert.Equal(t, want.Opcode, int(ev.Opcode), where+" opcode")
	if want.ID != nil {
		assert.Equal(t, *want.ID, int(ev.ID), where+" id")
	}
	assert.Equal(t, want.Version, int(ev.Version), where+" version")
	if ev.HasThread() {
		if assert.NotNil(t, want.PID, where+" pid") && assert.NotNil(t, want.TID, where+" tid") {
			assert.Equal(t, *want.PID, ev.ProcessID, where+" pid")
			assert.Equal(t, *want.TID, ev.ThreadID, where+" tid")
		}
	} else {
		assert.Nil(t, want.PID, where+" pid")
	}
	assert.Equal(t, want.TSRaw, ev.Timestamp, where+" ts_raw")
	assert.Equal(t, want.Size, ev.Size, where+" size")
	assert.Equal(t, want.PLen, len(ev.Payload), where+" plen")
	p := ev.Payload[:min(64, len(ev.Payload))]
	assert.Equal(t, want.Payload, hex.EncodeToString(p), where+" payload")
	var ext []int
	ev.ExtendedItems(func(it etl.ExtItem) bool {
		ext = append(ext, int(it.Type))
		return true
	})
	assert.Equal(t, want.Ext, ext, where+" ext")
}

// compareTime checks the wall-clock conversion against the reference. The
// reference computes FILETIMEs in float64, whose spacing near 1.3e17 is 16
// ticks (1.6 µs), then prints microseconds; our integer conversion is exact,
// so the two may differ by up to two float steps plus rounding.
const refTimeSlack = 4 * time.Microsecond

func compareTime(t *testing.T, f *etl.File, want *refEvent, ev *etl.Event) {
	t.Helper()
	ref, err := time.Parse(time.RFC3339Nano, want.TS)
	require.NoError(t, err)
	d := f.Time(ev.Timestamp).Sub(ref)
	assert.True(t, d > -refTimeSlack && d < refTimeSlack, "event %d: time %s, reference %s", want.I, f.Time(ev.Timestamp).Format(time.RFC3339Nano), want.TS)
}

// TestCorpusTimeOrder checks that the merged walk returns exactly the
// events of the file-order walk, with non-decreasing timestamps.
func TestCorpusTimeOrder(t *testing.T) {
	type key struct{ buf, off int }
	for _, name := range corpus.Files(t) {
		t.Run(filepath.Base(filepath.Dir(name))+"/"+filepath.Base(name), func(t *testing.T) {
			f, err := etl.Open(name)
			require.NoError(t, err)
			defer f.Close()
			inFile := map[key]int64{}
			for ev, err := range f.NewReader(etl.OrderFile).All() {
				require.NoError(t, err)
				inFile[key{ev.Buffer, ev.Offset}] = ev.Timestamp
			}
			r := f.NewReader(etl.OrderTime)
			last := int64(-1 << 63)
			n, decreasing := 0, 0
			for ev, err := range r.All() {
				require.NoError(t, err)
				ts, ok := inFile[key{ev.Buffer, ev.Offset}]
				require.True(t, ok, "time order returned an event the file walk did not: buf %d off %#x", ev.Buffer, ev.Offset)
				assert.Equal(t, ts, ev.Timestamp)
				delete(inFile, key{ev.Buffer, ev.Offset})
				if ev.Timestamp < last {
					decreasing++
				}
				last = max(last, ev.Timestamp)
				n++
			}
			assert.Empty(t, inFile, "events missing from the time-ordered walk")
			assert.Zero(t, decreasing, "timestamps that went back")
			assert.Zero(t, r.Stats().OutOfOrder)
			assert.Equal(t, int64(n), r.Stats().Events)
		})
	}
}
