package pool

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/poolprof/poolprof/etl/kernel"
)

// Counts are the numbers of a row or of the totals. The class counts are
// kept by the tracker; Allocs, Frees, Diff, Bytes, Outstanding and PerAlloc
// derive from them, so that
//
//	Allocs = AIFOCount + AIFICount + LostFrees
//	Frees  = AIFICount + AOFICount
//
// always hold.
type Counts struct {
	// Allocs counts allocations made inside the window; Frees counts frees
	// inside it. Diff is Allocs - Frees, as in poolmon (inside a window it
	// is not the outstanding count: see Outstanding).
	Allocs, Frees uint64
	Diff          int64
	// Bytes and Outstanding are the bytes and number of allocations still
	// outstanding at the end of the window (AIFO + AOFO); PerAlloc is
	// Bytes / Outstanding, poolmon's "Per Alloc".
	Bytes, Outstanding, PerAlloc uint64

	AIFOCount, AIFOBytes uint64
	AIFICount, AIFIBytes uint64
	// AOFICount counts frees inside the window whose allocation was not
	// made inside it. AOFIBytes adds the sizes of those whose allocation
	// the tracker saw before the window; a free whose allocation was never
	// seen counts without bytes.
	AOFICount, AOFIBytes uint64
	AOFOCount, AOFOBytes uint64
	// LostFrees counts allocations made inside the window that were
	// closed by a later allocation at the same address; LostBytes is
	// their size.
	LostFrees, LostBytes uint64
}

// derive fills the derived fields from the class counts.
func (c *Counts) derive() {
	c.Allocs = c.AIFOCount + c.AIFICount + c.LostFrees
	c.Frees = c.AIFICount + c.AOFICount
	c.Diff = int64(c.Allocs) - int64(c.Frees)
	c.Outstanding = c.AIFOCount + c.AOFOCount
	c.Bytes = c.AIFOBytes + c.AOFOBytes
	c.PerAlloc = 0
	if c.Outstanding > 0 {
		c.PerAlloc = c.Bytes / c.Outstanding
	}
}

// add adds the class counts of o to c.
func (c *Counts) add(o *Counts) {
	c.AIFOCount += o.AIFOCount
	c.AIFOBytes += o.AIFOBytes
	c.AIFICount += o.AIFICount
	c.AIFIBytes += o.AIFIBytes
	c.AOFICount += o.AOFICount
	c.AOFIBytes += o.AOFIBytes
	c.AOFOCount += o.AOFOCount
	c.AOFOBytes += o.AOFOBytes
	c.LostFrees += o.LostFrees
	c.LostBytes += o.LostBytes
}

func (c *Counts) empty() bool {
	return c.AIFOCount == 0 && c.AIFICount == 0 && c.AOFICount == 0 && c.AOFOCount == 0 && c.LostFrees == 0
}

// Row is a poolmon-style line: one (tag, paged) pair.
type Row struct {
	Tag   uint32 // PROTECTED_POOL cleared
	Paged bool
	Counts
}

// Health says how far the numbers can be trusted. Unlike rows, it counts
// every event, whatever the filter.
type Health struct {
	Events uint64 // events given to Add
	// Allocs and Frees count allocation and free events inside the window.
	Allocs, Frees uint64
	// FreesWithoutAlloc counts frees inside the window whose allocation
	// the tracker never saw (with the whole trace as the window, this is
	// the AOFI count). Many of them suggest a circular buffer that wrapped
	// or lost events.
	FreesWithoutAlloc uint64
	// LostFrees counts allocations made inside the window and closed by a
	// later allocation at the same address (the sum of the rows' lost
	// frees without a filter); LostFreesOutside counts the same for
	// allocations made before the window, which no row shows.
	LostFrees, LostFreesOutside uint64
	// AllocsWithoutStack counts allocation events inside the window with
	// no stack reference.
	AllocsWithoutStack uint64
	// FreeMismatches counts frees whose tag or paged-ness differ from
	// their allocation's. Such a free still closes the allocation and
	// counts on the allocation's row.
	FreeMismatches uint64
	// Snapshots counts snapshot rundown events; SnapshotsNew those that
	// added a block the tracker did not hold.
	Snapshots, SnapshotsNew uint64
	// EventsBefore and EventsAfter count events before the window's start
	// (applied, to know what is outstanding when it starts) and at or
	// after its end (ignored).
	EventsBefore, EventsAfter uint64
	// OutOfOrder counts events earlier than one before them.
	OutOfOrder uint64
	// Ignored counts events with an Op the tracker does not know.
	Ignored uint64
}

