package analysis

import (
	"math"

	"github.com/poolprof/poolprof/stacks"
)

// StackCounts adds up the allocations res kept by stack: the outstanding
// ones one by one, the closed ones by group. The tracker has applied the
// lifetime filter already. AOFI groups count their frees; their bytes are
// known only when the allocation was seen.
func StackCounts(res *Result) *stacks.Counts {
	var c stacks.Counts
	for i := range res.Pool.Outstanding {
		al := &res.Pool.Outstanding[i]
		c.Add(stacks.Ref(al.Stack), 1, clampInt64(al.Size))
	}
	for i := range res.Pool.Closed {
		g := &res.Pool.Closed[i]
		c.Add(stacks.Ref(g.Stack), clampInt64(g.Count), clampInt64(g.Bytes))
	}
	return &c
}

// clampInt64 converts a count or size to the signed values of stacks and
// pprof; a damaged trace can claim sizes above math.MaxInt64.
func clampInt64(v uint64) int64 { return int64(min(v, math.MaxInt64)) }
