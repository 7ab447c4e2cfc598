package pool

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// ReportOptions shape the rows a writer prints. Totals and health always
// cover the whole result.
type ReportOptions struct {
	Sort SortKey // SortBytes (outstanding bytes, descending) by default
	Top  int     // print only the first Top rows; 0 prints all
}

// reportRows returns the rows to print, sorted, without touching r.Rows.
func reportRows(r *Result, o ReportOptions) []Row {
	rows := slices.Clone(r.Rows)
	SortRows(rows, o.Sort)
	if o.Top > 0 && len(rows) > o.Top {
		rows = rows[:o.Top]
	}
	return rows
}

// JSONSummary is the output of `poolprof summary --format json`
// (design.md, "Output contracts"): {"rows": [...], "totals": {...},
// "health": {...}}.
type JSONSummary struct {
	Rows   []JSONRow  `json:"rows"`
	Totals JSONCounts `json:"totals"`
	Health JSONHealth `json:"health"`
}

// JSONRow is a row: tag and paged, the counts with the contract's keys
// first, then pool ("paged" or "nonpaged").
type JSONRow struct {
	Tag   string `json:"tag"`
	Paged bool   `json:"paged"`
	JSONCounts
	Pool string `json:"pool"`
}

// JSONCounts holds the keys design.md fixes (allocs through lost_frees) and
// then the extra ones.
type JSONCounts struct {
	Allocs      uint64 `json:"allocs"`
	Frees       uint64 `json:"frees"`
	AIFOCount   uint64 `json:"aifo_count"`
	AIFOBytes   uint64 `json:"aifo_bytes"`
	AIFICount   uint64 `json:"aifi_count"`
	AIFIBytes   uint64 `json:"aifi_bytes"`
	AOFICount   uint64 `json:"aofi_count"`
	LostFrees   uint64 `json:"lost_frees"`
	Diff        int64  `json:"diff"`
	Bytes       uint64 `json:"bytes"`
	PerAlloc    uint64 `json:"per_alloc"`
	Outstanding uint64 `json:"outstanding"`
	AOFIBytes   uint64 `json:"aofi_bytes"`
	AOFOCount   uint64 `json:"aofo_count"`
	AOFOBytes   uint64 `json:"aofo_bytes"`
	LostBytes   uint64 `json:"lost_bytes"`
}

// JSONHealth is Health with snake_case keys.
type JSONHealth struct {
	FreesWithoutAlloc  uint64 `json:"frees_without_alloc"`
	LostFrees          uint64 `json:"lost_frees"`
	AllocsWithoutStack uint64 `json:"allocs_without_stack"`
	Events             uint64 `json:"events"`
	Allocs             uint64 `json:"allocs"`
	Frees              uint64 `json:"frees"`
	LostFreesOutside   uint64 `json:"lost_frees_outside"`
	FreeMismatches     uint64 `json:"free_mismatches"`
	Snapshots          uint64 `json:"snapshots"`
	SnapshotsNew       uint64 `json:"snapshots_new"`
	EventsBefore       uint64 `json:"events_before"`
	EventsAfter        uint64 `json:"events_after"`
	OutOfOrder         uint64 `json:"out_of_order"`
	Ignored            uint64 `json:"ignored"`
}

func jsonCounts(c *Counts) JSONCounts {
	return JSONCounts{
		Allocs: c.Allocs, Frees: c.Frees,
		AIFOCount: c.AIFOCount, AIFOBytes: c.AIFOBytes,
		AIFICount: c.AIFICount, AIFIBytes: c.AIFIBytes,
		AOFICount: c.AOFICount, LostFrees: c.LostFrees,
		Diff: c.Diff, Bytes: c.Bytes, PerAlloc: c.PerAlloc, Outstanding: c.Outstanding,
		AOFIBytes: c.AOFIBytes, AOFOCount: c.AOFOCount, AOFOBytes: c.AOFOBytes, LostBytes: c.LostBytes,
	}
}

