package pool_test

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/poolprof/poolprof/etl/kernel"
	"github.com/poolprof/poolprof/pool"
	"github.com/stretchr/testify/require"
)

// TestRandomStreams checks the tracker against a deliberately naive model on
// random streams full of address reuse, lost frees, frees of unknown
// blocks, session pool, protected tags, mismatched frees and snapshots,
// under random windows and filters. Every class count and byte count of
// every row must agree, the row identities must hold, and the outstanding
// list, closed groups and series must agree with the rows.
func TestRandomStreams(t *testing.T) {
	iterations := 2000
	if testing.Short() {
		iterations = 200
	}
	for seed := range uint64(iterations) {
		rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
		evs := randomStream(rng)
		opts := randomOptions(t, rng)
		tr := pool.NewTracker(opts)
		for i := range evs {
			tr.Add(&evs[i])
		}
		r := tr.Finish()
		checkIdentities(t, r)

		want, wantOut := reference(evs, opts)
		got := map[rowKey]pool.Counts{}
		for _, row := range r.Rows {
			got[rowKey{row.Tag, row.Paged}] = classOnly(row.Counts)
		}
		require.Equal(t, want, got, "seed %d window %v filter %+v", seed, opts.Window, opts.Filter)

		gotOut := make([]refAlloc, 0, len(r.Outstanding))
		for _, al := range r.Outstanding {
			gotOut = append(gotOut, refAlloc{al.Addr, al.SessionID, al.Time, al.Size, al.Lifetime})
		}
		sortRefAllocs(gotOut)
		require.Equal(t, wantOut, gotOut, "seed %d", seed)

		// Closed groups add up to the closed classes of the totals.
		var byLife [pool.LostFree + 1]pool.Counts
		for _, g := range r.Closed {
			byLife[g.Lifetime].AIFICount += g.Count
			byLife[g.Lifetime].AIFIBytes += g.Bytes
		}
		tot := r.Totals
		require.Equal(t, [2]uint64{tot.AIFICount, tot.AIFIBytes}, [2]uint64{byLife[pool.AIFI].AIFICount, byLife[pool.AIFI].AIFIBytes})
		require.Equal(t, [2]uint64{tot.AOFICount, tot.AOFIBytes}, [2]uint64{byLife[pool.AOFI].AIFICount, byLife[pool.AOFI].AIFIBytes})
		require.Equal(t, [2]uint64{tot.LostFrees, tot.LostBytes}, [2]uint64{byLife[pool.LostFree].AIFICount, byLife[pool.LostFree].AIFIBytes})

		// The series' last point is what the rows hold outstanding, when
		// no end-only condition (lifetime, age) is set.
		if opts.Filter.Lifetimes == 0 && opts.Filter.MinAge == 0 && len(r.Series.Times) > 0 {
			outBytes := map[uint32]uint64{}
			outCount := map[uint32]uint64{}
			for _, row := range r.Rows {
				outBytes[row.Tag] += row.Bytes
				outCount[row.Tag] += row.Outstanding
			}
			n := len(r.Series.Times) - 1
			for _, ts := range r.Series.Tags {
				require.Equal(t, outBytes[ts.Tag], ts.Bytes[n], "seed %d series %s", seed, pool.TagString(ts.Tag))
				require.Equal(t, outCount[ts.Tag], ts.Counts[n], "seed %d", seed)
				delete(outBytes, ts.Tag)
			}
			for tg, b := range outBytes {
				require.Zero(t, b, "seed %d: %s outstanding but not in the series", seed, pool.TagString(tg))
			}
		}
	}
}

var (
	randTags  = []string{"Toke", "Irp ", "Se  ", "File"}
	randTypes = []uint32{0, 1, 33, 0x200, 0x220, 0x10000001, 0x11}
	randSizes = []uint64{16, 64, 100, 1664, 4096}
	randPIDs  = []uint32{4, 10, 20}
)

