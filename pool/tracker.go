package pool

import (
	"cmp"
	"slices"
)

// Options configure a Tracker.
type Options struct {
	// Window is the range the lifetime classes refer to; the zero Window
	// is the whole trace.
	Window Window
	// Filter selects what is counted; the zero Filter counts everything.
	Filter Filter
	// KeepClosed keeps the closed allocations (AIFI, AOFI, LostFree) as
	// Result.Closed, aggregated per (tag, pool type, stack, process,
	// size), so memory grows with distinct stacks and sizes, not with the
	// number of events.
	KeepClosed bool
	// Series asks for outstanding bytes per tag over time.
	Series SeriesOptions
	// SizeHint, if set, is the number of allocations expected to be
	// outstanding at once; it presizes the table.
	SizeHint int
}

// A Tracker matches pool allocations with their frees. Feed it the events
// of a trace in timestamp order with Add, then call Finish once.
//
// The tracker holds one 48-byte record per outstanding allocation in an
// open-addressing table kept at most 70% full, so its memory grows with
// what is outstanding (plus rows per tag, and with
// KeepClosed or a series, per distinct stack, size and bucket), never with
// the number of events. Add allocates nothing per event beyond the growth
// of those tables.
//
// Events outside the window:
//
//   - Before the window's start, events still update the table, so that
//     the tracker knows what is outstanding when the window opens: an
//     allocation made there is marked as made before the window (it
//     becomes AOFI if freed inside the window, AOFO if still outstanding
//     at its end), and a free there closes its allocation without being
//     counted anywhere (allocated and freed before the window, a class
//     WPA does not show). A free before the window whose allocation was
//     never seen is not counted either, since it is not a free inside
//     the window.
//   - The first event at or after the window's end closes the window:
//     what is outstanding then is classified AIFO or AOFO, and this and
//     every later event is only counted in Health.EventsAfter. An
//     allocation freed after the window is therefore AIFO (or AOFO), as in
//     WPA: it was outstanding at the window's end.
//
// A free inside the window counts on its allocation's row (the kernel logs
// the block's own tag with the free, so this is normally the free's row
// too; Health.FreeMismatches counts the exceptions). A free whose
// allocation was never seen counts on its own tag and pool type.
//
// A Tracker is not safe for concurrent use.
type Tracker struct {
	opts   Options
	f      filter
	lo, hi int64

	live   *table
	rows   []rowState
	rowIdx map[uint64]int32
	groups map[groupKey]groupVal
	series *seriesRec

	h                  Health
	seen               bool
	first, last        int64
	closed, reached    bool
	end                int64
	outstanding        []Allocation
	result             *Result
	lastRowKey, lastRI uint64
}

type rowState struct {
	tag   uint32
	paged bool
	tagOK bool // cached Filter.MatchTag
	c     Counts
}

type groupKey struct {
	tag, ptype, stack, pid uint32
	size                   uint64
	life                   Lifetime
}

type groupVal struct{ count, bytes uint64 }

// NewTracker returns a Tracker for the given options.
func NewTracker(opts Options) *Tracker {
	t := &Tracker{
		opts:       opts,
		f:          newFilter(opts.Filter),
		live:       newTable(opts.SizeHint),
		rowIdx:     make(map[uint64]int32),
		lastRowKey: ^uint64(0),
	}
	t.lo, t.hi = opts.Window.bounds()
	if opts.KeepClosed {
		t.groups = make(map[groupKey]groupVal)
	}
	if opts.Series.Width > 0 {
		t.series = newSeriesRec(opts.Series)
		if opts.Window.HasStart {
			t.series.start(t.lo)
		}
	}
	return t
}

// Add applies one event. The tracker copies what it keeps, so e may be
// reused. Events added after Finish are ignored.
func (t *Tracker) Add(e *Event) {
	t.h.Events++
	if t.closed {
		t.h.EventsAfter++
		return
	}
	ts := e.Time
	if ts >= t.hi {
		t.h.EventsAfter++
		t.reached = true
		t.close(t.hi)
		return
	}
	switch {
	case !t.seen:
		t.seen, t.first, t.last = true, ts, ts
	case ts < t.last:
		t.h.OutOfOrder++
	default:
		t.last = ts
	}
	inside := ts >= t.lo
	if !inside {
		t.h.EventsBefore++
	} else if t.series != nil {
		if !t.series.started {
			t.series.start(ts)
		}
		t.series.advance(ts)
	}
	switch e.Op {
	case OpAlloc:
		t.alloc(e, inside)
	case OpFree:
		t.free(e, inside)
	case OpSnapStart, OpSnapEnd:
		t.snapshot(e)
	default:
		t.h.Ignored++
	}
}

