package pool

import "slices"

// Filter selects the allocations that rows, totals, the outstanding list,
// the closed groups and the time series count. The tracker matches every
// event whatever the filter says (a free must find its allocation, and a
// lost free must be seen, even for blocks the filter drops); the filter
// decides only what is counted. The zero Filter selects everything.
//
// Every condition is tested against the allocation: its tag, its pool type,
// its size (NumberOfBytes of the allocation event) and its process (the PID
// of the allocation event). A free whose allocation was never seen (AOFI
// with no allocation) is tested on its own tag and pool type; since its
// size and allocating process are unknown, it is dropped whenever a size
// range or a process list is set.
type Filter struct {
	// Tags, if not empty, keeps only tags matching one of the patterns;
	// ExcludeTags drops tags matching any of them (poolmon /i and /x).
	Tags        []TagPattern
	ExcludeTags []TagPattern
	// Lifetimes keeps only these classes; the zero set keeps all. Allocs
	// and frees of a row count only the kept classes, so the row
	// identities hold for any set.
	Lifetimes LifetimeSet
	// Pools keeps only these pools; see PoolSet. The zero set keeps all.
	Pools PoolSet
	// MinSize and MaxSize bound the allocation size, both inclusive;
	// MaxSize 0 means no upper bound.
	MinSize, MaxSize uint64
	// PIDs, if not empty, keeps only allocations made by these processes.
	PIDs []uint32
	// MinAge keeps only outstanding allocations (AIFO, AOFO) at least this
	// old, in raw timestamp units, at the end of the window:
	// end - allocation time >= MinAge. Snapshot rundown blocks, whose time
	// is unknown but older than the trace, always pass. Other classes are
	// not affected.
	MinAge int64
}

// MatchTag reports whether a tag passes the include and exclude lists.
func (f *Filter) MatchTag(tag uint32) bool {
	tag = cleanTag(tag)
	if len(f.Tags) > 0 && !MatchAny(f.Tags, tag) {
		return false
	}
	return !MatchAny(f.ExcludeTags, tag)
}

// filter is a Filter prepared for the hot path.
type filter struct {
	Filter
	pids    []uint32 // sorted
	hasSize bool
	// static is false when no pool, size or process condition is set, so
	// that the per-allocation test is a single branch.
	static bool
}

func newFilter(f Filter) filter {
	c := filter{Filter: f}
	c.pids = slices.Clone(f.PIDs)
	slices.Sort(c.pids)
	c.hasSize = f.MinSize > 0 || f.MaxSize > 0
	c.static = f.Pools != 0 || c.hasSize || len(c.pids) > 0
	return c
}

// alloc tests the pool, size and process conditions of an allocation (the
// tag is tested once per row and cached there).
func (f *filter) alloc(pt uint32, size uint64, pid uint32) bool {
	if !f.static {
		return true
	}
	if f.Pools != 0 && !f.Pools.Match(PoolType(pt)) {
		return false
	}
	if size < f.MinSize || (f.MaxSize > 0 && size > f.MaxSize) {
		return false
	}
	if len(f.pids) > 0 {
		if _, ok := slices.BinarySearch(f.pids, pid); !ok {
			return false
		}
	}
	return true
}

// unseen tests a free whose allocation was never seen, by its own pool
// type; with a size or process condition it cannot pass.
func (f *filter) unseen(pt uint32) bool {
	if f.hasSize || len(f.pids) > 0 {
		return false
	}
	return f.Pools == 0 || f.Pools.Match(PoolType(pt))
}

// oldEnough tests MinAge for an outstanding allocation made at time t.
func (f *filter) oldEnough(t, end int64, snapshot bool) bool {
	return f.MinAge <= 0 || snapshot || end-t >= f.MinAge
}
