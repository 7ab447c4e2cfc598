package main

import (
	"fmt"
	"io"
	"os"

	"github.com/poolprof/poolprof/analysis"
	"github.com/poolprof/poolprof/pool/pprof"
)

const pprofUsage = "poolprof pprof -o FILE.pb.gz [--type LIST] [--symbols PATH] [--offline] [--no-symbols] [filters] FILE"

// runPprof writes a gzipped heap profile that go tool pprof opens as it
// is: inuse_* are the allocations outstanding at the end of the window,
// alloc_* every allocation made inside it.
func runPprof(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("pprof")
	out := fs.String("o", "", "write the profile to this file (required)")
	keepAlloc := fs.Bool("keep-allocator", false, "keep the pool allocator's own frames (ExAllocatePool*) instead of hiding them")
	var a analysisFlags
	a.register(fs, "")
	var sf symbolFlags
	sf.register(fs, true)
	pos, status, ok := parseArgs(fs, args, pprofUsage, stdout, stderr)
	if !ok {
		return status
	}
	name, ok := oneFile(fs, pos, pprofUsage, stderr)
	if !ok {
		return exitUsage
	}
	if *out == "" {
		fmt.Fprintln(stderr, "poolprof pprof: -o FILE is required")
		printFlagUsage(stderr, fs, pprofUsage)
		return exitUsage
	}
	symPath, status, ok := sf.symbolPath("pprof", stderr)
	if !ok {
		return status
	}
	res, status := analyze("pprof", name, &a, true, stderr)
	if res == nil {
		return status
	}
	namer := symbolNamer("pprof", name, res, poolRefs(res), symPath, &sf, stderr)
	facts := analysis.ProfileFacts(res, name)
	samples := analysis.ProfileSamples(res, namer)
	if !*keepAlloc {
		facts.DropFrames = analysis.AllocatorFrames(samples)
	}
	tmp := *out + ".tmp"
	fh, err := os.Create(tmp)
	if err == nil {
		err = pprof.Write(fh, samples, facts)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp, *out)
		}
	}
	if err != nil {
		os.Remove(tmp)
		fmt.Fprintf(stderr, "poolprof pprof: %v\n", err)
		return exitFail
	}
	warnHealth(stderr, "pprof", name, &res.Health)
	return exitOK
}