// sessionOf returns the session part of an event's key: flagSession and
// the session id for session pool (by opcode or by pool type), else zeros.
func sessionOf(e *Event) (uint8, uint32) {
	if e.Session || PoolType(e.PoolType).Session() {
		return flagSession, e.SessionID
	}
	return 0, 0
}

func (t *Tracker) alloc(e *Event, inside bool) {
	sess, sid := sessionOf(e)
	i, found := t.live.slot(e.Addr, sess, sid)
	r := record{addr: e.Addr, time: e.Time, size: e.Size, tag: cleanTag(e.Tag), ptype: e.PoolType,
		pid: e.PID, stack: e.Stack, sid: sid, flags: sess}
	if inside {
		t.h.Allocs++
		if e.Stack == 0 {
			t.h.AllocsWithoutStack++
		}
	} else {
		r.flags |= flagBefore
	}
	if found {
		t.lostFree(&t.live.slots[i], inside)
	}
	t.seriesAdd(&r)
	t.live.put(i, found, &r)
}

// lostFree closes old, an allocation at an address that was allocated
// again before old was freed.
func (t *Tracker) lostFree(old *record, inside bool) {
	if old.flags&flagSeries != 0 {
		t.series.sub(old.tag, old.size)
	}
	if !inside || old.flags&flagBefore != 0 {
		t.h.LostFreesOutside++
		return
	}
	t.h.LostFrees++
	t.classify(old, LostFree)
}

func (t *Tracker) free(e *Event, inside bool) {
	sess, sid := sessionOf(e)
	i, ok := t.live.find(e.Addr, sess, sid)
	var r record
	if ok {
		r = t.live.slots[i]
		t.live.remove(i)
		if r.flags&flagSeries != 0 {
			t.series.sub(r.tag, r.size)
		}
	}
	if !inside {
		return
	}
	t.h.Frees++
	if !ok {
		t.h.FreesWithoutAlloc++
		t.unseenFree(e)
		return
	}
	if r.tag != cleanTag(e.Tag) || PoolType(r.ptype).Paged() != PoolType(e.PoolType).Paged() {
		t.h.FreeMismatches++
	}
	if r.flags&flagBefore != 0 {
		t.classify(&r, AOFI)
	} else {
		t.classify(&r, AIFI)
	}
}

func (t *Tracker) snapshot(e *Event) {
	t.h.Snapshots++
	sess, sid := sessionOf(e)
	i, found := t.live.slot(e.Addr, sess, sid)
	if found {
		return
	}
	t.h.SnapshotsNew++
	r := record{addr: e.Addr, time: e.Time, size: e.Size, tag: cleanTag(e.Tag), ptype: e.PoolType,
		pid: e.PID, stack: e.Stack, sid: sid, flags: sess | flagBefore | flagSnapshot}
	t.seriesAdd(&r)
	t.live.put(i, false, &r)
}

func (t *Tracker) seriesAdd(r *record) {
	if t.series != nil && t.f.alloc(r.ptype, r.size, r.pid) && t.series.add(r.tag, r.size, &t.f) {
		r.flags |= flagSeries
	}
}

// row returns the state of the (tag, paged) row, creating it.
func (t *Tracker) row(tag uint32, paged bool) *rowState {
	rk := uint64(tag) << 1
	if paged {
		rk |= 1
	}
	if rk == t.lastRowKey {
		return &t.rows[t.lastRI]
	}
	i, ok := t.rowIdx[rk]
	if !ok {
		i = int32(len(t.rows))
		t.rows = append(t.rows, rowState{tag: tag, paged: paged, tagOK: t.f.MatchTag(tag)})
		t.rowIdx[rk] = i
	}
	t.lastRowKey, t.lastRI = rk, uint64(i)
	return &t.rows[i]
}

// classify counts a known allocation in class life if the filter keeps it,
// and reports whether it did.
func (t *Tracker) classify(r *record, life Lifetime) bool {
	if !t.f.Lifetimes.Has(life) || !t.f.alloc(r.ptype, r.size, r.pid) {
		return false
	}
	row := t.row(r.tag, PoolType(r.ptype).Paged())
	if !row.tagOK {
		return false
	}
	c := &row.c
	switch life {
	case AIFI:
		c.AIFICount++
		c.AIFIBytes += r.size
	case AIFO:
		c.AIFOCount++
		c.AIFOBytes += r.size
	case AOFI:
		c.AOFICount++
		c.AOFIBytes += r.size
	case AOFO:
		c.AOFOCount++
		c.AOFOBytes += r.size
	case LostFree:
		c.LostFrees++
		c.LostBytes += r.size
	}
	if t.groups != nil && !life.Outstanding() {
		g := groupKey{tag: r.tag, ptype: r.ptype, stack: r.stack, pid: r.pid, size: r.size, life: life}
		v := t.groups[g]
		v.count++
		v.bytes += r.size
		t.groups[g] = v
	}
	return true
}

