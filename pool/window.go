package pool

import (
	"fmt"
	"math"
	"strings"
)

// Window is the time range [Start, End) in raw trace timestamps that the
// lifetime classes refer to. An unset bound is open: the zero Window is the
// whole trace.
type Window struct {
	Start, End       int64
	HasStart, HasEnd bool
}

// WholeTrace is the zero Window.
func WholeTrace() Window { return Window{} }

// Between returns the window [start, end). If end <= start it is empty.
func Between(start, end int64) Window {
	return Window{Start: start, End: end, HasStart: true, HasEnd: true}
}

// From returns the window from start to the end of the trace.
func From(start int64) Window { return Window{Start: start, HasStart: true} }

// Until returns the window from the start of the trace to end (exclusive).
func Until(end int64) Window { return Window{End: end, HasEnd: true} }

// bounds returns the window as a half-open [lo, hi) with open ends at the
// extremes of int64.
func (w Window) bounds() (lo, hi int64) {
	lo, hi = math.MinInt64, math.MaxInt64
	if w.HasStart {
		lo = w.Start
	}
	if w.HasEnd {
		hi = w.End
	}
	return lo, hi
}

// String prints the window as "[start, end)" with "-" for an open bound.
func (w Window) String() string {
	s, e := "-", "-"
	if w.HasStart {
		s = fmt.Sprint(w.Start)
	}
	if w.HasEnd {
		e = fmt.Sprint(w.End)
	}
	return "[" + s + ", " + e + ")"
}

// Lifetime is the class of an allocation relative to the window.
type Lifetime uint8

const (
	// AIFI: allocated and freed inside the window.
	AIFI Lifetime = iota + 1
	// AIFO: allocated inside the window, outstanding at its end.
	AIFO
	// AOFI: freed inside the window, allocated before it (or before the
	// trace, when the allocation was never seen).
	AOFI
	// AOFO: allocated before the window, outstanding at its end.
	AOFO
	// LostFree: allocated inside the window and closed inside it by a
	// later allocation at the same address, so its free was lost. Not a
	// WPA class; it keeps the row identities exact.
	LostFree
)

var lifetimeNames = [...]string{"", "AIFI", "AIFO", "AOFI", "AOFO", "LostFree"}

func (l Lifetime) String() string {
	if l >= AIFI && l <= LostFree {
		return lifetimeNames[l]
	}
	return fmt.Sprintf("Lifetime(%d)", uint8(l))
}

// Outstanding reports AIFO and AOFO: the classes still allocated at the end
// of the window.
func (l Lifetime) Outstanding() bool { return l == AIFO || l == AOFO }

// LifetimeSet is a set of lifetime classes; the zero set means all.
type LifetimeSet uint8

// Lifetimes returns the set of the given classes.
func Lifetimes(ls ...Lifetime) LifetimeSet {
	var s LifetimeSet
	for _, l := range ls {
		s |= 1 << l
	}
	return s
}

// Has reports whether l is in the set; every class is in the zero set.
func (s LifetimeSet) Has(l Lifetime) bool { return s == 0 || s&(1<<l) != 0 }

// String lists the set as ParseLifetimes reads it; the zero set is "all".
func (s LifetimeSet) String() string {
	if s == 0 {
		return "all"
	}
	var parts []string
	for l := AIFI; l <= LostFree; l++ {
		if s&(1<<l) != 0 {
			parts = append(parts, l.String())
		}
	}
	return strings.Join(parts, ",")
}

// ParseLifetimes reads a comma-separated list of AIFI, AIFO, AOFI, AOFO and
// LostFree (case-insensitive; "lost" also works); "" and "all" give the
// zero set.
func ParseLifetimes(list string) (LifetimeSet, error) {
	if list == "" || strings.EqualFold(list, "all") {
		return 0, nil
	}
	var s LifetimeSet
	for w := range strings.SplitSeq(list, ",") {
		w = strings.TrimSpace(w)
		found := false
		for l := AIFI; l <= LostFree; l++ {
			if strings.EqualFold(w, l.String()) || (l == LostFree && strings.EqualFold(w, "lost")) {
				s |= 1 << l
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("pool: unknown lifetime class %q (want AIFI, AIFO, AOFI, AOFO or LostFree)", w)
		}
	}
	return s, nil
}
