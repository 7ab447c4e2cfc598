package main

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/etl"
)

// runCmd runs poolprof in-process and returns its exit status and output.
func runCmd(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// Synthetic trace: a header buffer on CPU 0 holding the logfile header
// event and an EVENT_HEADER64 record with two extended items, and a second
// buffer on CPU 1 holding a PERFINFO64 record whose timestamp falls between
// the two. It exercises every key of the JSON Lines output and both
// orders without the real corpus.
var (
	synthStart    = time.Date(2020, 7, 29, 0, 7, 0, 623615000, time.UTC)
	synthProvider = etl.MustParseGUID("763fd754-7086-4dfe-95eb-c01a46faf4ca")
)

const synthBufferSize = 0x400

// buildBuffer lays out a buffer: the 0x48-byte header, then records
// aligned to 8, then 0xFF padding up to the buffer size.
func buildBuffer(cpu byte, typ uint16, records ...[]byte) []byte {
	b := make([]byte, 0x48, synthBufferSize)
	for _, r := range records {
		b = append(b, r...)
		for len(b)%8 != 0 {
			b = append(b, 0)
		}
	}
	filled := len(b)
	for len(b) < synthBufferSize {
		b = append(b, 0xFF)
	}
	le := binary.LittleEndian
	le.PutUint32(b[0x00:], synthBufferSize)
	b[0x28] = cpu
	le.PutUint32(b[0x2C:], 3)
	le.PutUint32(b[0x30:], uint32(filled))
	le.PutUint16(b[0x34:], 0)
	le.PutUint16(b[0x36:], typ)
	return b
}

func utf16z(s string) []byte {
	var b []byte
	for _, r := range s {
		b = binary.LittleEndian.AppendUint16(b, uint16(r))
	}
	return append(b, 0, 0)
}

// headerRecord is a SYSTEM64 record with hook 0x0000 carrying a 64-bit
// TRACE_LOGFILE_HEADER.
func headerRecord(ts int64) []byte {
	le := binary.LittleEndian
	p := make([]byte, 0x118)
	le.PutUint32(p[0x00:], synthBufferSize)
	p[0x04], p[0x05], p[0x06], p[0x07] = 10, 0, 1, 5
	le.PutUint32(p[0x08:], 19041)
	le.PutUint32(p[0x0C:], 2)
	le.PutUint64(p[0x10:], uint64(etl.TimeToFiletime(synthStart.Add(2*time.Second))))
	le.PutUint32(p[0x18:], 156250)
	le.PutUint32(p[0x20:], 0x02000001)
	le.PutUint32(p[0x24:], 2)
	le.PutUint32(p[0x2C:], 8)
	le.PutUint32(p[0x34:], 3000)
	bias := int32(-60)
	le.PutUint32(p[0x48:], uint32(bias))
	le.PutUint64(p[0xF8:], uint64(etl.TimeToFiletime(synthStart.Add(-time.Hour))))
	le.PutUint64(p[0x100:], 10_000_000)
	le.PutUint64(p[0x108:], uint64(etl.TimeToFiletime(synthStart)))
	le.PutUint32(p[0x110:], 1)
	p = append(p, utf16z("Synth Logger")...)
	p = append(p, utf16z(`C:\synth.etl`)...)

	r := make([]byte, 0x20, 0x20+len(p))
	le.PutUint16(r[0:], 2)                    // version
	r[2], r[3] = byte(etl.KindSystem64), 0xC0 // kind, marker flags
	le.PutUint16(r[4:], uint16(0x20+len(p)))  // size
	le.PutUint16(r[6:], 0x0000)               // hook: EventTrace header
	le.PutUint32(r[8:], 200)                  // tid
	le.PutUint32(r[0xC:], 100)                // pid
	le.PutUint64(r[0x10:], uint64(ts))        // timestamp
	return append(r, p...)
}

// eventHeaderRecord is an EVENT_HEADER64 record with a stack-key and a
// provider-traits extended item and a 70-byte payload (longer than the 64
// bytes the output shows).
func eventHeaderRecord(ts int64) []byte {
	le := binary.LittleEndian
	r := make([]byte, 0x50)
	le.PutUint16(r[4:], 0x0001) // EXTENDED_INFO
	le.PutUint16(r[6:], 0x0002)
	le.PutUint32(r[8:], 4032)
	le.PutUint32(r[0xC:], 3988)
	le.PutUint64(r[0x10:], uint64(ts))
	synthProvider.PutBytes(r[0x18:])
	le.PutUint16(r[0x28:], 154) // id
	r[0x2A] = 2                 // version
	r[0x2B] = 11                // channel
	r[0x2C] = 4                 // level
	r[0x2D] = 36                // opcode
	le.PutUint16(r[0x2E:], 7)   // task
	le.PutUint64(r[0x30:], 0x8000000000000a0)
	item := func(typ uint16, more bool, data []byte) []byte {
		it := make([]byte, 8, 8+len(data))
		le.PutUint16(it[0:], uint16(8+len(data)))
		le.PutUint16(it[2:], typ)
		if more {
			le.PutUint16(it[4:], 1)
		}
		le.PutUint16(it[6:], uint16(len(data)))
		return append(it, data...)
	}
	r = append(r, item(etl.ExtStackKey64, true, make([]byte, 16))...)
	r = append(r, item(etl.ExtProvTraits, false, []byte{8, 0, 'a', 'b', 'c', 0, 0, 0})...)
	for i := range 70 {
		r = append(r, byte(i))
	}
	le.PutUint16(r[0:], uint16(len(r)))
	r[2], r[3] = byte(etl.KindEventHeader64), 0xC0
	return r
}

// perfInfoRecord is a PERFINFO64 record (no process or thread id) of the
// PerfInfo group, hook 0x0F2E, with a 16-byte payload.
func perfInfoRecord(ts int64) []byte {
	le := binary.LittleEndian
	r := make([]byte, 0x10, 0x20)
	le.PutUint16(r[0:], 2)
	r[2], r[3] = byte(etl.KindPerfInfo64), 0xC0
	le.PutUint16(r[4:], 0x20)
	le.PutUint16(r[6:], 0x0F2E)
	le.PutUint64(r[8:], uint64(ts))
	return append(r, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4)
}

// writeSynth writes the synthetic trace, optionally damaged by mutate, and
// returns its path.
func writeSynth(t *testing.T, mutate func([]byte)) string {
	t.Helper()
	var file []byte
	file = append(file, buildBuffer(0, uint16(etl.BufferHeader), headerRecord(1000), eventHeaderRecord(3000))...)
	file = append(file, buildBuffer(1, uint16(etl.BufferGeneric), perfInfoRecord(2000))...)
	if mutate != nil {
		mutate(file)
	}
	name := filepath.Join(t.TempDir(), "synth.etl")
	require.NoError(t, os.WriteFile(name, file, 0o644))
	return name
}

const (
	synthHeaderLine = `{"i":0,"buf":0,"off":0,"ht":"SYSTEM64","htc":2,"ts_raw":1000,"ts":"2020-07-29T00:07:00.623615+00:00","provider":"68fdd900-4a3e-11d1-84f4-0000f80464e3","group":0,"opcode":0,"version":2,"pid":100,"tid":200,"size":364,"plen":332,"payload":"000400000a000105614a000002000000f6beab2f3c65d6015a620200000000000100000202000000000000000800000000000000b80b00000000000000000000"}`
	synthEHLine     = `"buf":0,"off":368,"ht":"EVENT_HEADER64","htc":19,"ts_raw":3000,"ts":"2020-07-29T00:07:00.623815+00:00","provider":"763fd754-7086-4dfe-95eb-c01a46faf4ca","opcode":36,"id":154,"version":2,"task":7,"level":4,"keywords":"0x8000000000000a0","channel":11,"flags":1,"eprop":2,"pid":3988,"tid":4032,"size":190,"ext":[18,12],"plen":70,"payload":"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"}`
	synthPerfLine   = `"buf":1,"off":0,"ht":"PERFINFO64","htc":17,"ts_raw":2000,"ts":"2020-07-29T00:07:00.623715+00:00","provider":"ce1dbfb4-137e-4da6-87b0-3f59aa102cbc","group":15,"opcode":46,"version":2,"size":32,"plen":16,"payload":"deadbeef00000000ffffffff01020304"}`
)

func TestEventsJSONLSynthetic(t *testing.T) {
	name := writeSynth(t, nil)

	code, out, errOut := runCmd(t, "events", "--format", "jsonl", "--order", "file", name)
	require.Equal(t, exitOK, code, errOut)
	assert.Empty(t, errOut)
	assert.Equal(t, synthHeaderLine+"\n"+
		`{"i":1,`+synthEHLine+"\n"+
		`{"i":2,`+synthPerfLine+"\n", out)

	// Time order merges the CPU 1 buffer between the two CPU 0 events;
	// the default order is time.
	code, out, errOut = runCmd(t, "events", name, "--format=jsonl")
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, synthHeaderLine+"\n"+
		`{"i":1,`+synthPerfLine+"\n"+
		`{"i":2,`+synthEHLine+"\n", out)
}

