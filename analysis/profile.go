package analysis

import (
	"fmt"
	"path/filepath"
	"regexp"

	"github.com/poolprof/poolprof/pool"
	"github.com/poolprof/poolprof/pool/pprof"
	"github.com/poolprof/poolprof/stacks"
)

// ProfileFacts describes the trace for the comments of a pprof profile.
func ProfileFacts(res *Result, traceName string) pprof.Facts {
	h := &res.File.Header
	start := res.File.Time(res.Pool.Start)
	facts := pprof.Facts{
		TraceFile:   filepath.Base(traceName),
		OS:          fmt.Sprintf("Windows %d.%d build %d", h.OSMajor, h.OSMinor, h.OSBuild),
		Start:       start,
		Duration:    max(res.File.Time(res.Pool.End).Sub(start), 0),
		Window:      res.Pool.Window.String(),
		EventsLost:  int64(h.EventsLost),
		BuffersLost: int64(h.BuffersLost),
	}
	if h := &res.Health; h.ProblemCount > 0 {
		facts.Notes = append(facts.Notes, fmt.Sprintf("%d problems in the file, %d damaged buffers: some events were skipped", h.ProblemCount, h.DamagedBuffers))
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

// ProfileSamples turns the outstanding allocations and the closed groups of
// res into pprof samples, one per (stack, process, tag, pool type,
// lifetime): inuse_* counts what is outstanding at the end of the window,
// alloc_* what was allocated inside it. Frames that namer symbolizes get
// their function, file and line; namer may be nil (no symbols).
func ProfileSamples(res *Result, namer *SymbolNamer) []pprof.Sample {
	if namer == nil {
		namer = &SymbolNamer{Modules: res.Modules}
	}
	type acc struct {
		ref          stacks.Ref
		alloc, inuse stacks.Value // sums stop at math.MaxInt64
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
		v := stacks.Value{Count: 1, Bytes: clampInt64(al.Size)}
		a.inuse.Add(v)
		if al.Lifetime == pool.AIFO { // allocated inside the window
			a.alloc.Add(v)
		}
	}
	for i := range res.Pool.Closed {
		g := &res.Pool.Closed[i]
		if g.Lifetime == pool.AOFI { // allocated before the window: nothing to show
			continue
		}
		a := add(stacks.Ref(g.Stack), g.PID, g.Tag, g.PoolType, g.Lifetime)
		a.alloc.Add(stacks.Value{Count: clampInt64(g.Count), Bytes: clampInt64(g.Bytes)})
	}
	modules := map[*stacks.Module]*pprof.Module{}
	out := make([]pprof.Sample, 0, len(order))
	for _, k := range order {
		a := sums[k]
		pid := res.Stacks.Process(a.ref)
		s := pprof.Sample{
			AllocObjects: a.alloc.Count, AllocBytes: a.alloc.Bytes,
			InuseObjects: a.inuse.Count, InuseBytes: a.inuse.Bytes,
			Tag: pool.TagString(k.tag), PoolType: pool.PoolType(k.poolType).String(),
			Paged: pool.PoolType(k.poolType).Paged(), Lifetime: k.lifetime.String(),
			Process: ProcessLabel(res, k.pid), PID: int64(k.pid),
		}
		if k.pid == pool.UnknownPID {
			s.PID = -1
		}
		for _, addr := range res.Stacks.Resolve(a.ref) {
			fr := pprof.Frame{Address: addr}
			if f := namer.Frame(addr, pid); f.Module != nil {
				m := f.Module
				fr.Function, fr.File, fr.Line = f.Function, f.File, f.Line
				for _, in := range f.Inlined {
					fr.Inlined = append(fr.Inlined, pprof.InlinedFunction{Function: in.Function, File: in.File, Line: in.Line})
				}
				pm := modules[m]
				if pm == nil {
					pm = &pprof.Module{Name: m.Name, Path: m.Path, Start: m.Base, Limit: m.Base + m.Size, PDBName: m.PDB.Name}
					if !m.PDB.IsZero() {
						pm.BuildID = BuildID(m.PDB)
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

// AllocatorFrames is the pprof drop_frames expression that hides the pool
// allocator, so that the function that asked for the memory is the leaf
// and leads `go tool pprof -top`. Named frames match pprof.AllocatorFrames.
// Without names, the innermost frame of each stack is dropped: a pool
// event is logged from inside the allocator, so its first frame always
// lies there, whatever the caller (a stack of one frame is kept whole).
func AllocatorFrames(samples []pprof.Sample) string {
	const maxLeaves = 64 // allocators return from a handful of places
	expr := pprof.AllocatorFrames
	seen := map[string]bool{}
	for i := range samples {
		fr := samples[i].Frames
		if len(fr) < 2 || fr[0].Module == nil || fr[0].Function != "" {
			continue
		}
		name := fmt.Sprintf("%s+0x%x", fr[0].Module.Name, fr[0].Address-fr[0].Module.Start)
		if seen[name] {
			continue
		}
		if len(seen) == maxLeaves {
			break
		}
		seen[name] = true
		expr += "|" + regexp.QuoteMeta(name)
	}
	return expr
}

// BuildID is the symbol-store key of a PDB identity (GUID digits upper
// case, then the age in hex), which pprof shows as a mapping's build id.
func BuildID(p stacks.PDB) string { return PDBRequest(p).Identity().StoreKey() }

// ProcessLabel names a process for labels: "lsass.exe (712)", "pid 712"
// when its name is unknown, "unknown" without a process id.
func ProcessLabel(res *Result, pid uint32) string {
	if pid == pool.UnknownPID {
		return "unknown"
	}
	if n := res.Modules.ProcessName(pid); n != "" {
		return fmt.Sprintf("%s (%d)", n, pid)
	}
	return fmt.Sprintf("pid %d", pid)
}
