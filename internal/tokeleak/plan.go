package tokeleak

import (
	"cmp"
	"fmt"
	"slices"
)

// The plan. The story and the background first plan every allocation and
// free: what, where in the code, on which thread and processor, roughly
// when, and whether and when it is freed. Then schedule gives every pool
// event its final timestamp and the address allocator (addresses.go) its
// address. The Truth comes from the plan, so it says what the generator
// intended, whatever a reader makes of the file.

// Lifetime is what became of an allocation made inside the trace.
type Lifetime uint8

const (
	// AIFO: allocated inside the trace, outstanding at its end.
	AIFO Lifetime = iota + 1
	// AIFI: allocated and freed inside the trace.
	AIFI
	// LostFree: closed by a later allocation at the same address, its
	// free lost.
	LostFree
)

func (l Lifetime) String() string {
	switch l {
	case AIFO:
		return "AIFO"
	case AIFI:
		return "AIFI"
	case LostFree:
		return "LostFree"
	}
	return fmt.Sprintf("Lifetime(%d)", uint8(l))
}

// Pool types and bits as logged (docs/etl-format.md §4.1).
const (
	PoolNonPaged     = 0
	PoolPaged        = 1
	PoolSessionPaged = 33
	PoolNX           = 512
	BigPoolMarker    = 0x10000000 // ETW_POOLTRACE_BIGPOOL_MASK
	ProtectedTag     = 0x80000000 // PROTECTED_POOL
	sessionBit       = 0x20
)

// isPaged classifies a logged pool type: bit 0 of the base type, NX never
// paged; session paged counts as paged.
func isPaged(t uint32) bool {
	b := t &^ 0xF0000000
	return b&1 != 0 && b&PoolNX == 0
}

func isSession(t uint32) bool { return t&^0xF0000000&sessionBit != 0 }

// bigSize is the size above which an allocation is page-granular.
const bigSize = 4096 - 16

// allocPlan is one planned allocation.
type allocPlan struct {
	site     *site
	tag      uint32 // as logged: protected bit included
	poolType uint32 // as logged: big-pool marker included
	size     uint64
	session  uint32 // session id, for session pool
	th       *Thread
	cpu      int
	at       int64 // nominal tick
	group    int   // nonzero: same timestamp as the other allocations of the group
	kform    kernelForm
	// undefinedUser logs a StackKeyUser that no definition follows
	// (only on userNever threads, so nothing else reaches the thread).
	undefinedUser bool
	pin           uint64 // fixed address, outside the allocator's ranges
	lost          bool   // the next allocation at pin closes it
	free          *freePlan

	addr uint64 // assigned by schedule
	tick int64
	// reused is set when the address was freed earlier in the trace.
	reused bool
	// Set by emitPool: whether the user part of the stack was logged
	// (and defined), and the folded stack.
	userLogged bool
	frames     []string
}

// freePlan is one planned free. alloc is nil for a free of a block
// allocated before the trace (AOFI).
type freePlan struct {
	alloc    *allocPlan
	site     *site // kernel stack logged inline with the free, or nil
	tag      uint32
	poolType uint32
	session  uint32
	size     uint64 // the NumberOfBytes field as logged (a block size, not trusted)
	th       *Thread
	cpu      int
	at       int64
	pin      uint64 // AOFI: fixed address, never reused by the allocator
	block    uint64 // AOFI: block size of the freed block, for reuse

	addr   uint64
	tick   int64
	frames []string // the free's own stack, when logged
}

// gen is the generator's state.
type gen struct {
	o      Options
	r      *rng
	allocs []*allocPlan
	frees  []*freePlan
	// span of pool activity, in ticks from T0
	start, end int64
	addrs      *addressSpace
}

// at returns the tick permille‰ into the pool window. Integer arithmetic
// only: floating point may be fused differently on other architectures,
// and the file must be the same everywhere.
func (g *gen) at(permille int64) int64 {
	return g.start + (g.end-g.start)*permille/1000
}