// Allocation is one allocation outstanding at the end of the window
// (AIFO or AOFO), for stack folding and per-allocation dumps.
type Allocation struct {
	Tag       uint32 // PROTECTED_POOL cleared
	PoolType  uint32 // raw, as logged on the allocation
	Size      uint64
	Addr      uint64
	Session   bool
	SessionID uint32
	// Time is the allocation's timestamp; for a snapshot block (Snapshot
	// set) it is the time of the rundown event, and the block is older.
	Time     int64
	Snapshot bool
	PID      uint32
	Stack    uint32
	Lifetime Lifetime
}

// Group aggregates closed allocations (AIFI, AOFI, LostFree) that share
// tag, pool type, stack, process and size. A free whose allocation was
// never seen makes an AOFI group with the free's tag and pool type, stack
// 0, PID UnknownPID and size 0.
type Group struct {
	Tag      uint32 // PROTECTED_POOL cleared
	PoolType uint32
	Stack    uint32
	PID      uint32
	Size     uint64
	Lifetime Lifetime
	Count    uint64
	Bytes    uint64
}

// Result is what a Tracker found.
type Result struct {
	// Window is the window as configured. Start and End are its effective
	// bounds: the window's own, or the first and last event times for an
	// open bound (End is also the last event time when the trace ends
	// before the window does). Ages are measured at End.
	Window     Window
	Start, End int64
	// First and Last are the times of the first and last events applied.
	First, Last int64

	// Rows hold every (tag, paged) pair with something counted, sorted by
	// SortBytes; Totals sums them.
	Rows   []Row
	Totals Counts
	Health Health

	// Outstanding lists the AIFO and AOFO allocations that pass the filter,
	// by time then address.
	Outstanding []Allocation
	// Closed holds the AIFI, AOFI and LostFree groups that pass the filter
	// when Options.KeepClosed is set, by lifetime, tag, pool type, stack,
	// process and size.
	Closed []Group
	// Series is outstanding bytes per tag over time when
	// Options.Series.Width is set.
	Series *Series
}

// SortKey orders rows. Numeric keys sort descending; ties go by tag, then
// nonpaged before paged.
type SortKey uint8

const (
	SortBytes       SortKey = iota // outstanding bytes (the default)
	SortOutstanding                // outstanding count
	SortAllocs
	SortFrees
	SortDiff
	SortPerAlloc
	SortAIFOBytes
	SortAIFIBytes
	SortTag // ascending by tag text
)

var sortNames = [...]string{"bytes", "outstanding", "allocs", "frees", "diff", "per-alloc", "aifo-bytes", "aifi-bytes", "tag"}

func (k SortKey) String() string {
	if int(k) < len(sortNames) {
		return sortNames[k]
	}
	return fmt.Sprintf("SortKey(%d)", uint8(k))
}

// ParseSortKey reads a sort key name: bytes, outstanding (or count),
// allocs, frees, diff, per-alloc, aifo-bytes, aifi-bytes, tag; poolmon's
// letters b, a, f, d, m and t work too.
func ParseSortKey(s string) (SortKey, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "", "b":
		return SortBytes, nil
	case "count":
		return SortOutstanding, nil
	case "a":
		return SortAllocs, nil
	case "f":
		return SortFrees, nil
	case "d":
		return SortDiff, nil
	case "m", "peralloc":
		return SortPerAlloc, nil
	case "t":
		return SortTag, nil
	}
	for i, n := range sortNames {
		if s == n {
			return SortKey(i), nil
		}
	}
	return 0, fmt.Errorf("pool: unknown sort key %q (want %s)", s, strings.Join(sortNames[:], ", "))
}

// SortRows sorts rows in place by key.
func SortRows(rows []Row, key SortKey) {
	slices.SortStableFunc(rows, func(a, b Row) int {
		var c int
		switch key {
		case SortBytes:
			c = cmp.Compare(b.Bytes, a.Bytes)
		case SortOutstanding:
			c = cmp.Compare(b.Outstanding, a.Outstanding)
		case SortAllocs:
			c = cmp.Compare(b.Allocs, a.Allocs)
		case SortFrees:
			c = cmp.Compare(b.Frees, a.Frees)
		case SortDiff:
			c = cmp.Compare(b.Diff, a.Diff)
		case SortPerAlloc:
			c = cmp.Compare(b.PerAlloc, a.PerAlloc)
		case SortAIFOBytes:
			c = cmp.Compare(b.AIFOBytes, a.AIFOBytes)
		case SortAIFIBytes:
			c = cmp.Compare(b.AIFIBytes, a.AIFIBytes)
		}
		if c != 0 {
			return c
		}
		if c = compareTags(a.Tag, b.Tag); c != 0 {
			return c
		}
		return compareBool(a.Paged, b.Paged)
	})
}

// compareTags orders tags by their text, first character first.
func compareTags(a, b uint32) int {
	ta, tb := kernel.Tag(a).Bytes(), kernel.Tag(b).Bytes()
	return bytes.Compare(ta[:], tb[:])
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}
