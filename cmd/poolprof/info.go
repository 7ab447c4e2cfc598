package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/poolprof/poolprof/etl"
)

const infoUsage = "poolprof info [--format text|json] FILE"

// runInfo prints what a trace is: its header, its buffers, the damage
// found, and an inventory of its events by provider, header kind, opcode,
// id, version and payload length, which tells a user with an unknown trace
// what it holds and whether a decoder for a given layout can read it.
func runInfo(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("info")
	format := newChoice("text", "text", "json")
	fs.Var(format, "format", "output `format`: text or json")
	pos, status, ok := parseArgs(fs, args, infoUsage, stdout, stderr)
	if !ok {
		return status
	}
	name, ok := oneFile(fs, pos, infoUsage, stderr)
	if !ok {
		return exitUsage
	}
	f, ok := openTrace("info", name, stderr)
	if !ok {
		return exitFail
	}
	defer f.Close()

	rep, r, err := collectInfo(name, f)
	if err == nil {
		if format.value == "json" {
			err = writeInfoJSON(stdout, rep)
		} else {
			err = writeInfoText(stdout, rep)
		}
		if err != nil {
			fmt.Fprintf(stderr, "poolprof info: writing output: %v\n", err)
			return exitFail
		}
	}
	warnProblems(stderr, "info", name, r.Stats(), r.Problems())
	if err != nil {
		fmt.Fprintf(stderr, "poolprof info: %s: %v\n", name, err)
		return exitFail
	}
	return exitOK
}

// infoReport is what info prints; its JSON form is the --format json output.
type infoReport struct {
	File     string         `json:"file"`
	Size     int64          `json:"size"`
	Header   headerReport   `json:"header"`
	Buffers  bufferReport   `json:"buffers"`
	Events   eventsReport   `json:"events"`
	Problems problemsReport `json:"problems"`
	Groups   []groupRow     `json:"groups"`
}

type headerReport struct {
	OSMajor           uint8    `json:"os_major"`
	OSMinor           uint8    `json:"os_minor"`
	OSBuild           uint32   `json:"os_build"`
	FormatMajor       uint8    `json:"format_major"`
	FormatMinor       uint8    `json:"format_minor"`
	PointerSize       uint32   `json:"pointer_size"`
	HeaderPointerSize int      `json:"header_record_pointer_size"`
	CPUs              uint32   `json:"cpus"`
	BufferSize        uint32   `json:"buffer_size"`
	ClockType         string   `json:"clock_type"`
	ClockTypeCode     uint32   `json:"clock_type_code"`
	PerfFreq          int64    `json:"perf_freq"`
	CPUSpeedMHz       uint32   `json:"cpu_speed_mhz"`
	TimerResolution   uint32   `json:"timer_resolution_100ns"`
	Start             string   `json:"start"`
	End               string   `json:"end,omitempty"`
	Duration          float64  `json:"duration_seconds"`
	Boot              string   `json:"boot,omitempty"`
	TimeZoneBias      int32    `json:"time_zone_bias_minutes"`
	LoggerName        string   `json:"logger_name"`
	LogFileName       string   `json:"log_file_name"`
	LogFileMode       uint32   `json:"log_file_mode"`
	LogFileModeNames  []string `json:"log_file_mode_names"`
	EventsLost        uint32   `json:"events_lost"`
	BuffersLost       uint32   `json:"buffers_lost"`
	BuffersWritten    uint32   `json:"buffers_written"`
}

type bufferReport struct {
	Total       int          `json:"total"`
	Compressed  int          `json:"compressed"`
	Damaged     int          `json:"damaged"`
	Bytes       int64        `json:"bytes"`
	ByProcessor []countByKey `json:"by_processor"`
	ByType      []countByKey `json:"by_type"`
}

type countByKey struct {
	Key   string `json:"key"`
	Count int    `json:"count"`
}

type eventsReport struct {
	Total      int64   `json:"total"`
	FirstRaw   int64   `json:"first_ts_raw"`
	LastRaw    int64   `json:"last_ts_raw"`
	First      string  `json:"first,omitempty"`
	Last       string  `json:"last,omitempty"`
	Span       float64 `json:"span_seconds"`
	BadRecords int64   `json:"bad_records"`
	Unknown    int64   `json:"unknown_records"`
}

type problemsReport struct {
	Count int      `json:"count"`
	First []string `json:"first"`
}