func TestEventsTextSynthetic(t *testing.T) {
	name := writeSynth(t, nil)
	code, out, errOut := runCmd(t, "events", name)
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, ""+
		"    0.000000 cpu0   SYSTEM64       EventTrace op=0 v=2 pid=100 tid=200 len=332\n"+
		"    0.000100 cpu1   PERFINFO64     PerfInfo op=46 v=2 len=16\n"+
		"    0.000200 cpu0   EVENT_HEADER64 763fd754-7086-4dfe-95eb-c01a46faf4ca id=154 op=36 v=2 pid=3988 tid=4032 len=70\n",
		out)
}

func TestInfoSynthetic(t *testing.T) {
	name := writeSynth(t, nil)
	code, out, errOut := runCmd(t, "info", name)
	require.Equal(t, exitOK, code, errOut)
	for _, want := range []string{
		"OS:             Windows 10.0 build 19041\n",
		"Trace format:   1.5\n",
		"CPUs:           2\n",
		"Clock:          QPC (type 1), frequency 10000000 Hz, CPU speed 3000 MHz, timer resolution 15.625ms\n",
		"Start:          2020-07-29T00:07:00.623615Z\n",
		"End:            2020-07-29T00:07:02.623615Z (duration 2.000 s)\n",
		"Time zone:      UTC+01:00 (bias -60 min)\n",
		"Logger:         Synth Logger\n",
		"Log file:       C:\\synth.etl\n",
		"Log file mode:  0x02000001 FILE_MODE_SEQUENTIAL|SYSTEM_LOGGER_MODE\n",
		"Buffers:        2 (0 compressed, 0 damaged), 2048 bytes; header says 2 written\n",
		"  by CPU:       0:1 1:1\n",
		"Events:         3\n",
		"Problems:       none\n",
	} {
		assert.Contains(t, out, want)
	}
	assert.Regexp(t, `(?m)^1\s+763fd754-7086-4dfe-95eb-c01a46faf4ca\s+-\s+EVENT_HEADER64\s+-\s+36\s+154\s+2\s+70$`, out)
	assert.Regexp(t, `(?m)^1\s+ce1dbfb4-137e-4da6-87b0-3f59aa102cbc\s+PerfInfo\s+PERFINFO64\s+0x0f2e\s+46\s+-\s+2\s+16$`, out)
}

