// Tokeleak walks through the investigation of poolprof's story with the
// library rather than the command: a server's paged pool fills up; which
// tag holds it, in which allocations, and which call stack made them?
//
// It opens a WPR "Pool usage" trace (by default the bundled example,
// testdata/example/tokeleak.etl, found from the current directory or one
// of its parents), runs the analysis once, and prints
//
//  1. the tags holding the most outstanding pool memory, as poolmon would;
//  2. the top tag's allocations made during the trace and never freed
//     (WPA's AIFO set) by size: 6043 × 1664 bytes of Toke in the example;
//  3. the heaviest stack of those allocations, frames named module+0xRVA,
//     with the frame at ntkrnlmp.exe!SepDuplicateToken marked;
//  4. with -o FILE, a pprof heap profile for go tool pprof.
//
// Usage, from the repository root:
//
//	go run ./examples/tokeleak [-o toke.pb.gz] [-top N] [-tag TAG] [trace.etl]
package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/poolprof/poolprof/analysis"
	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/pool"
	"github.com/poolprof/poolprof/pool/pprof"
	"github.com/poolprof/poolprof/stacks"
)

// The bundled example, relative to the repository root.
const defaultTrace = "testdata/example/tokeleak.etl"

// The frame the story leads to. Without symbols a frame is module+0xRVA;
// in the kernel build of the example, ntkrnlmp.pdb puts the return address
// of SepDuplicateToken's call to ObCreateObject at this RVA (poolprof sym
// names such RVAs with the PDB).
const (
	kernelModule         = "ntkrnlmp.exe"
	sepDuplicateToken    = "SepDuplicateToken"
	sepDuplicateTokenRVA = 0x5a3b10
)

func main() {
	err := run(os.Args[1:], os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tokeleak:", err)
		os.Exit(1)
	}
}

// run is the program without the process, for tests: args are the
// command-line arguments after the program name.
func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("tokeleak", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned; -h prints below
	out := fs.String("o", "", "write a pprof heap profile to this `file`")
	top := fs.Int("top", 5, "list the `n` tags with the most outstanding bytes")
	tagFlag := fs.String("tag", "", "investigate this `tag` (default: the tag with the most outstanding bytes)")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, "usage: tokeleak [-o file] [-top n] [-tag tag] [trace.etl]")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return err
	} else if err != nil {
		return fmt.Errorf("%w (see -h)", err)
	}
	if *top < 1 {
		return fmt.Errorf("-top %d: want at least 1", *top)
	}
	if fs.NArg() > 1 {
		return fmt.Errorf("want at most one trace, got %d", fs.NArg())
	}
	name := fs.Arg(0)
	if name == "" {
		var err error
		if name, err = findExample(); err != nil {
			return err
		}
	}

	// One pass over the trace: pool events matched into allocations and
	// frees, their stacks joined, the module map built. KeepClosed keeps
	// the freed allocations (grouped by stack) for the profile's alloc_*
	// values.
	f, err := etl.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := analysis.Run(f, analysis.Options{Pool: pool.Options{KeepClosed: true}})
	if err != nil {
		return err
	}
	h := &res.File.Header
	fmt.Fprintf(stdout, "Trace %s: Windows %d.%d build %d, %d CPUs, %d pool allocations and %d frees in %s\n",
		filepath.ToSlash(name), h.OSMajor, h.OSMinor, h.OSBuild, h.NumProcessors,
		res.Pool.Totals.Allocs, res.Pool.Totals.Frees, res.File.Time(res.Pool.End).Sub(res.File.Time(res.Pool.Start)).Round(time.Second))
	if lost := res.Health.EventsLost; lost > 0 {
		fmt.Fprintf(stdout, "(the session lost %d events: a lost free makes an allocation look outstanding)\n", lost)
	}

	// 1. poolmon's view: which tags hold the memory.
	rows := res.Pool.Rows // sorted by outstanding bytes
	if len(rows) == 0 {
		return errors.New("no pool allocations in the trace: was it taken with WPR's Pool usage profile?")
	}
	fmt.Fprintf(stdout, "\n1. Tags holding the most pool memory at the end of the trace:\n\n")
	fmt.Fprintf(stdout, "   %-4s  %-5s  %11s  %10s\n", "Tag", "Pool", "Outstanding", "Bytes")
	for _, r := range rows[:min(*top, len(rows))] {
		fmt.Fprintf(stdout, "   %-4s  %-5s  %11d  %10d\n", pool.TagString(r.Tag), pool.PagedString(r.Paged), r.Outstanding, r.Bytes)
	}

	tag := rows[0].Tag
	if *tagFlag != "" {
		if tag, err = pool.ParseTag(*tagFlag); err != nil {
			return fmt.Errorf("-tag: %w", err)
		}
	}
	tagName := pool.TagString(tag)

	// 2. WPA's view: the tag's allocations made during the trace and
	// still outstanding at its end (AIFO), by size.
	type bySize struct{ size, count, bytes uint64 }
	var sizes []bySize
	var leak stacks.Counts
	var total uint64
	pids := map[uint32]uint64{}
	for i := range res.Pool.Outstanding {
		a := &res.Pool.Outstanding[i]
		if a.Tag != tag || a.Lifetime != pool.AIFO {
			continue
		}
		j := slices.IndexFunc(sizes, func(s bySize) bool { return s.size == a.Size })
		if j < 0 {
			j = len(sizes)
			sizes = append(sizes, bySize{size: a.Size})
		}
		sizes[j].count++
		sizes[j].bytes += a.Size
		total += a.Size
		pids[a.PID]++
		leak.Add(stacks.Ref(a.Stack), 1, int64(a.Size))
	}
	if len(sizes) == 0 {
		return fmt.Errorf("no %s allocations outstanding (AIFO)", tagName)
	}
	slices.SortFunc(sizes, func(a, b bySize) int {
		return cmp.Or(cmp.Compare(b.bytes, a.bytes), cmp.Compare(a.size, b.size))
	})
	var count uint64
	for _, s := range sizes {
		count += s.count
	}
	fmt.Fprintf(stdout, "\n2. %s: %d allocations made during the trace and never freed (AIFO), %d bytes, by size:\n\n",
		tagName, count, total)
	fmt.Fprintf(stdout, "   %6s  %6s  %10s\n", "Size", "Count", "Bytes")
	for i, s := range sizes {
		fmt.Fprintf(stdout, "   %6d  %6d  %10d", s.size, s.count, s.bytes)
		if i == 0 {
			fmt.Fprintf(stdout, "  = %d × %d bytes, %.0f%% of the tag", s.count, s.size, 100*float64(s.bytes)/float64(total))
		}
		fmt.Fprintln(stdout)
	}
	fmt.Fprintf(stdout, "   made by %s\n", processList(res, pids))

	// 3. The stack column: fold the allocations by stack, name frames
	// after the trace's module map, and take the heaviest.
	heavy := leak.Samples(res.Stacks, res.Modules)[0]
	mark, nt := "", kernel(res.Modules)
	if nt != nil {
		mark = res.Modules.FrameName(nt.Base+sepDuplicateTokenRVA, 0)
	}
	fmt.Fprintf(stdout, "\n3. The heaviest %s stack: %d allocations, %d bytes; innermost frame first:\n\n",
		tagName, heavy.Count, heavy.Bytes)
	if len(heavy.Frames) == 0 {
		fmt.Fprintln(stdout, "   [no stack]: the trace was taken without stacks for pool allocations")
	}
	for _, fr := range heavy.Frames {
		if fr == mark {
			fmt.Fprintf(stdout, "   => %-28s %s!%s: a new token object per call\n", fr, kernelModule, sepDuplicateToken)
			continue
		}
		fmt.Fprintf(stdout, "      %s\n", fr)
	}
	if nt != nil && !nt.PDB.IsZero() && slices.Contains(heavy.Frames, mark) {
		fmt.Fprintf(stdout, "\n   A symbol store files %s under %s; with it, poolprof sym names RVA %#x.\n",
			nt.PDB.Name, analysis.BuildID(nt.PDB), sepDuplicateTokenRVA)
	}

	// 4. pprof.
	if *out == "" {
		fmt.Fprintf(stdout, "\n4. Run with -o toke.pb.gz to write a heap profile for go tool pprof.\n")
		return nil
	}
	if err := writeProfile(*out, name, res); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n4. Wrote %s; explore it with\n\n   go tool pprof -http=: -tagfocus pooltag=%s %s\n", *out, tagName, *out)
	return nil
}