func randomStream(rng *rand.Rand) []pool.Event {
	n := 20 + rng.IntN(300)
	type made struct {
		addr    uint64
		sess    bool
		sid     uint32
		tag, pt uint32
	}
	var allocs []made
	evs := make([]pool.Event, 0, n)
	now := int64(rng.IntN(5))
	for range n {
		now += int64(rng.IntN(4))
		e := pool.Event{Time: now, PID: randPIDs[rng.IntN(len(randPIDs))], Stack: uint32(rng.IntN(4))}
		e.Tag = rawTag(randTags[rng.IntN(len(randTags))])
		if rng.IntN(10) == 0 {
			e.Tag |= protectedTag
		}
		e.PoolType = randTypes[rng.IntN(len(randTypes))]
		e.Addr = 0x1000 * uint64(1+rng.IntN(12))
		if rng.IntN(4) == 0 {
			e.Session, e.SessionID = true, uint32(1+rng.IntN(2))
		} else if pool.PoolType(e.PoolType).Session() {
			e.SessionID = uint32(1 + rng.IntN(2)) // session by pool type alone
		}
		e.Size = randSizes[rng.IntN(len(randSizes))]
		switch p := rng.IntN(100); {
		case p < 46:
			e.Op = pool.OpAlloc
			allocs = append(allocs, made{e.Addr, e.Session, e.SessionID, e.Tag, e.PoolType})
		case p < 94:
			e.Op = pool.OpFree
			e.Size = 0
			if len(allocs) > 0 && rng.IntN(5) > 0 {
				m := allocs[rng.IntN(len(allocs))]
				e.Addr, e.Session, e.SessionID = m.addr, m.sess, m.sid
				if rng.IntN(10) > 0 { // else a mismatched tag and type
					e.Tag, e.PoolType = m.tag, m.pt
				} else if pool.PoolType(m.pt).Session() && !m.sess {
					e.PoolType |= uint32(kernel.SessionPoolMask) // keep the key
				}
			}
		case p < 97:
			e.Op = pool.OpSnapStart
		case p < 99:
			e.Op = pool.OpSnapEnd
		default:
			e.Op = 0
		}
		evs = append(evs, e)
	}
	return evs
}

func randomOptions(t *testing.T, rng *rand.Rand) pool.Options {
	o := pool.Options{KeepClosed: true, Series: pool.SeriesOptions{Width: int64(1 + rng.IntN(50)), Top: 100}}
	lo, hi := int64(rng.IntN(300)), int64(rng.IntN(600))
	switch rng.IntN(5) {
	case 0:
		o.Window = pool.Between(lo, hi)
	case 1:
		o.Window = pool.From(lo)
	case 2:
		o.Window = pool.Until(hi)
	}
	if rng.IntN(4) == 0 {
		ps, err := pool.ParseTagPatterns([]string{"T*", "Se", "?r*", "*e"}[rng.IntN(4)])
		require.NoError(t, err)
		o.Filter.Tags = ps
	}
	if rng.IntN(4) == 0 {
		ps, err := pool.ParseTagPatterns([]string{"File", "*e*", "I???"}[rng.IntN(3)])
		require.NoError(t, err)
		o.Filter.ExcludeTags = ps
	}
	if rng.IntN(4) == 0 {
		o.Filter.Lifetimes = pool.LifetimeSet(rng.IntN(64)) &^ 1
	}
	if rng.IntN(4) == 0 {
		o.Filter.Pools = pool.PoolSet(rng.IntN(8))
	}
	if rng.IntN(4) == 0 {
		o.Filter.MinSize = randSizes[rng.IntN(len(randSizes))]
	}
	if rng.IntN(4) == 0 {
		o.Filter.MaxSize = randSizes[rng.IntN(len(randSizes))]
	}
	if rng.IntN(4) == 0 {
		o.Filter.PIDs = []uint32{randPIDs[rng.IntN(len(randPIDs))]}
	}
	if rng.IntN(4) == 0 {
		o.Filter.MinAge = int64(rng.IntN(200))
	}
	return o
}

type rowKey struct {
	tag   uint32
	paged bool
}

type refAlloc struct {
	addr uint64
	sid  uint32
	time int64
	size uint64
	life pool.Lifetime
}

func sortRefAllocs(s []refAlloc) {
	slices.SortFunc(s, func(a, b refAlloc) int {
		return cmp.Or(cmp.Compare(a.time, b.time), cmp.Compare(a.addr, b.addr), cmp.Compare(a.sid, b.sid))
	})
}

func classOnly(c pool.Counts) pool.Counts {
	return pool.Counts{AIFOCount: c.AIFOCount, AIFOBytes: c.AIFOBytes, AIFICount: c.AIFICount, AIFIBytes: c.AIFIBytes,
		AOFICount: c.AOFICount, AOFIBytes: c.AOFIBytes, AOFOCount: c.AOFOCount, AOFOBytes: c.AOFOBytes,
		LostFrees: c.LostFrees, LostBytes: c.LostBytes}
}

