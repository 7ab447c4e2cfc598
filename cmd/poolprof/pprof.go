package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/poolprof/poolprof/analysis"
	"github.com/poolprof/poolprof/pool"
	"github.com/poolprof/poolprof/pool/pprof"
	"github.com/poolprof/poolprof/stacks"
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
	facts := profileFacts(res, name)
	samples := profileSamples(res, namer)
	if !*keepAlloc {
		facts.DropFrames = allocatorFrames(samples)
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

func profileFacts(res *analysis.Result, name string) pprof.Facts {
	h := &res.File.Header
	start := res.File.Time(res.Pool.Start)
	facts := pprof.Facts{
		TraceFile:   filepath.Base(name),
		OS:          fmt.Sprintf("Windows %d.%d build %d", h.OSMajor, h.OSMinor, h.OSBuild),
		Start:       start,
		Duration:    res.File.Time(res.Pool.End).Sub(start),
		Window:      res.Pool.Window.String(),
		EventsLost:  int64(h.EventsLost),
		BuffersLost: int64(h.BuffersLost),
	}
	if hh := res.Health; hh.ProblemCount > 0 {
		facts.Notes = append(facts.Notes, fmt.Sprintf("%d damaged buffers skipped", hh.DamagedBuffers))
	}
	if facts.Duration < 0 {
		facts.Duration = time.Duration(0)
	}
	return facts
}

// sampleKey groups allocations into one pprof sample.
type sampleKey struct {
	stack    stacks.ID
	pid      uint32
	tag      uint32
	poolType uint32
	lifetime pool.Lifetime
}

// profileSamples turns the outstanding allocations and the closed groups
// into samples, one per (stack, process, tag, pool type, lifetime). Frames
// that namer symbolizes get their function (and file and line where the
// PDB has them); pprof names them module!function.
func profileSamples(res *analysis.Result, namer *analysis.SymbolNamer) []pprof.Sample {
	type acc struct {
		ref                                                stacks.Ref
		allocObjects, allocBytes, inuseObjects, inuseBytes int64
	}
	var order []sampleKey
	sums := map[sampleKey]*acc{}
	joiner, _ := res.Stacks.(interface{ Stack(stacks.Ref) stacks.ID })
	add := func(ref stacks.Ref, pid, tag, pt uint32, life pool.Lifetime) *acc {
		k := sampleKey{stack: stacks.ID(ref), pid: pid, tag: tag, poolType: pt, lifetime: life}
		if joiner != nil {
			k.stack = joiner.Stack(ref)
		}
		a := sums[k]
		if a == nil {
			a = &acc{ref: ref}
			sums[k] = a
			order = append(order, k)
		}
		return a
	}
	for i := range res.Pool.Outstanding {
		al := &res.Pool.Outstanding[i]
		a := add(stacks.Ref(al.Stack), al.PID, al.Tag, al.PoolType, al.Lifetime)
		a.inuseObjects++
		a.inuseBytes += int64(al.Size)
		if al.Lifetime == pool.AIFO { // allocated inside the window
			a.allocObjects++
			a.allocBytes += int64(al.Size)
		}
	}
	for i := range res.Pool.Closed {
		g := &res.Pool.Closed[i]
		if g.Lifetime == pool.AOFI { // allocated before the window: nothing to show
			continue
		}
		a := add(stacks.Ref(g.Stack), g.PID, g.Tag, g.PoolType, g.Lifetime)
		a.allocObjects += int64(g.Count)
		a.allocBytes += int64(g.Bytes)
	}
	modules := map[*stacks.Module]*pprof.Module{}
	out := make([]pprof.Sample, 0, len(order))
	for _, k := range order {
		a := sums[k]
		frames := res.Stacks.Resolve(a.ref)
		pid := res.Stacks.Process(a.ref)
		s := pprof.Sample{
			AllocObjects: a.allocObjects, AllocBytes: a.allocBytes,
			InuseObjects: a.inuseObjects, InuseBytes: a.inuseBytes,
			Tag: pool.TagString(k.tag), PoolType: pool.PoolType(k.poolType).String(),
			Paged: pool.PoolType(k.poolType).Paged(), Lifetime: k.lifetime.String(),
			Process: processLabel(res, k.pid), PID: int64(k.pid),
		}
		if k.pid == pool.UnknownPID {
			s.PID = -1
		}
		for _, addr := range frames {
			fr := pprof.Frame{Address: addr}
			if f := namer.Frame(addr, pid); f.Module != nil {
				m := f.Module
				fr.Function, fr.File, fr.Line = f.Function, f.File, f.Line
				pm := modules[m]
				if pm == nil {
					pm = &pprof.Module{Name: m.Name, Path: m.Path, Start: m.Base, Limit: m.Base + m.Size, PDBName: m.PDB.Name}
					if !m.PDB.IsZero() {
						pm.BuildID = buildID(m.PDB)
					}
					modules[m] = pm
				}
				fr.Module = pm
			}
			s.Frames = append(s.Frames, fr)
		}
		out = append(out, s)
	}
	return out
}

// allocatorFrames is the pprof drop_frames expression that hides the pool
// allocator, so that the function that asked for the memory is the leaf
// and leads `go tool pprof -top`. Named frames match pprof.AllocatorFrames;
// unnamed ones are recognised as the innermost kernel frames that every
// allocation stack shares (every pool allocation goes through the
// allocator), never a whole stack.
func allocatorFrames(samples []pprof.Sample) string {
	var common []pprof.Frame
	first := true
	for i := range samples {
		fr := samples[i].Frames
		if len(fr) < 2 {
			continue
		}
		if first {
			common, first = fr[:len(fr)-1], false
			continue
		}
		n := 0
		for n < len(common) && n < len(fr)-1 && common[n].Address == fr[n].Address {
			n++
		}
		common = common[:n]
	}
	expr := pprof.AllocatorFrames
	for _, f := range common {
		if f.Module == nil || f.Function != "" {
			break
		}
		expr += "|" + regexp.QuoteMeta(fmt.Sprintf("%s+0x%x", f.Module.Name, f.Address-f.Module.Start))
	}
	return expr
}

// buildID is a PDB's symbol-store key: the GUID's 32 hex digits, upper
// case, then the age in hex.
func buildID(p stacks.PDB) string {
	g := p.GUID
	return fmt.Sprintf("%08X%04X%04X%X%X", g.Data1, g.Data2, g.Data3, g.Data4[:], p.Age)
}

func processLabel(res *analysis.Result, pid uint32) string {
	if pid == pool.UnknownPID {
		return "unknown"
	}
	if n := res.Modules.ProcessName(pid); n != "" {
		return fmt.Sprintf("%s (%d)", n, pid)
	}
	return fmt.Sprintf("pid %d", pid)
}