func poolName(paged bool) string {
	if paged {
		return "paged"
	}
	return "nonpaged"
}

// Summary returns the JSON shape of r.
func Summary(r *Result, o ReportOptions) JSONSummary {
	rows := reportRows(r, o)
	s := JSONSummary{Rows: make([]JSONRow, 0, len(rows)), Totals: jsonCounts(&r.Totals)}
	for i := range rows {
		row := &rows[i]
		s.Rows = append(s.Rows, JSONRow{Tag: TagString(row.Tag), Paged: row.Paged,
			JSONCounts: jsonCounts(&row.Counts), Pool: poolName(row.Paged)})
	}
	h := &r.Health
	s.Health = JSONHealth{
		FreesWithoutAlloc: h.FreesWithoutAlloc, LostFrees: h.LostFrees, AllocsWithoutStack: h.AllocsWithoutStack,
		Events: h.Events, Allocs: h.Allocs, Frees: h.Frees, LostFreesOutside: h.LostFreesOutside,
		FreeMismatches: h.FreeMismatches, Snapshots: h.Snapshots, SnapshotsNew: h.SnapshotsNew,
		EventsBefore: h.EventsBefore, EventsAfter: h.EventsAfter, OutOfOrder: h.OutOfOrder, Ignored: h.Ignored,
	}
	return s
}

// WriteJSON writes Summary(r, o) as indented JSON followed by a newline.
func WriteJSON(w io.Writer, r *Result, o ReportOptions) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(Summary(r, o))
}

// csvHeader are the CSV columns: the JSON row keys, in the same order.
var csvHeader = []string{
	"tag", "paged", "allocs", "frees", "aifo_count", "aifo_bytes", "aifi_count", "aifi_bytes", "aofi_count", "lost_frees",
	"diff", "bytes", "per_alloc", "outstanding", "aofi_bytes", "aofo_count", "aofo_bytes", "lost_bytes", "pool",
}