// reference computes the class counts per row and the outstanding list the
// slow way: simulate the table as a list searched linearly, record each
// allocation's fate, then classify every allocation at the end.
func reference(evs []pool.Event, o pool.Options) (map[rowKey]pool.Counts, []refAlloc) {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if o.Window.HasStart {
		lo = o.Window.Start
	}
	if o.Window.HasEnd {
		hi = o.Window.End
	}
	type objKey struct {
		addr    uint64
		session bool
		sid     uint32
	}
	keyOf := func(e *pool.Event) objKey {
		if e.Session || e.PoolType&0x20 != 0 {
			return objKey{e.Addr, true, e.SessionID}
		}
		return objKey{addr: e.Addr}
	}
	const (
		fateOutstanding = iota
		fateFreed
		fateLost
	)
	type obj struct {
		e            pool.Event
		k            objKey
		before, snap bool
		fate         int
		fateInside   bool
	}
	var objs []obj
	var live []int // indexes into objs
	var unseen []pool.Event
	find := func(k objKey) int {
		for i, o := range live {
			if objs[o].k == k {
				return i
			}
		}
		return -1
	}
	end, reached := int64(0), false
	for i := range evs {
		e := evs[i]
		if e.Time >= hi {
			reached = true
			break
		}
		end = e.Time
		inside := e.Time >= lo
		k := keyOf(&e)
		switch e.Op {
		case pool.OpAlloc:
			if j := find(k); j >= 0 {
				objs[live[j]].fate, objs[live[j]].fateInside = fateLost, inside
				live = slices.Delete(live, j, j+1)
			}
			objs = append(objs, obj{e: e, k: k, before: !inside})
			live = append(live, len(objs)-1)
		case pool.OpFree:
			if j := find(k); j >= 0 {
				objs[live[j]].fate, objs[live[j]].fateInside = fateFreed, inside
				live = slices.Delete(live, j, j+1)
			} else if inside {
				unseen = append(unseen, e)
			}
		case pool.OpSnapStart, pool.OpSnapEnd:
			if find(k) < 0 {
				objs = append(objs, obj{e: e, k: k, before: true, snap: true})
				live = append(live, len(objs)-1)
			}
		}
	}
	if reached {
		end = hi
	}

	fl := o.Filter
	keep := func(e *pool.Event, life pool.Lifetime) bool {
		if fl.Lifetimes != 0 && fl.Lifetimes&(1<<life) == 0 {
			return false
		}
		if !fl.MatchTag(e.Tag) || (fl.Pools != 0 && !fl.Pools.Match(pool.PoolType(e.PoolType))) {
			return false
		}
		if e.Size < fl.MinSize || (fl.MaxSize != 0 && e.Size > fl.MaxSize) {
			return false
		}
		return len(fl.PIDs) == 0 || slices.Contains(fl.PIDs, e.PID)
	}
	rows := map[rowKey]pool.Counts{}
	add := func(e *pool.Event, life pool.Lifetime, size uint64) {
		rk := rowKey{e.Tag &^ protectedTag, pool.PoolType(e.PoolType).Paged()}
		c := rows[rk]
		switch life {
		case pool.AIFI:
			c.AIFICount++
			c.AIFIBytes += size
		case pool.AIFO:
			c.AIFOCount++
			c.AIFOBytes += size
		case pool.AOFI:
			c.AOFICount++
			c.AOFIBytes += size
		case pool.AOFO:
			c.AOFOCount++
			c.AOFOBytes += size
		case pool.LostFree:
			c.LostFrees++
			c.LostBytes += size
		}
		rows[rk] = c
	}
	var out []refAlloc
	for _, ob := range objs {
		e := &ob.e
		var life pool.Lifetime
		switch {
		case ob.fate == fateOutstanding && ob.before:
			life = pool.AOFO
		case ob.fate == fateOutstanding:
			life = pool.AIFO
		case ob.fate == fateFreed && ob.fateInside && ob.before:
			life = pool.AOFI
		case ob.fate == fateFreed && ob.fateInside:
			life = pool.AIFI
		case ob.fate == fateLost && ob.fateInside && !ob.before:
			life = pool.LostFree
		default:
			continue // allocated and closed before the window, or lost before it
		}
		if life.Outstanding() && fl.MinAge > 0 && !ob.snap && end-e.Time < fl.MinAge {
			continue
		}
		if !keep(e, life) {
			continue
		}
		add(e, life, e.Size)
		if life.Outstanding() {
			out = append(out, refAlloc{ob.k.addr, ob.k.sid, e.Time, e.Size, life})
		}
	}
	for i := range unseen {
		e := &unseen[i]
		if len(fl.PIDs) > 0 || fl.MinSize > 0 || fl.MaxSize > 0 {
			continue
		}
		if fl.Lifetimes != 0 && fl.Lifetimes&(1<<pool.AOFI) == 0 {
			continue
		}
		if !fl.MatchTag(e.Tag) || (fl.Pools != 0 && !fl.Pools.Match(pool.PoolType(e.PoolType))) {
			continue
		}
		add(e, pool.AOFI, 0)
	}
	sortRefAllocs(out)
	if out == nil {
		out = []refAlloc{}
	}
	return rows, out
}
