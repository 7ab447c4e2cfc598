package pool

import (
	"fmt"
	"strings"

	"github.com/poolprof/poolprof/etl/kernel"
)

// PoolType is the PoolType field of a pool event as logged, classified by
// package kernel, which owns the POOL_TYPE values, the tracer's big-pool
// marker and their names. Event.PoolType holds the raw value; convert it to
// classify: PoolType(e.PoolType).Paged().
type PoolType = kernel.PoolType

// PagedString is poolmon's Type column: "Paged" or "Nonp".
func PagedString(paged bool) string {
	if paged {
		return "Paged"
	}
	return "Nonp"
}

// PoolSet selects pools for a filter. The paged dimension (PoolPaged,
// PoolNonPaged) and the session dimension (PoolSession) combine like
// poolmon's /p and /s switches: within the paged dimension the bits are
// alternatives, and PoolSession further requires session pool. So
// PoolPaged selects all paged pool, session paged included; PoolSession
// selects session pool, paged or not; PoolPaged|PoolSession selects
// session paged pool only. The zero set selects every pool.
type PoolSet uint8

const (
	PoolNonPaged PoolSet = 1 << iota
	PoolPaged
	PoolSession
)

// Match reports whether a block of pool type t is in the set.
func (s PoolSet) Match(t PoolType) bool {
	if s&(PoolPaged|PoolNonPaged) != 0 {
		want := PoolNonPaged
		if t.Paged() {
			want = PoolPaged
		}
		if s&want == 0 {
			return false
		}
	}
	return s&PoolSession == 0 || t.Session()
}

// String lists the set as ParsePoolSet reads it ("paged,session"); the
// zero set is "all".
func (s PoolSet) String() string {
	if s == 0 {
		return "all"
	}
	var parts []string
	if s&PoolPaged != 0 {
		parts = append(parts, "paged")
	}
	if s&PoolNonPaged != 0 {
		parts = append(parts, "nonpaged")
	}
	if s&PoolSession != 0 {
		parts = append(parts, "session")
	}
	return strings.Join(parts, ",")
}

// ParsePoolSet reads a comma-separated list of "paged", "nonpaged" (or
// poolmon's "nonp") and "session", case-insensitive; "" and "all" give the
// zero set.
func ParsePoolSet(list string) (PoolSet, error) {
	var s PoolSet
	if list == "" || strings.EqualFold(list, "all") {
		return 0, nil
	}
	for w := range strings.SplitSeq(list, ",") {
		switch strings.ToLower(strings.TrimSpace(w)) {
		case "paged":
			s |= PoolPaged
		case "nonpaged", "nonp":
			s |= PoolNonPaged
		case "session":
			s |= PoolSession
		default:
			return 0, fmt.Errorf("pool: unknown pool %q (want paged, nonpaged or session)", w)
		}
	}
	return s, nil
}
