package main

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/poolprof/poolprof/etl"
)

const eventsUsage = "poolprof events [--format text|jsonl] [--order time|file] FILE"

// payloadPrefix is how many payload bytes an event line shows, as in the
// reference dumps: enough to recognise a layout, short enough to stream.
const payloadPrefix = 64

// runEvents prints every event of a file.
func runEvents(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("events")
	format := newChoice("text", "text", "jsonl")
	order := newChoice("time", "time", "file")
	fs.Var(format, "format", "output `format`: text (one readable line per event) or jsonl (one JSON object per event)")
	fs.Var(order, "order", "event `order`: time (merged across processors by timestamp) or file (buffer by buffer, as stored)")
	pos, status, ok := parseArgs(fs, args, eventsUsage, stdout, stderr)
	if !ok {
		return status
	}
	name, ok := oneFile(fs, pos, eventsUsage, stderr)
	if !ok {
		return exitUsage
	}
	f, ok := openTrace("events", name, stderr)
	if !ok {
		return exitFail
	}
	defer f.Close()

	o := etl.OrderTime
	if order.value == "file" {
		o = etl.OrderFile
	}
	r := f.NewReader(o)
	w := bufio.NewWriterSize(stdout, 256<<10)
	var appendLine func(b []byte, i int64, ev *etl.Event) []byte
	if format.value == "jsonl" {
		appendLine = newJSONLEncoder(f).appendEvent
	} else {
		appendLine = newTextEncoder(f).appendEvent
	}

	var ev etl.Event
	var line []byte
	var readErr, writeErr error
	for i := int64(0); ; i++ {
		if err := r.Next(&ev); err != nil {
			if err != io.EOF {
				readErr = err
			}
			break
		}
		line = appendLine(line[:0], i, &ev)
		if _, writeErr = w.Write(line); writeErr != nil {
			break
		}
	}
	if err := w.Flush(); writeErr == nil {
		writeErr = err
	}
	if writeErr != nil {
		fmt.Fprintf(stderr, "poolprof events: writing output: %v\n", writeErr)
		return exitFail
	}
	warnProblems(stderr, "events", name, r.Stats(), r.Problems())
	if readErr != nil {
		fmt.Fprintf(stderr, "poolprof events: %s: %v\n", name, readErr)
		return exitFail
	}
	return exitOK
}

// jsonlEncoder writes one JSON object per event with the keys of the
// reference dumps (shared/testdata/etl/README.md), by hand: encoding/json
// would allocate per event, and a trace holds millions of them.
type jsonlEncoder struct {
	f  *etl.File
	ts tsCache
}

func newJSONLEncoder(f *etl.File) *jsonlEncoder { return &jsonlEncoder{f: f} }

// appendEvent appends the JSON line of ev, the i-th event of the output.
// Keys a record's header does not have are left out, as in the dumps:
// group for non-kernel kinds, id and the EVENT_HEADER fields for other
// kinds, pid/tid for PERFINFO, ext when there are no extended items.
func (e *jsonlEncoder) appendEvent(b []byte, i int64, ev *etl.Event) []byte {
	b = append(b, `{"i":`...)
	b = strconv.AppendInt(b, i, 10)
	b = append(b, `,"buf":`...)
	b = strconv.AppendInt(b, int64(ev.Buffer), 10)
	b = append(b, `,"off":`...)
	b = strconv.AppendInt(b, int64(ev.Offset), 10)
	b = append(b, `,"ht":"`...)
	b = append(b, ev.Kind.String()...)
	b = append(b, `","htc":`...)
	b = strconv.AppendUint(b, uint64(ev.Kind), 10)
	b = append(b, `,"ts_raw":`...)
	b = strconv.AppendInt(b, ev.Timestamp, 10)
	b = append(b, `,"ts":"`...)
	b = e.ts.appendTime(b, e.f.Time(ev.Timestamp))
	b = append(b, `","provider":"`...)
	b, _ = ev.Provider.AppendText(b)
	b = append(b, '"')
	if ev.IsKernel() {
		b = append(b, `,"group":`...)
		b = strconv.AppendUint(b, uint64(ev.Group), 10)
	}
	b = append(b, `,"opcode":`...)
	b = strconv.AppendUint(b, uint64(ev.Opcode), 10)
	eh := isEventHeader(ev.Kind)
	if eh {
		b = append(b, `,"id":`...)
		b = strconv.AppendUint(b, uint64(ev.ID), 10)
	}
	b = append(b, `,"version":`...)
	b = strconv.AppendUint(b, uint64(ev.Version), 10)
	if eh {
		b = append(b, `,"task":`...)
		b = strconv.AppendUint(b, uint64(ev.Task), 10)
	}
	if hasLevel(ev.Kind) {
		b = append(b, `,"level":`...)
		b = strconv.AppendUint(b, uint64(ev.Level), 10)
	}
	if eh {
		b = append(b, `,"keywords":"0x`...)
		b = strconv.AppendUint(b, ev.Keywords, 16)
		b = append(b, `","channel":`...)
		b = strconv.AppendUint(b, uint64(ev.Channel), 10)
		b = append(b, `,"flags":`...)
		b = strconv.AppendUint(b, uint64(ev.Flags), 10)
		b = append(b, `,"eprop":`...)
		b = strconv.AppendUint(b, uint64(ev.EventProperty), 10)
	}
	if hasThread(ev) {
		b = append(b, `,"pid":`...)
		b = strconv.AppendUint(b, uint64(ev.ProcessID), 10)
		b = append(b, `,"tid":`...)
		b = strconv.AppendUint(b, uint64(ev.ThreadID), 10)
	}
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, int64(ev.Size), 10)
	if len(ev.Extended) > 0 {
		b = appendExt(b, ev)
	}
	b = append(b, `,"plen":`...)
	b = strconv.AppendInt(b, int64(len(ev.Payload)), 10)
	b = append(b, `,"payload":"`...)
	b = hex.AppendEncode(b, ev.Payload[:min(len(ev.Payload), payloadPrefix)])
	b = append(b, "\"}\n"...)
	return b
}

