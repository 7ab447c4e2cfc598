package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/poolprof/poolprof/analysis"
	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/pool"
)

// analysisFlags are the filters and window that summary, stacks and pprof
// share, named after poolmon's and WPA's options.
type analysisFlags struct {
	tags, excludeTags string
	types             string
	pools             string
	minSize, maxSize  uint64
	pids              string
	from, to          time.Duration
	minAge            time.Duration
	// bucket and seriesTop ask for outstanding bytes per tag over time
	// (summary --series).
	bucket    time.Duration
	seriesTop int
}

func (a *analysisFlags) register(fs *flag.FlagSet, defaultTypes string) {
	fs.StringVar(&a.tags, "tag", "", "keep only these pool tags, comma-separated, with poolmon's * and ? wildcards (e.g. Toke,Se*)")
	fs.StringVar(&a.excludeTags, "exclude-tag", "", "drop these pool tags (same syntax as --tag)")
	fs.StringVar(&a.types, "type", defaultTypes, "lifetime types to keep: AIFO, AIFI, AOFI, AOFO, comma-separated (empty keeps all)")
	fs.StringVar(&a.pools, "pool", "", "pools to keep: paged, nonpaged, session, comma-separated")
	fs.Uint64Var(&a.minSize, "min-size", 0, "keep allocations of at least this many bytes")
	fs.Uint64Var(&a.maxSize, "max-size", 0, "keep allocations of at most this many bytes (0: no limit)")
	fs.StringVar(&a.pids, "pid", "", "keep allocations made by these process ids, comma-separated")
	fs.DurationVar(&a.from, "from", 0, "start of the window, as an offset from the trace start (e.g. 5m)")
	fs.DurationVar(&a.to, "to", 0, "end of the window, as an offset from the trace start (0: the end of the trace)")
	fs.DurationVar(&a.minAge, "min-age", 0, "keep outstanding allocations at least this old at the end of the window")
}

// options turns the flags into analysis options for f. With a nil f it
// only checks them, so that a bad flag is a usage error (status 2) even
// when the trace cannot be read.
func (a *analysisFlags) options(f *etl.File) (analysis.Options, error) {
	var o analysis.Options
	flt := &o.Pool.Filter
	var err error
	if flt.Tags, err = pool.ParseTagPatterns(a.tags); err != nil {
		return o, fmt.Errorf("--tag: %w", err)
	}
	if flt.ExcludeTags, err = pool.ParseTagPatterns(a.excludeTags); err != nil {
		return o, fmt.Errorf("--exclude-tag: %w", err)
	}
	if flt.Lifetimes, err = pool.ParseLifetimes(a.types); err != nil {
		return o, fmt.Errorf("--type: %w", err)
	}
	if flt.Pools, err = pool.ParsePoolSet(a.pools); err != nil {
		return o, fmt.Errorf("--pool: %w", err)
	}
	if a.maxSize > 0 && a.minSize > a.maxSize {
		return o, fmt.Errorf("--min-size %d is above --max-size %d", a.minSize, a.maxSize)
	}
	flt.MinSize, flt.MaxSize = a.minSize, a.maxSize
	for _, s := range splitList(a.pids) {
		pid, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return o, fmt.Errorf("--pid: %q is not a process id", s)
		}
		flt.PIDs = append(flt.PIDs, uint32(pid))
	}
	if a.bucket < 0 || a.seriesTop < 0 {
		return o, fmt.Errorf("--bucket and --series-top cannot be negative")
	}
	if a.from < 0 || a.to < 0 || (a.to > 0 && a.to <= a.from) {
		return o, fmt.Errorf("--from %v --to %v is not a window", a.from, a.to)
	}
	if f == nil {
		return o, nil
	}
	switch {
	case a.from > 0 && a.to > 0:
		o.Pool.Window = pool.Between(analysis.Offset(f, a.from), analysis.Offset(f, a.to))
	case a.from > 0:
		o.Pool.Window = pool.From(analysis.Offset(f, a.from))
	case a.to > 0:
		o.Pool.Window = pool.Until(analysis.Offset(f, a.to))
	}
	if a.minAge > 0 {
		flt.MinAge = analysis.Offset(f, a.minAge) - f.StartTimestamp()
	}
	if a.bucket > 0 {
		o.Pool.Series = pool.SeriesOptions{
			Width: max(analysis.Offset(f, a.bucket)-f.StartTimestamp(), 1),
			Tags:  flt.Tags,
			Top:   a.seriesTop,
		}
	}
	return o, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// analyze opens name and runs the analysis with the flags, drawing a
// progress line on a terminal. It reports failures on stderr and returns
// the exit status to use when it fails.
func analyze(cmd, name string, a *analysisFlags, keepClosed bool, stderr io.Writer) (*analysis.Result, int) {
	if _, err := a.options(nil); err != nil {
		fmt.Fprintf(stderr, "poolprof %s: %v\n", cmd, err)
		return nil, exitUsage
	}
	f, ok := openTrace(cmd, name, stderr)
	if !ok {
		return nil, exitFail
	}
	opts, err := a.options(f)
	if err != nil {
		fmt.Fprintf(stderr, "poolprof %s: %v\n", cmd, err)
		f.Close()
		return nil, exitUsage
	}
	opts.Pool.KeepClosed = keepClosed
	p := newProgress(stderr, name, f.Size())
	opts.Progress = p.update
	res, err := analysis.Run(f, opts)
	p.finish()
	f.Close()
	if err != nil {
		fmt.Fprintf(stderr, "poolprof %s: %s: %v\n", cmd, name, err)
		return nil, exitFail
	}
	return res, exitOK
}

// warnHealth prints, after the output, what makes the numbers uncertain.
func warnHealth(stderr io.Writer, cmd, name string, h *analysis.Health) {
	if h.Pool.Events == 0 && len(h.NotDecoded) == 0 {
		fmt.Fprintf(stderr, "poolprof %s: warning: %s holds no pool events: record one with WPR's \"Pool usage\" profile (wpr -start Pool)"+
			" or xperf -on PROC_THREAD+LOADER+POOL -stackwalk PoolAlloc+PoolFree+PoolAllocSession+PoolFreeSession\n", cmd, name)
	}
	if h.ProblemCount > 0 {
		fmt.Fprintf(stderr, "poolprof %s: warning: %s: %d problems, %d damaged buffers skipped; first: %v\n",
			cmd, name, h.ProblemCount, h.DamagedBuffers, h.Problems[0])
	}
	if h.EventsLost > 0 || h.BuffersLost > 0 {
		fmt.Fprintf(stderr, "poolprof %s: warning: %s: the session lost %d events and %d buffers: expect frees without allocations and allocations that look outstanding\n",
			cmd, name, h.EventsLost, h.BuffersLost)
	}
	for _, nd := range h.NotDecoded {
		fmt.Fprintf(stderr, "poolprof %s: warning: %d pool events not decoded (%s opcode %d version %d, %d payload bytes): %s\n",
			cmd, nd.Count, nd.Kind, nd.Opcode, nd.Version, nd.PayloadLen, nd.Reason)
	}
}