// TestDamagedBufferWarns checks that damage is reported on stderr after
// the output, with counts, and does not fail the run.
func TestDamagedBufferWarns(t *testing.T) {
	name := writeSynth(t, func(b []byte) {
		// Clear the marker of the PERFINFO record in buffer 1.
		copy(b[synthBufferSize+0x48:], []byte{0, 0, 0, 0})
	})
	code, out, errOut := runCmd(t, "events", "--format", "jsonl", name)
	require.Equal(t, exitOK, code)
	assert.Equal(t, 2, strings.Count(out, "\n"), "the intact events are still printed")
	assert.Contains(t, errOut, "warning: "+name+": 1 problem (1 damaged buffer, 0 bad records skipped)")
	assert.Contains(t, errOut, "buffer 1 at file offset 0x448")
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		code, out, errOut := runCmd(t, args...)
		assert.Equal(t, exitOK, code, args)
		assert.Empty(t, errOut, args)
		assert.Contains(t, out, "Usage:", args)
		for _, c := range commands {
			assert.Contains(t, out, "\t"+c.name+" ", args)
		}
	}
	code, out, _ := runCmd(t, "help", "events")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, eventsUsage)
	assert.Contains(t, out, "-order")

	code, out, _ = runCmd(t, "info", "-h")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, infoUsage)
}