// groupRow is one line of the event inventory: events that share provider,
// header kind, hook (kernel kinds), opcode, id (EVENT_HEADER) and version,
// with the range of their payload lengths. A fixed length says that one
// layout covers the group; a range says strings or optional fields.
type groupRow struct {
	Count      int64  `json:"count"`
	Provider   string `json:"provider"`
	Name       string `json:"name,omitempty"`
	Kind       string `json:"kind"`
	Hook       *int   `json:"hook,omitempty"`
	Opcode     uint8  `json:"opcode"`
	ID         *int   `json:"id,omitempty"`
	Version    uint16 `json:"version"`
	PayloadMin int    `json:"payload_min"`
	PayloadMax int    `json:"payload_max"`
	Sizes      int    `json:"payload_sizes"` // number of distinct payload lengths, capped at maxDistinct
}

type groupKey struct {
	provider etl.GUID
	kind     etl.HeaderKind
	hook     uint16
	opcode   uint8
	id       uint16
	version  uint16
}

// maxDistinct caps the distinct payload lengths a group remembers.
const maxDistinct = 100

type groupAgg struct {
	count    int64
	min, max int
	lengths  []int // distinct payload lengths, up to maxDistinct
}

func (g *groupAgg) add(n int) {
	if g.count == 0 || n < g.min {
		g.min = n
	}
	if g.count == 0 || n > g.max {
		g.max = n
	}
	g.count++
	if len(g.lengths) < maxDistinct && !slices.Contains(g.lengths, n) {
		g.lengths = append(g.lengths, n)
	}
}

// collectInfo reads the whole file in file order (counts do not depend on
// order, and the file walk needs no merge). It returns the reader for its
// problems even when reading failed.
func collectInfo(name string, f *etl.File) (*infoReport, *etl.Reader, error) {
	h := &f.Header
	rep := &infoReport{File: name, Size: f.Size()}
	rep.Header = headerReport{
		OSMajor: h.OSMajor, OSMinor: h.OSMinor, OSBuild: h.OSBuild,
		FormatMajor: h.FormatMajor, FormatMinor: h.FormatMinor,
		PointerSize: h.PointerSize, HeaderPointerSize: f.HeaderPointerSize,
		CPUs: h.NumProcessors, BufferSize: h.BufferSize,
		ClockType: h.ClockType.String(), ClockTypeCode: uint32(h.ClockType),
		PerfFreq: h.PerfFreq, CPUSpeedMHz: h.CPUSpeedMHz, TimerResolution: h.TimerResolution,
		Start:        formatFiletime(h.StartTime),
		End:          formatFiletime(h.EndTime),
		Boot:         formatFiletime(h.BootTime),
		TimeZoneBias: h.TimeZoneBias,
		LoggerName:   h.LoggerName, LogFileName: h.LogFileName,
		LogFileMode: h.LogFileMode, LogFileModeNames: modeNames(h.LogFileMode),
		EventsLost: h.EventsLost, BuffersLost: h.BuffersLost, BuffersWritten: h.BuffersWritten,
	}
	if h.EndTime > h.StartTime && h.StartTime != 0 {
		rep.Header.Duration = float64(h.EndTime-h.StartTime) / 1e7
	}

	bufs := f.Buffers()
	byCPU := map[int]int{}
	byType := map[etl.BufferType]int{}
	for i := range bufs {
		b := &bufs[i]
		rep.Buffers.Total++
		rep.Buffers.Bytes += int64(b.Size)
		if b.Compressed() {
			rep.Buffers.Compressed++
		}
		byCPU[int(b.Processor)]++
		byType[b.Type]++
	}
	for _, cpu := range sortedKeys(byCPU) {
		rep.Buffers.ByProcessor = append(rep.Buffers.ByProcessor, countByKey{strconv.Itoa(cpu), byCPU[cpu]})
	}
	for _, t := range sortedKeys(byType) {
		rep.Buffers.ByType = append(rep.Buffers.ByType, countByKey{t.String(), byType[t]})
	}

	r := f.NewReader(etl.OrderFile)
	groups := map[groupKey]*groupAgg{}
	var readErr error
	for ev, err := range r.All() {
		if err != nil {
			readErr = err
			break
		}
		k := groupKey{provider: ev.Provider, kind: ev.Kind, opcode: ev.Opcode, version: ev.Version}
		if ev.IsKernel() {
			k.hook = ev.HookID
		}
		if isEventHeader(ev.Kind) {
			k.id = ev.ID
		}
		g := groups[k]
		if g == nil {
			g = &groupAgg{}
			groups[k] = g
		}
		g.add(len(ev.Payload))
		e := &rep.Events
		if e.Total == 0 || ev.Timestamp < e.FirstRaw {
			e.FirstRaw = ev.Timestamp
		}
		if e.Total == 0 || ev.Timestamp > e.LastRaw {
			e.LastRaw = ev.Timestamp
		}
		e.Total++
	}
	st := r.Stats()
	rep.Buffers.Damaged = st.DamagedBuffers
	rep.Events.BadRecords = st.BadRecords
	rep.Events.Unknown = st.Unknown
	if rep.Events.Total > 0 {
		first, last := f.Time(rep.Events.FirstRaw), f.Time(rep.Events.LastRaw)
		rep.Events.First = first.Format(time.RFC3339Nano)
		rep.Events.Last = last.Format(time.RFC3339Nano)
		rep.Events.Span = last.Sub(first).Seconds()
	}
	rep.Problems.Count = st.Problems
	rep.Problems.First = []string{}
	for i, p := range r.Problems() {
		if i == maxShownProblems {
			break
		}
		rep.Problems.First = append(rep.Problems.First, p.Error())
	}

	rep.Groups = make([]groupRow, 0, len(groups))
	for k, g := range groups {
		row := groupRow{
			Count: g.count, Provider: k.provider.String(), Name: etl.ProviderName(k.provider),
			Kind: k.kind.String(), Opcode: k.opcode, Version: k.version,
			PayloadMin: g.min, PayloadMax: g.max, Sizes: len(g.lengths),
		}
		if k.kind.IsKernel() {
			hook := int(k.hook)
			row.Hook = &hook
		}
		if isEventHeader(k.kind) {
			id := int(k.id)
			row.ID = &id
		}
		rep.Groups = append(rep.Groups, row)
	}
	slices.SortFunc(rep.Groups, func(a, b groupRow) int {
		return cmp.Or(
			cmp.Compare(b.Count, a.Count),
			cmp.Compare(a.Provider, b.Provider),
			cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(intOr(a.Hook, -1), intOr(b.Hook, -1)),
			cmp.Compare(a.Opcode, b.Opcode),
			cmp.Compare(intOr(a.ID, -1), intOr(b.ID, -1)),
			cmp.Compare(a.Version, b.Version),
		)
	})
	return rep, r, readErr
}

func intOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// formatFiletime formats a FILETIME as RFC 3339 in UTC; zero (never set,
// as EndTime of a trace that was not closed) gives "".
func formatFiletime(ft int64) string {
	if ft == 0 {
		return ""
	}
	return etl.FiletimeToTime(ft).Format(time.RFC3339Nano)
}

// logFileModes names the EVENT_TRACE_*_MODE bits of LogFileMode (evntrace.h
// and the internal bits of ntwmi.h), lowest bit first.
var logFileModes = []struct {
	bit  uint32
	name string
}{
	{0x00000001, "FILE_MODE_SEQUENTIAL"},
	{0x00000002, "FILE_MODE_CIRCULAR"},
	{0x00000004, "FILE_MODE_APPEND"},
	{0x00000008, "FILE_MODE_NEWFILE"},
	{0x00000010, "USE_MS_FLUSH_TIMER"},
	{0x00000020, "FILE_MODE_PREALLOCATE"},
	{0x00000040, "NONSTOPPABLE_MODE"},
	{0x00000080, "SECURE_MODE"},
	{0x00000100, "REAL_TIME_MODE"},
	{0x00000200, "DELAY_OPEN_FILE_MODE"},
	{0x00000400, "BUFFERING_MODE"},
	{0x00000800, "PRIVATE_LOGGER_MODE"},
	{0x00001000, "ADD_HEADER_MODE"},
	{0x00002000, "USE_KBYTES_FOR_SIZE"},
	{0x00004000, "USE_GLOBAL_SEQUENCE"},
	{0x00008000, "USE_LOCAL_SEQUENCE"},
	{0x00010000, "RELOG_MODE"},
	{0x00020000, "PRIVATE_IN_PROC"},
	{0x00040000, "BUFFER_INTERFACE_MODE"},
	{0x00080000, "KD_FILTER_MODE"},
	{0x00100000, "REALTIME_RELOG_MODE"},
	{0x00200000, "LOST_EVENTS_DEBUG_MODE"},
	{0x00400000, "STOP_ON_HYBRID_SHUTDOWN"},
	{0x00800000, "PERSIST_ON_HYBRID_SHUTDOWN"},
	{0x01000000, "USE_PAGED_MEMORY"},
	{0x02000000, "SYSTEM_LOGGER_MODE"},
	{0x04000000, "COMPRESSED_MODE"},
	{0x08000000, "INDEPENDENT_SESSION_MODE"},
	{0x10000000, "NO_PER_PROCESSOR_BUFFERING"},
	{0x20000000, "BLOCKING_MODE"},
	{0x80000000, "ADDTO_TRIGGERS"},
}

// modeNames decodes LogFileMode; bits without a name are listed in hex.
func modeNames(mode uint32) []string {
	names := []string{}
	for _, m := range logFileModes {
		if mode&m.bit != 0 {
			names = append(names, m.name)
			mode &^= m.bit
		}
	}
	if mode != 0 {
		names = append(names, fmt.Sprintf("0x%08x", mode))
	}
	return names
}