// appendExt appends the "ext" key: the types of the extended data items.
func appendExt(b []byte, ev *etl.Event) []byte {
	n := 0
	ev.ExtendedItems(func(it etl.ExtItem) bool {
		if n == 0 {
			b = append(b, `,"ext":[`...)
		} else {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(it.Type), 10)
		n++
		return true
	})
	if n > 0 {
		b = append(b, ']')
	}
	return b
}

// tsCache formats times as RFC 3339 in UTC with microseconds and a
// "+00:00" zone, the form of the reference dumps. Consecutive events
// mostly share their second, so the date and clock part is formatted once
// per second and only the microseconds per event.
type tsCache struct {
	valid  bool
	sec    int64
	prefix []byte // "2006-01-02T15:04:05."
}

func (c *tsCache) appendTime(b []byte, t time.Time) []byte {
	sec := t.Unix()
	if !c.valid || sec != c.sec {
		c.prefix = t.AppendFormat(c.prefix[:0], "2006-01-02T15:04:05.")
		c.sec, c.valid = sec, true
	}
	b = append(b, c.prefix...)
	b = appendPadded(b, uint64(t.Nanosecond()/1000), 6)
	return append(b, "+00:00"...)
}

// appendPadded appends v in decimal with leading zeros to width digits.
func appendPadded(b []byte, v uint64, width int) []byte {
	var d [20]byte
	i := len(d)
	for v > 0 || i > len(d)-width {
		i--
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[i:]...)
}

// textEncoder writes one readable line per event: seconds since the trace
// start, CPU, header kind, provider, event identity, process and thread,
// payload length.
type textEncoder struct {
	f     *etl.File
	start int64 // FILETIME of the trace start

	// labels caches provider labels: the lookup scans the kernel group
	// table, and a GUID's text would be allocated per event. A trace has
	// few providers, so the map stays small.
	labels map[etl.GUID]string
}

func newTextEncoder(f *etl.File) *textEncoder {
	return &textEncoder{f: f, start: f.Header.StartTime, labels: map[etl.GUID]string{}}
}

func (e *textEncoder) appendEvent(b []byte, _ int64, ev *etl.Event) []byte {
	b = appendSeconds(b, e.f.Filetime(ev.Timestamp)-e.start, 12)
	b = append(b, " cpu"...)
	col := len(b)
	b = strconv.AppendUint(b, uint64(ev.Processor), 10)
	b = pad(b, col, 4)
	col = len(b)
	b = append(b, ev.Kind.String()...)
	b = pad(b, col, 15)
	label, ok := e.labels[ev.Provider]
	if !ok {
		label = providerLabel(ev.Provider)
		e.labels[ev.Provider] = label
	}
	b = append(b, label...)
	if isEventHeader(ev.Kind) {
		b = append(b, " id="...)
		b = strconv.AppendUint(b, uint64(ev.ID), 10)
	}
	if ev.Kind == etl.KindMessage {
		b = append(b, " msg="...)
		b = strconv.AppendUint(b, uint64(ev.MessageNumber), 10)
	} else {
		b = append(b, " op="...)
		b = strconv.AppendUint(b, uint64(ev.Opcode), 10)
		b = append(b, " v="...)
		b = strconv.AppendUint(b, uint64(ev.Version), 10)
	}
	if hasThread(ev) {
		b = append(b, " pid="...)
		b = strconv.AppendUint(b, uint64(ev.ProcessID), 10)
		b = append(b, " tid="...)
		b = strconv.AppendUint(b, uint64(ev.ThreadID), 10)
	}
	b = append(b, " len="...)
	b = strconv.AppendInt(b, int64(len(ev.Payload)), 10)
	return append(b, '\n')
}

// appendSeconds appends a FILETIME difference (100 ns units) as seconds
// with microseconds, right-aligned to width.
func appendSeconds(b []byte, d int64, width int) []byte {
	start := len(b)
	neg := d < 0
	u := uint64(d)
	if neg {
		u = uint64(-d)
	}
	us := u / 10
	if neg {
		b = append(b, '-')
	}
	b = strconv.AppendUint(b, us/1_000_000, 10)
	b = append(b, '.')
	b = appendPadded(b, us%1_000_000, 6)
	if n := len(b) - start; n < width {
		// Shift right to align; the line buffer is reused, so this
		// does not allocate once it has grown.
		shift := width - n
		for range shift {
			b = append(b, ' ')
		}
		copy(b[start+shift:], b[start:start+n])
		for i := start; i < start+shift; i++ {
			b[i] = ' '
		}
	}
	return b
}

// pad appends spaces until the text since from is width bytes wide, and at
// least one.
func pad(b []byte, from, width int) []byte {
	for len(b)-from < width-1 {
		b = append(b, ' ')
	}
	return append(b, ' ')
}
