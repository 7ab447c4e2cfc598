package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/poolprof/poolprof/analysis"
	"github.com/poolprof/poolprof/pool"
)

const summaryUsage = "poolprof summary [--format text|json|csv] [--sort KEY] [--top N] [filters] FILE"

// summaryJSON is the contract of `poolprof summary --format json`
// (design.md): rows and totals from the pool package, health from the
// whole run.
type summaryJSON struct {
	Rows   []pool.JSONRow  `json:"rows"`
	Totals pool.JSONCounts `json:"totals"`
	Health analysis.Health `json:"health"`
}

// runSummary prints poolmon-style rows per (tag, paged) with the WPA
// lifetime sets, and a health section.
func runSummary(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("summary")
	format := newChoice("text", "text", "json", "csv")
	fs.Var(format, "format", "output format: text, json or csv")
	sortKey := fs.String("sort", "bytes", "sort rows by: bytes, allocs, frees, diff, tag, aifo, ... (poolmon's letters too)")
	top := fs.Int("top", 0, "print only the first N rows (0: all)")
	series := fs.String("series", "", "also write outstanding bytes per tag over time to this CSV file (time,tag,bytes,count)")
	var a analysisFlags
	a.register(fs, "")
	fs.DurationVar(&a.bucket, "bucket", time.Minute, "bucket width of --series")
	fs.IntVar(&a.seriesTop, "series-top", 10, "tags --series follows: the N with most bytes outstanding at the end (--tag chooses them instead)")
	pos, status, ok := parseArgs(fs, args, summaryUsage, stdout, stderr)
	if !ok {
		return status
	}
	name, ok := oneFile(fs, pos, summaryUsage, stderr)
	if !ok {
		return exitUsage
	}
	key, err := pool.ParseSortKey(*sortKey)
	if err != nil {
		fmt.Fprintf(stderr, "poolprof summary: --sort: %v\n", err)
		return exitUsage
	}
	if *series == "" {
		a.bucket = 0
	}
	res, status := analyze("summary", name, &a, false, stderr)
	if res == nil {
		return status
	}
	ro := pool.ReportOptions{Sort: key, Top: *top}
	switch format.value {
	case "json":
		s := pool.Summary(res.Pool, ro)
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(summaryJSON{Rows: s.Rows, Totals: s.Totals, Health: res.Health})
	case "csv":
		err = pool.WriteCSV(stdout, res.Pool, ro)
	default:
		if err = pool.WriteText(stdout, res.Pool, ro); err == nil {
			err = writeHealthText(stdout, &res.Health)
		}
	}
	if err == nil && *series != "" {
		err = writeSeries(*series, res)
	}
	if err != nil {
		fmt.Fprintf(stderr, "poolprof summary: %v\n", err)
		return exitFail
	}
	warnHealth(stderr, "summary", name, &res.Health)
	return exitOK
}

// writeSeries writes the time series as CSV with wall-clock times (UTC),
// replacing path only once the whole file is written.
func writeSeries(path string, res *analysis.Result) error {
	tmp := path + ".tmp"
	fh, err := os.Create(tmp)
	if err != nil {
		return err
	}
	f := res.File
	err = pool.WriteSeriesCSV(fh, res.Pool.Series, func(ts int64) string {
		return f.Time(ts).Format(time.RFC3339Nano)
	})
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// writeHealthText prints the health section under the table.
func writeHealthText(w io.Writer, h *analysis.Health) error {
	_, err := fmt.Fprintf(w, `
Health:
  lost by the session:        %d events, %d buffers
  damaged buffers:            %d of %d (%d problems)
  frees without allocation:   %d (AOFI)
  lost frees:                 %d
  allocations without stack:  %d
  stack key refs unresolved:  %d kernel, %d user
  stack events unmatched:     %d
  pool events not decoded:    %d kinds
  distinct stacks, modules:   %d, %d
`, h.EventsLost, h.BuffersLost, h.DamagedBuffers, h.Buffers, h.ProblemCount,
		h.Pool.FreesWithoutAlloc, h.Pool.LostFrees, h.Pool.AllocsWithoutStack,
		h.Stacks.UnresolvedKernelRefs, h.Stacks.UnresolvedUserRefs, h.Stacks.Unmatched,
		len(h.NotDecoded), h.Stacks.DistinctStacks, h.Stacks.Modules)
	return err
}