func writeInfoJSON(w io.Writer, rep *infoReport) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func writeInfoText(w io.Writer, rep *infoReport) error {
	h := &rep.Header
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	p("File:           %s (%d bytes)\n", rep.File, rep.Size)
	p("OS:             Windows %d.%d build %d\n", h.OSMajor, h.OSMinor, h.OSBuild)
	p("Trace format:   %d.%d\n", h.FormatMajor, h.FormatMinor)
	p("Pointer size:   %d bytes\n", h.PointerSize)
	p("CPUs:           %d\n", h.CPUs)
	p("Buffer size:    %d bytes\n", h.BufferSize)
	p("Clock:          %s (type %d), frequency %d Hz, CPU speed %d MHz, timer resolution %s\n",
		h.ClockType, h.ClockTypeCode, h.PerfFreq, h.CPUSpeedMHz,
		time.Duration(h.TimerResolution)*100)
	p("Start:          %s\n", orDash(h.Start))
	if h.End != "" && h.Duration > 0 {
		p("End:            %s (duration %s)\n", h.End, seconds(h.Duration))
	} else {
		p("End:            %s\n", orDash(h.End))
	}
	p("Boot:           %s\n", orDash(h.Boot))
	p("Time zone:      %s (bias %d min)\n", utcOffset(h.TimeZoneBias), h.TimeZoneBias)
	p("Logger:         %s\n", orDash(h.LoggerName))
	p("Log file:       %s\n", orDash(h.LogFileName))
	p("Log file mode:  0x%08x %s\n", h.LogFileMode, strings.Join(h.LogFileModeNames, "|"))
	p("Lost:           %d events, %d buffers\n", h.EventsLost, h.BuffersLost)

	bu := &rep.Buffers
	p("\nBuffers:        %d (%d compressed, %d damaged), %d bytes; header says %d written\n",
		bu.Total, bu.Compressed, bu.Damaged, bu.Bytes, h.BuffersWritten)
	p("  by CPU:       %s\n", joinCounts(bu.ByProcessor))
	p("  by type:      %s\n", joinCounts(bu.ByType))

	ev := &rep.Events
	p("\nEvents:         %d\n", ev.Total)
	if ev.Total > 0 {
		p("  first:        %s (raw %d)\n", ev.First, ev.FirstRaw)
		p("  last:         %s (raw %d), span %s\n", ev.Last, ev.LastRaw, seconds(ev.Span))
	}
	if ev.BadRecords > 0 || ev.Unknown > 0 {
		p("  skipped:      %d bad records, %d records of unknown kinds\n", ev.BadRecords, ev.Unknown)
	}

	pr := &rep.Problems
	if pr.Count == 0 {
		p("\nProblems:       none\n")
	} else {
		p("\nProblems:       %d\n", pr.Count)
		for _, s := range pr.First {
			p("  %s\n", s)
		}
		if pr.Count > len(pr.First) {
			p("  ... and %d more\n", pr.Count-len(pr.First))
		}
	}

	p("\nEvents by provider, header kind, opcode, id and version:\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "COUNT\tPROVIDER\tNAME\tKIND\tHOOK\tOPCODE\tID\tVERSION\tPAYLOAD")
	for _, g := range rep.Groups {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%d\t%s\n",
			g.Count, g.Provider, orDash(g.Name), g.Kind, hookText(g.Hook), g.Opcode,
			idText(g.ID), g.Version, payloadRange(g))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func hookText(h *int) string {
	if h == nil {
		return "-"
	}
	return fmt.Sprintf("0x%04x", *h)
}

func idText(id *int) string {
	if id == nil {
		return "-"
	}
	return strconv.Itoa(*id)
}

// payloadRange shows one length when the group has a fixed layout, else
// min-max and how many distinct lengths occur.
func payloadRange(g groupRow) string {
	if g.PayloadMin == g.PayloadMax {
		return strconv.Itoa(g.PayloadMin)
	}
	more := ""
	if g.Sizes >= maxDistinct {
		more = "+"
	}
	return fmt.Sprintf("%d-%d (%d%s sizes)", g.PayloadMin, g.PayloadMax, g.Sizes, more)
}

func joinCounts(cs []countByKey) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Key + ":" + strconv.Itoa(c.Count)
	}
	return strings.Join(parts, " ")
}

// seconds prints a duration in seconds with millisecond precision, the
// scale of a trace.
func seconds(s float64) string {
	return strconv.FormatFloat(s, 'f', 3, 64) + " s"
}

// utcOffset turns the header's bias (local = UTC - bias) into "UTC+02:00".
func utcOffset(bias int32) string {
	off := -int(bias)
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("UTC%c%02d:%02d", sign, off/60, off%60)
}