// unseenFree counts a free inside the window whose allocation was never
// seen: AOFI on the free's own tag and pool, without bytes.
func (t *Tracker) unseenFree(e *Event) {
	if !t.f.Lifetimes.Has(AOFI) || !t.f.unseen(e.PoolType) {
		return
	}
	tag := cleanTag(e.Tag)
	row := t.row(tag, PoolType(e.PoolType).Paged())
	if !row.tagOK {
		return
	}
	row.c.AOFICount++
	if t.groups != nil {
		g := groupKey{tag: tag, ptype: e.PoolType, pid: UnknownPID, life: AOFI}
		v := t.groups[g]
		v.count++
		t.groups[g] = v
	}
}

// close ends the window at end: what is outstanding becomes AIFO or AOFO.
func (t *Tracker) close(end int64) {
	if t.closed {
		return
	}
	t.closed, t.end = true, end
	for i := range t.live.slots {
		r := &t.live.slots[i]
		if r.flags&flagUsed == 0 {
			continue
		}
		life := AIFO
		if r.flags&flagBefore != 0 {
			life = AOFO
		}
		snap := r.flags&flagSnapshot != 0
		if !t.f.oldEnough(r.time, end, snap) || !t.classify(r, life) {
			continue
		}
		t.outstanding = append(t.outstanding, Allocation{
			Tag: r.tag, PoolType: r.ptype, Size: r.size, Addr: r.addr,
			Session: r.flags&flagSession != 0, SessionID: r.sid,
			Time: r.time, Snapshot: snap, PID: r.pid, Stack: r.stack, Lifetime: life,
		})
	}
	t.live = nil
	if t.series != nil && t.series.started {
		t.series.flush()
	}
}

// Outstanding returns the number of allocations the tracker holds open.
func (t *Tracker) Outstanding() int {
	if t.live == nil {
		return 0
	}
	return t.live.n
}

// Finish closes the window (at the last event if no event reached its end)
// and returns the result. Later calls return the same Result.
func (t *Tracker) Finish() *Result {
	if t.result != nil {
		return t.result
	}
	t.close(t.last)
	res := &Result{
		Window: t.opts.Window,
		Start:  t.first,
		End:    t.end,
		First:  t.first,
		Last:   t.last,
		Health: t.h,
	}
	if t.opts.Window.HasStart {
		res.Start = t.lo
	}
	for i := range t.rows {
		rs := &t.rows[i]
		if rs.c.empty() {
			continue
		}
		rs.c.derive()
		res.Rows = append(res.Rows, Row{Tag: rs.tag, Paged: rs.paged, Counts: rs.c})
		res.Totals.add(&rs.c)
	}
	res.Totals.derive()
	SortRows(res.Rows, SortBytes)

	slices.SortFunc(t.outstanding, func(a, b Allocation) int {
		if c := cmp.Compare(a.Time, b.Time); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Addr, b.Addr); c != 0 {
			return c
		}
		return cmp.Compare(a.SessionID, b.SessionID)
	})
	res.Outstanding = t.outstanding

	if t.groups != nil {
		res.Closed = make([]Group, 0, len(t.groups))
		for g, v := range t.groups {
			res.Closed = append(res.Closed, Group{Tag: g.tag, PoolType: g.ptype, Stack: g.stack, PID: g.pid,
				Size: g.size, Lifetime: g.life, Count: v.count, Bytes: v.bytes})
		}
		slices.SortFunc(res.Closed, func(a, b Group) int {
			return cmp.Or(
				cmp.Compare(a.Lifetime, b.Lifetime),
				compareTags(a.Tag, b.Tag),
				cmp.Compare(a.PoolType, b.PoolType),
				cmp.Compare(a.Stack, b.Stack),
				cmp.Compare(a.PID, b.PID),
				cmp.Compare(a.Size, b.Size),
			)
		})
		t.groups = nil
	}
	if t.series != nil {
		res.Series = t.series.finish(t.end, t.reached)
	}
	t.result = res
	return res
}