// blockSize is the size of the block that holds an allocation of n bytes:
// the 16-byte pool header plus n rounded up to 16, or whole pages for big
// allocations. Frees log it as their NumberOfBytes.
func blockSize(n uint64) uint64 {
	if n > bigSize {
		return (n + 4095) &^ 4095
	}
	return (n+15)&^15 + 16
}

// alloc plans an allocation; its free, if any, is planned with freeAfter.
func (g *gen) alloc(s *site, tag, poolType uint32, size uint64, th *Thread, at int64, kf kernelForm) *allocPlan {
	a := &allocPlan{site: s, tag: tag, poolType: poolType, size: size, th: th,
		cpu: g.r.intn(CPUs), at: at, kform: kf}
	if isSession(poolType) {
		a.session = sessionOf(th.PID)
	}
	g.allocs = append(g.allocs, a)
	return a
}

// freeAfter plans the free of a, life ticks after it, on thread th.
func (g *gen) freeAfter(a *allocPlan, life int64, th *Thread) *freePlan {
	f := &freePlan{alloc: a, tag: a.tag, poolType: a.poolType, session: a.session,
		size: blockSize(a.size), th: th, cpu: g.r.intn(CPUs), at: a.at + life}
	a.free = f
	g.frees = append(g.frees, f)
	return f
}

// aofi plans a free of a block of size bytes allocated before the trace.
func (g *gen) aofi(tag, poolType uint32, size uint64, th *Thread, at int64) *freePlan {
	f := &freePlan{tag: tag, poolType: poolType, size: blockSize(size), block: blockSize(size),
		th: th, cpu: g.r.intn(CPUs), at: at}
	if isSession(poolType) {
		f.session = sessionOf(th.PID)
	}
	g.frees = append(g.frees, f)
	return f
}

func sessionOf(pid uint32) uint32 {
	for _, p := range Processes {
		if p.PID == pid {
			return p.SessionID
		}
	}
	panic(fmt.Sprintf("tokeleak: no process %d", pid))
}

// op is a pool event in the schedule.
type op struct {
	at    int64
	seq   int
	alloc *allocPlan
	free  *freePlan
}

func (o *op) tick() int64 {
	if o.alloc != nil {
		return o.alloc.tick
	}
	return o.free.tick
}

func (o *op) thread() *Thread {
	if o.alloc != nil {
		return o.alloc.th
	}
	return o.free.th
}

// schedule orders the pool events, gives each a distinct timestamp (the
// allocations of a group share one), assigns addresses, and returns the
// events in time order.
func (g *gen) schedule() ([]*op, error) {
	ops := make([]*op, 0, len(g.allocs)+len(g.frees))
	for _, a := range g.allocs {
		ops = append(ops, &op{at: a.at, seq: len(ops), alloc: a})
	}
	for _, f := range g.frees {
		if f.alloc != nil && f.at <= f.alloc.at {
			return nil, fmt.Errorf("tokeleak: free at %d before its allocation at %d", f.at, f.alloc.at)
		}
		ops = append(ops, &op{at: f.at, seq: len(ops), free: f})
	}
	slices.SortFunc(ops, func(a, b *op) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.seq, b.seq))
	})
	last, lastGroup := int64(-1), 0
	for _, o := range ops {
		t := max(o.at, last+1)
		if o.alloc != nil && o.alloc.group != 0 && o.alloc.group == lastGroup {
			t = last
		}
		if o.alloc != nil {
			o.alloc.tick = t
			lastGroup = o.alloc.group
		} else {
			o.free.tick = t
			lastGroup = 0
		}
		last = t
		// Distinct timestamps push events a few ticks past their nominal
		// time; 10 ms of slack is plenty.
		if t < g.start || t > g.end+10*ms {
			return nil, fmt.Errorf("tokeleak: pool event at tick %d outside the window [%d, %d]", t, g.start, g.end)
		}
	}
	if err := g.addrs.assign(g.r, ops); err != nil {
		return nil, err
	}
	return ops, nil
}