// WriteCSV writes a header and one record per row, with the columns and
// values of the JSON rows (tags as TagString prints them).
func WriteCSV(w io.Writer, r *Result, o ReportOptions) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	for _, row := range reportRows(r, o) {
		c := &row.Counts
		rec := []string{
			TagString(row.Tag), strconv.FormatBool(row.Paged), u(c.Allocs), u(c.Frees),
			u(c.AIFOCount), u(c.AIFOBytes), u(c.AIFICount), u(c.AIFIBytes), u(c.AOFICount), u(c.LostFrees),
			strconv.FormatInt(c.Diff, 10), u(c.Bytes), u(c.PerAlloc), u(c.Outstanding),
			u(c.AOFIBytes), u(c.AOFOCount), u(c.AOFOBytes), u(c.LostBytes), poolName(row.Paged),
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// textColumn is one column of the text table.
type textColumn struct {
	head  string
	left  bool
	value func(tag, typ string, c *Counts) string
}

func countColumn(head string, f func(c *Counts) uint64) textColumn {
	return textColumn{head: head, value: func(_, _ string, c *Counts) string { return strconv.FormatUint(f(c), 10) }}
}

// WriteText writes a table in poolmon's layout (Tag, Type, Allocs, Frees,
// Diff, Bytes, Per Alloc) followed by the outstanding count and the
// lifetime classes, a total line, and a line of health counters. The AOFO
// columns appear only when some allocation is AOFO.
func WriteText(w io.Writer, r *Result, o ReportOptions) error {
	cols := []textColumn{
		{head: "Tag", left: true, value: func(tag, _ string, _ *Counts) string { return tag }},
		{head: "Type", left: true, value: func(_, typ string, _ *Counts) string { return typ }},
		countColumn("Allocs", func(c *Counts) uint64 { return c.Allocs }),
		countColumn("Frees", func(c *Counts) uint64 { return c.Frees }),
		{head: "Diff", value: func(_, _ string, c *Counts) string { return strconv.FormatInt(c.Diff, 10) }},
		countColumn("Bytes", func(c *Counts) uint64 { return c.Bytes }),
		countColumn("Per Alloc", func(c *Counts) uint64 { return c.PerAlloc }),
		countColumn("Outstanding", func(c *Counts) uint64 { return c.Outstanding }),
		countColumn("AIFO", func(c *Counts) uint64 { return c.AIFOCount }),
		countColumn("AIFO Bytes", func(c *Counts) uint64 { return c.AIFOBytes }),
		countColumn("AIFI", func(c *Counts) uint64 { return c.AIFICount }),
		countColumn("AIFI Bytes", func(c *Counts) uint64 { return c.AIFIBytes }),
		countColumn("AOFI", func(c *Counts) uint64 { return c.AOFICount }),
	}
	if r.Totals.AOFOCount > 0 {
		cols = append(cols,
			countColumn("AOFO", func(c *Counts) uint64 { return c.AOFOCount }),
			countColumn("AOFO Bytes", func(c *Counts) uint64 { return c.AOFOBytes }))
	}
	cols = append(cols, countColumn("Lost Frees", func(c *Counts) uint64 { return c.LostFrees }))

	rows := reportRows(r, o)
	cells := make([][]string, 0, len(rows)+2)
	line := func(tag, typ string, c *Counts) {
		l := make([]string, len(cols))
		for i, col := range cols {
			l[i] = col.value(tag, typ, c)
		}
		cells = append(cells, l)
	}
	head := make([]string, len(cols))
	for i, col := range cols {
		head[i] = col.head
	}
	cells = append(cells, head)
	for i := range rows {
		line(TagString(rows[i].Tag), PagedString(rows[i].Paged), &rows[i].Counts)
	}
	line("Total", "", &r.Totals)

	width := make([]int, len(cols))
	for _, l := range cells {
		for i, s := range l {
			width[i] = max(width[i], len(s))
		}
	}
	bw := bufio.NewWriter(w)
	for _, l := range cells {
		var b strings.Builder
		for i, s := range l {
			if i > 0 {
				b.WriteString("  ")
			}
			pad := strings.Repeat(" ", width[i]-len(s))
			if cols[i].left {
				if i == len(l)-1 {
					pad = ""
				}
				b.WriteString(s + pad)
			} else {
				b.WriteString(pad + s)
			}
		}
		bw.WriteString(strings.TrimRight(b.String(), " "))
		bw.WriteByte('\n')
	}
	if o.Top > 0 && len(r.Rows) > o.Top {
		fmt.Fprintf(bw, "(%d of %d rows)\n", o.Top, len(r.Rows))
	}
	h := &r.Health
	fmt.Fprintf(bw, "\nfrees without allocation: %d; lost frees: %d (+%d before the window); allocations without stack: %d of %d\n",
		h.FreesWithoutAlloc, h.LostFrees, h.LostFreesOutside, h.AllocsWithoutStack, h.Allocs)
	return bw.Flush()
}

// WriteSeriesCSV writes a series in long form: time,tag,bytes,count, one
// record per bucket and tag. Times are raw timestamps unless formatTime,
// which knows the trace's clock, is given to write them otherwise.
func WriteSeriesCSV(w io.Writer, s *Series, formatTime func(int64) string) error {
	if formatTime == nil {
		formatTime = func(t int64) string { return strconv.FormatInt(t, 10) }
	}
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"time", "tag", "bytes", "count"}); err != nil {
		return err
	}
	if s != nil {
		for i, t := range s.Times {
			for _, ts := range s.Tags {
				rec := []string{formatTime(t), TagString(ts.Tag),
					strconv.FormatUint(ts.Bytes[i], 10), strconv.FormatUint(ts.Counts[i], 10)}
				if err := cw.Write(rec); err != nil {
					return err
				}
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