// findExample looks for the bundled example in the current directory and
// its parents, so that the program runs from anywhere in the repository.
func findExample() (string, error) {
	dir := "."
	for range 10 {
		name := filepath.Join(dir, filepath.FromSlash(defaultTrace))
		if _, err := os.Stat(name); err == nil {
			return name, nil
		}
		dir = filepath.Join(dir, "..")
	}
	return "", fmt.Errorf("no trace given, and no %s in this directory or its parents", defaultTrace)
}

// kernel returns the kernel image of the module map, or nil.
func kernel(m *stacks.Modules) *stacks.Module {
	for _, mod := range m.Modules() {
		if mod.Kernel && mod.Name == kernelModule {
			return mod
		}
	}
	return nil
}

// processList names the processes that made the allocations, most first.
func processList(res *analysis.Result, pids map[uint32]uint64) string {
	keys := make([]uint32, 0, len(pids))
	for pid := range pids {
		keys = append(keys, pid)
	}
	slices.SortFunc(keys, func(a, b uint32) int { return cmp.Or(cmp.Compare(pids[b], pids[a]), cmp.Compare(a, b)) })
	var parts []string
	for _, pid := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", processName(res, pid), pids[pid]))
	}
	return strings.Join(parts, ", ")
}

func processName(res *analysis.Result, pid uint32) string { return analysis.ProcessLabel(res, pid) }

// writeProfile writes a pprof heap profile of res to name: inuse_* are the
// allocations outstanding at the end of the trace, alloc_* every
// allocation made during it, one sample per stack, process, tag, pool type
// and lifetime class.
func writeProfile(name, trace string, res *analysis.Result) error {
	samples := analysis.ProfileSamples(res, nil)
	facts := analysis.ProfileFacts(res, trace)
	facts.DropFrames = analysis.AllocatorFrames(samples)
	fh, err := os.Create(name)
	if err != nil {
		return err
	}
	err = pprof.Write(fh, samples, facts)
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	return err
}