func TestBadUsage(t *testing.T) {
	name := writeSynth(t, nil)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{nil, "Usage:"},
		{[]string{"frobnicate", name}, `unknown command "frobnicate"`},
		{[]string{"help", "frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"events"}, "missing FILE"},
		{[]string{"info"}, "missing FILE"},
		{[]string{"events", name, name}, "want one FILE, got 2"},
		{[]string{"events", "--bogus", name}, "flag provided but not defined: -bogus"},
		{[]string{"events", "--format", "xml", name}, "must be one of text, jsonl"},
		{[]string{"events", "--order", "random", name}, "must be one of time, file"},
		{[]string{"info", "--format", "jsonl", name}, "must be one of text, json"},
		{[]string{"events", name, "--format"}, "flag needs an argument"},
	} {
		code, out, errOut := runCmd(t, tc.args...)
		assert.Equal(t, exitUsage, code, tc.args)
		assert.Empty(t, out, tc.args)
		assert.Contains(t, errOut, tc.msg, tc.args)
	}
}

// TestUnreadableFile checks status 1 and an error naming the file and, for
// bytes that are not a trace, the byte offset.
func TestUnreadableFile(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.etl")
	notETL := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(notETL, []byte("this is a text file, not an ETW trace\n"), 0o644))
	garbage := filepath.Join(dir, "garbage.etl")
	g := bytes.Repeat([]byte("0123456789abcdef"), 256) // a 4 KiB "buffer" of text
	binary.LittleEndian.PutUint32(g, 0x1000)
	binary.LittleEndian.PutUint32(g[0x30:], 0x1000)
	require.NoError(t, os.WriteFile(garbage, g, 0o644))

	for _, cmd := range []string{"info", "events"} {
		code, out, errOut := runCmd(t, cmd, missing)
		assert.Equal(t, exitFail, code)
		assert.Empty(t, out)
		assert.Contains(t, errOut, missing)

		for _, name := range []string{notETL, garbage} {
			code, out, errOut = runCmd(t, cmd, name)
			assert.Equal(t, exitFail, code, name)
			assert.Empty(t, out, name)
			assert.Contains(t, errOut, name, name)
			assert.Contains(t, errOut, "file offset 0x", name)
		}
	}
}

func TestParseArgs(t *testing.T) {
	parse := func(args ...string) ([]string, string) {
		fs := newFlagSet("test")
		format := newChoice("text", "text", "jsonl")
		fs.Var(format, "format", "")
		pos, status, ok := parseArgs(fs, args, "test", io.Discard, io.Discard)
		require.True(t, ok)
		require.Equal(t, exitOK, status)
		return pos, format.value
	}
	pos, format := parse("a.etl", "--format", "jsonl")
	assert.Equal(t, []string{"a.etl"}, pos)
	assert.Equal(t, "jsonl", format)
	pos, format = parse("-format=jsonl", "a.etl", "b.etl")
	assert.Equal(t, []string{"a.etl", "b.etl"}, pos)
	assert.Equal(t, "jsonl", format)
	pos, format = parse("--", "--format", "-x.etl")
	assert.Equal(t, []string{"--format", "-x.etl"}, pos)
	assert.Equal(t, "text", format)
	pos, _ = parse("a.etl", "--", "-b.etl")
	assert.Equal(t, []string{"a.etl", "-b.etl"}, pos)
}

func TestModeNames(t *testing.T) {
	assert.Equal(t, []string{"FILE_MODE_SEQUENTIAL", "RELOG_MODE", "COMPRESSED_MODE"}, modeNames(0x04010001))
	assert.Equal(t, []string{"FILE_MODE_CIRCULAR", "INDEPENDENT_SESSION_MODE", "0x40000000"}, modeNames(0x48000002))
	assert.Equal(t, []string{}, modeNames(0))
}
