package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/etl"
)

func TestAppendPadded(t *testing.T) {
	assert.Equal(t, "000000", string(appendPadded(nil, 0, 6)))
	assert.Equal(t, "000042", string(appendPadded(nil, 42, 6)))
	assert.Equal(t, "999999", string(appendPadded(nil, 999999, 6)))
	assert.Equal(t, "1234567", string(appendPadded(nil, 1234567, 6)))
}

func TestAppendSeconds(t *testing.T) {
	assert.Equal(t, "    0.000000", string(appendSeconds(nil, 0, 12)))
	assert.Equal(t, "   12.345678", string(appendSeconds(nil, 123456789, 12)))
	assert.Equal(t, "   -0.000100", string(appendSeconds(nil, -1000, 12)))
	assert.Equal(t, "123456789.000000", string(appendSeconds(nil, 123456789*10_000_000, 12)))
	assert.Equal(t, "x    1.000000", string(appendSeconds([]byte("x"), 10_000_000, 12)))
}

func TestTSCache(t *testing.T) {
	var c tsCache
	at := func(s string) string {
		tm, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return string(c.appendTime(nil, tm.UTC()))
	}
	assert.Equal(t, "2020-07-29T00:07:00.623615+00:00", at("2020-07-29T00:07:00.6236159Z"))
	assert.Equal(t, "2020-07-29T00:07:00.999999+00:00", at("2020-07-29T00:07:00.9999999Z"))
	assert.Equal(t, "2020-07-29T00:07:01.000000+00:00", at("2020-07-29T00:07:01Z"))
	assert.Equal(t, "1999-12-31T23:59:59.000001+00:00", at("1999-12-31T23:59:59.000001Z"))
}

// TestEncodersDoNotAllocate holds the line encoders to the streaming
// contract: nothing allocated per event once the line buffer has grown.
func TestEncodersDoNotAllocate(t *testing.T) {
	name := writeSynth(t, nil)
	f, err := etl.Open(name)
	require.NoError(t, err)
	defer f.Close()
	var evs []*etl.Event
	for ev, err := range f.NewReader(etl.OrderFile).All() {
		require.NoError(t, err)
		evs = append(evs, ev.Clone())
	}
	require.Len(t, evs, 3)

	j, x := newJSONLEncoder(f), newTextEncoder(f)
	line := make([]byte, 0, 4096)
	for _, enc := range []func([]byte, int64, *etl.Event) []byte{j.appendEvent, x.appendEvent} {
		allocs := testing.AllocsPerRun(100, func() {
			for i, ev := range evs {
				line = enc(line[:0], int64(i), ev)
			}
		})
		assert.Zero(t, allocs)
	}
}

// TestJSONLIsValidJSON checks that every line decodes and that the keys
// follow the header kind, as in the reference dumps.
func TestJSONLIsValidJSON(t *testing.T) {
	name := writeSynth(t, nil)
	code, out, errOut := runCmd(t, "events", "--format", "jsonl", name)
	require.Equal(t, exitOK, code, errOut)
	kinds := map[string][]string{}
	for line := range splitLines(out) {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		kinds[m["ht"].(string)] = sortedMapKeys(m)
	}
	common := []string{"buf", "htc", "i", "off", "opcode", "payload", "plen", "provider", "size", "ts", "ts_raw", "version"}
	with := func(extra ...string) []string {
		keys := append(append([]string{"ht"}, common...), extra...)
		m := map[string]any{}
		for _, k := range keys {
			m[k] = nil
		}
		return sortedMapKeys(m)
	}
	assert.Equal(t, with("group", "pid", "tid"), kinds["SYSTEM64"])
	assert.Equal(t, with("group"), kinds["PERFINFO64"])
	assert.Equal(t, with("id", "task", "level", "keywords", "channel", "flags", "eprop", "pid", "tid", "ext"), kinds["EVENT_HEADER64"])
}

func splitLines(s string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for len(s) > 0 {
			i := 0
			for i < len(s) && s[i] != '\n' {
				i++
			}
			if !yield(s[:i]) {
				return
			}
			if i < len(s) {
				i++
			}
			s = s[i:]
		}
	}
}
