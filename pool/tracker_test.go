package pool_test

import (
	"testing"

	"github.com/poolprof/poolprof/etl/kernel"
	"github.com/poolprof/poolprof/pool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAIFI(t *testing.T) {
	r := track(t, pool.Options{},
		a(1, "Toke", paged, 1664, 0x1000),
		a(2, "Toke", paged, 1664, 0x2000),
		f(3, "Toke", paged, 0x1000),
		f(4, "Toke", paged, 0x2000),
	)
	require.Len(t, r.Rows, 1)
	c := row(t, r, "Toke", true)
	assert.Equal(t, counts(0, 0, 2, 3328, 0, 0, 0, 0, 0, 0), c)
	assert.Equal(t, uint64(2), c.Allocs)
	assert.Equal(t, uint64(2), c.Frees)
	assert.Equal(t, int64(0), c.Diff)
	assert.Equal(t, uint64(0), c.Bytes)
	assert.Empty(t, r.Outstanding)
	assert.Equal(t, uint64(2), r.Health.Allocs)
	assert.Equal(t, uint64(2), r.Health.Frees)
	assert.Zero(t, r.Health.FreesWithoutAlloc)
}

func TestAIFO(t *testing.T) {
	r := track(t, pool.Options{},
		a(10, "Toke", paged, 1664, 0x1000).withStack(7).withPID(600),
		a(20, "Toke", paged, 1664, 0x2000).withStack(7).withPID(600),
		a(30, "Toke", paged, 1664, 0x3000).withStack(8).withPID(600),
		a(35, "Toke", paged, 200, 0x4000).withStack(8).withPID(4),
		f(40, "Toke", paged, 0x2000),
	)
	c := row(t, r, "Toke", true)
	assert.Equal(t, counts(3, 1664+1664+200, 1, 1664, 0, 0, 0, 0, 0, 0), c)
	assert.Equal(t, uint64(4), c.Allocs)
	assert.Equal(t, uint64(1), c.Frees)
	assert.Equal(t, int64(3), c.Diff)
	assert.Equal(t, uint64(3528), c.Bytes)
	assert.Equal(t, uint64(3528/3), c.PerAlloc) // poolmon: bytes / outstanding
	tk := tag(t, "Toke")
	assert.Equal(t, []pool.Allocation{
		{Tag: tk, PoolType: paged, Size: 1664, Addr: 0x1000, Time: 10, PID: 600, Stack: 7, Lifetime: pool.AIFO},
		{Tag: tk, PoolType: paged, Size: 1664, Addr: 0x3000, Time: 30, PID: 600, Stack: 8, Lifetime: pool.AIFO},
		{Tag: tk, PoolType: paged, Size: 200, Addr: 0x4000, Time: 35, PID: 4, Stack: 8, Lifetime: pool.AIFO},
	}, r.Outstanding)
	assert.Equal(t, int64(10), r.Start)
	assert.Equal(t, int64(40), r.End)
}

func TestAOFI(t *testing.T) {
	// Frees of blocks allocated before the trace: counted on the free's own
	// tag and pool, without bytes.
	r := track(t, pool.Options{},
		f(1, "Irp ", nonpaged, 0x1000).withSize(4096), // free's size is not trusted
		f(2, "Irp ", nonpaged, 0x2000),
		f(3, "Toke", paged, 0x3000),
	)
	assert.Equal(t, counts(0, 0, 0, 0, 2, 0, 0, 0, 0, 0), row(t, r, "Irp ", false))
	assert.Equal(t, counts(0, 0, 0, 0, 1, 0, 0, 0, 0, 0), row(t, r, "Toke", true))
	assert.Equal(t, uint64(3), r.Health.FreesWithoutAlloc)
	assert.Equal(t, r.Totals.AOFICount, r.Health.FreesWithoutAlloc)
	assert.Equal(t, uint64(3), r.Totals.Frees)
	assert.Equal(t, int64(-3), r.Totals.Diff)
}

func TestWindowAOFO(t *testing.T) {
	// Window [10, 20). Every case by hand:
	//   A alloc@5, never freed           -> AOFO 100
	//   B alloc@5, freed@15              -> AOFI 200 (allocation seen before the window)
	//   C alloc@6, freed@8               -> nothing (all before the window)
	//   D alloc@12, freed@25 (after end) -> AIFO 400 (outstanding at the end)
	//   E alloc@12, freed@14             -> AIFI 800
	//   F free@3, allocation never seen  -> nothing (not inside the window)
	//   G free@16, allocation never seen -> AOFI, no bytes
	//   H alloc@18 at A's address        -> lost free of A (made before the window: no row),
	//                                       H itself AIFO 50
	r := track(t, pool.Options{Window: pool.Between(10, 20)},
		f(3, "Toke", paged, 0xF000),
		a(5, "Toke", paged, 100, 0xA000),
		a(5, "Toke", paged, 200, 0xB000),
		a(6, "Toke", paged, 300, 0xC000),
		f(8, "Toke", paged, 0xC000),
		a(12, "Toke", paged, 400, 0xD000),
		a(12, "Toke", paged, 800, 0xE000),
		f(14, "Toke", paged, 0xE000),
		f(15, "Toke", paged, 0xB000),
		f(16, "Toke", paged, 0x10000),
		a(18, "Toke", paged, 50, 0xA000),
		f(25, "Toke", paged, 0xD000),
		a(26, "Toke", paged, 1, 0x20000),
	)
	c := row(t, r, "Toke", true)
	assert.Equal(t, counts(2, 450, 1, 800, 2, 200, 0, 0, 0, 0), c)
	assert.Equal(t, uint64(3), c.Allocs) // D, E, H
	assert.Equal(t, uint64(3), c.Frees)  // E, B, G
	assert.Equal(t, uint64(450), c.Bytes)
	assert.Equal(t, uint64(2), c.Outstanding)

	h := r.Health
	assert.Equal(t, uint64(5), h.EventsBefore) // F, A, B, C and C's free
	assert.Equal(t, uint64(2), h.EventsAfter)
	assert.Equal(t, uint64(1), h.FreesWithoutAlloc) // G only: F is before the window
	assert.Equal(t, uint64(1), h.LostFreesOutside)
	assert.Zero(t, h.LostFrees)
	assert.Equal(t, int64(10), r.Start)
	assert.Equal(t, int64(20), r.End)

	// A window whose start cuts A: A is AOFO.
	r = track(t, pool.Options{Window: pool.Between(10, 20)},
		a(5, "Toke", paged, 100, 0xA000),
		a(12, "Toke", paged, 400, 0xD000),
	)
	assert.Equal(t, counts(1, 400, 0, 0, 0, 0, 1, 100, 0, 0), row(t, r, "Toke", true))
	require.Len(t, r.Outstanding, 2)
	assert.Equal(t, pool.AOFO, r.Outstanding[0].Lifetime)
	assert.Equal(t, pool.AIFO, r.Outstanding[1].Lifetime)
	assert.Equal(t, int64(12), r.End, "the trace ended before the window did")

	// Without a window nothing is AOFO.
	r = track(t, pool.Options{},
		a(5, "Toke", paged, 100, 0xA000),
		a(12, "Toke", paged, 400, 0xD000),
	)
	assert.Equal(t, counts(2, 500, 0, 0, 0, 0, 0, 0, 0, 0), row(t, r, "Toke", true))
}

func TestLostFree(t *testing.T) {
	// A second allocation at 0x1000 before any free: the free of the first
	// was lost. The first closes on ITS row (Toke), the second opens (Irp).
	r := track(t, pool.Options{},
		a(1, "Toke", paged, 100, 0x1000),
		a(2, "Irp ", nonpaged, 200, 0x1000),
		a(3, "Irp ", nonpaged, 300, 0x1000),
		f(4, "Irp ", nonpaged, 0x1000),
	)
	toke := row(t, r, "Toke", true)
	assert.Equal(t, counts(0, 0, 0, 0, 0, 0, 0, 0, 1, 100), toke)
	assert.Equal(t, uint64(1), toke.Allocs)
	assert.Equal(t, uint64(0), toke.Frees)
	irp := row(t, r, "Irp ", false)
	assert.Equal(t, counts(0, 0, 1, 300, 0, 0, 0, 0, 1, 200), irp)
	assert.Equal(t, uint64(2), irp.Allocs)
	assert.Equal(t, uint64(1), irp.Frees)
	assert.Equal(t, uint64(2), r.Health.LostFrees)
	assert.Empty(t, r.Outstanding)
}

func TestAddressReuse(t *testing.T) {
	r := track(t, pool.Options{},
		a(1, "File", nonpaged, 10, 0x1000),
		f(2, "File", nonpaged, 0x1000),
		a(3, "File", nonpaged, 20, 0x1000),
		f(4, "File", nonpaged, 0x1000),
		a(5, "MmSt", paged, 40, 0x1000),
	)
	assert.Equal(t, counts(0, 0, 2, 30, 0, 0, 0, 0, 0, 0), row(t, r, "File", false))
	assert.Equal(t, counts(1, 40, 0, 0, 0, 0, 0, 0, 0, 0), row(t, r, "MmSt", true))
	assert.Zero(t, r.Health.LostFrees)
	assert.Zero(t, r.Health.FreesWithoutAlloc)
}

func TestSessionKeys(t *testing.T) {
	// One address in session 1, session 2 and global pool: three blocks.
	r := track(t, pool.Options{},
		a(1, "Gh05", sessPg, 100, 0x1000).inSession(1),
		a(2, "Gh05", sessPg, 200, 0x1000).inSession(2),
		a(3, "Gh05", paged, 400, 0x1000),
		f(4, "Gh05", sessPg, 0x1000).inSession(1),
		// PoolType&0x20 alone makes it session pool (session id 2).
		ev{t: 5, op: pool.OpFree, tag: "Gh05", pt: sessPg, addr: 0x1000, sid: 2},
		// A free in session 3 matches nothing.
		f(6, "Gh05", sessPg, 0x1000).inSession(3),
	)
	c := row(t, r, "Gh05", true)
	assert.Equal(t, counts(1, 400, 2, 300, 1, 0, 0, 0, 0, 0), c)
	assert.Zero(t, r.Health.LostFrees)
	assert.Equal(t, uint64(1), r.Health.FreesWithoutAlloc)
	require.Len(t, r.Outstanding, 1)
	assert.False(t, r.Outstanding[0].Session)
	assert.Equal(t, uint64(400), r.Outstanding[0].Size)

	// The session id is part of the key: outstanding session blocks keep it.
	r = track(t, pool.Options{}, a(1, "Gh05", sessPg, 100, 0x1000).inSession(7))
	require.Len(t, r.Outstanding, 1)
	assert.True(t, r.Outstanding[0].Session)
	assert.Equal(t, uint32(7), r.Outstanding[0].SessionID)
}

func TestProtectedTag(t *testing.T) {
	tk := tag(t, "Toke")
	tr := pool.NewTracker(pool.Options{})
	tr.Add(&pool.Event{Time: 1, Op: pool.OpAlloc, PoolType: paged, Tag: tk | protectedTag, Size: 64, Addr: 0x10, Stack: 1})
	tr.Add(&pool.Event{Time: 2, Op: pool.OpAlloc, PoolType: paged, Tag: tk, Size: 32, Addr: 0x20, Stack: 1})
	tr.Add(&pool.Event{Time: 3, Op: pool.OpFree, PoolType: paged, Tag: tk, Addr: 0x10})
	tr.Add(&pool.Event{Time: 4, Op: pool.OpFree, PoolType: paged, Tag: tk | protectedTag, Addr: 0x30})
	r := tr.Finish()
	checkIdentities(t, r)
	require.Len(t, r.Rows, 1, "protected and plain Toke are one row")
	assert.Equal(t, tk, r.Rows[0].Tag)
	assert.Equal(t, "Toke", pool.TagString(r.Rows[0].Tag))
	assert.Equal(t, counts(1, 32, 1, 64, 1, 0, 0, 0, 0, 0), r.Rows[0].Counts)
	assert.Zero(t, r.Health.FreeMismatches)
	assert.Equal(t, "Toke", pool.TagString(tk|protectedTag))
}

func TestFreeMismatchCountsOnAllocationRow(t *testing.T) {
	r := track(t, pool.Options{},
		a(1, "Toke", paged, 64, 0x10),
		f(2, "Irp ", nonpaged, 0x10),
	)
	assert.Equal(t, counts(0, 0, 1, 64, 0, 0, 0, 0, 0, 0), row(t, r, "Toke", true))
	assert.False(t, hasRow(t, r, "Irp ", false))
	assert.Equal(t, uint64(1), r.Health.FreeMismatches)
}

func TestPoolClassificationRows(t *testing.T) {
	r := track(t, pool.Options{},
		a(1, "NxNp", nx, 10, 0x1),                                   // NonPagedPoolNx: nonpaged
		a(2, "SsPg", sessPg, 20, 0x2).inSession(1),                  // session paged: paged
		a(3, "SsNx", uint32(kernel.NonPagedPoolSessionNx), 30, 0x3), // session NX: nonpaged
		a(4, "BigP", uint32(kernel.BigPoolMarker)|paged, 40, 0x4),   // big-pool marker masked
		a(5, "BigN", uint32(kernel.BigPoolMarker)|nx, 50, 0x5),
		a(6, "ModP", paged|uint32(kernel.PoolRaiseIfAllocationFailure)|uint32(kernel.PoolQuotaFailInsteadOfRaise), 60, 0x6),
		a(7, "ModN", uint32(kernel.PoolQuotaFailInsteadOfRaise), 70, 0x7),
		a(8, "CaPg", uint32(kernel.PagedPoolCacheAligned), 80, 0x8),
	)
	for _, c := range []struct {
		tag   string
		paged bool
		bytes uint64
	}{
		{"NxNp", false, 10}, {"SsPg", true, 20}, {"SsNx", false, 30}, {"BigP", true, 40},
		{"BigN", false, 50}, {"ModP", true, 60}, {"ModN", false, 70}, {"CaPg", true, 80},
	} {
		assert.Equal(t, c.bytes, row(t, r, c.tag, c.paged).Bytes, c.tag)
	}
	// The session NX block's pool type carries 0x20: keyed by session.
	for _, al := range r.Outstanding {
		assert.Equal(t, pool.PoolType(al.PoolType).Session(), al.Session, pool.TagString(al.Tag))
	}
}

func TestSnapshots(t *testing.T) {
	// DCStart seeds blocks allocated before the trace: freed inside they
	// are AOFI with their size, outstanding they are AOFO. DCEnd adds
	// blocks the tracker does not hold as AOFO.
	r := track(t, pool.Options{},
		a(1, "Toke", paged, 100, 0x1).withOp(pool.OpSnapStart),
		a(1, "Toke", paged, 200, 0x2).withOp(pool.OpSnapStart),
		a(2, "Toke", paged, 400, 0x3),
		f(3, "Toke", paged, 0x1),
		a(9, "Toke", paged, 400, 0x3).withOp(pool.OpSnapEnd), // already held
		a(9, "Toke", paged, 800, 0x4).withOp(pool.OpSnapEnd), // new: AOFO
	)
	assert.Equal(t, counts(1, 400, 0, 0, 1, 100, 2, 1000, 0, 0), row(t, r, "Toke", true))
	assert.Equal(t, uint64(4), r.Health.Snapshots)
	assert.Equal(t, uint64(3), r.Health.SnapshotsNew)
	for _, al := range r.Outstanding {
		assert.Equal(t, al.Lifetime == pool.AOFO, al.Snapshot)
	}
}

func TestHealthCounters(t *testing.T) {
	r := track(t, pool.Options{},
		a(5, "Toke", paged, 1, 0x1).withStack(0),
		a(6, "Toke", paged, 1, 0x2).withStack(9),
		a(4, "Toke", paged, 1, 0x3), // earlier than the event before it
		ev{t: 7, op: 0, tag: "Toke"},
		f(8, "Toke", paged, 0x9),
		a(9, "Toke", paged, 1, 0x1).withStack(0), // lost free of the first
	)
	h := r.Health
	assert.Equal(t, uint64(6), h.Events)
	assert.Equal(t, uint64(4), h.Allocs)
	assert.Equal(t, uint64(1), h.Frees)
	assert.Equal(t, uint64(2), h.AllocsWithoutStack)
	assert.Equal(t, uint64(1), h.FreesWithoutAlloc)
	assert.Equal(t, uint64(1), h.LostFrees)
	assert.Equal(t, uint64(1), h.OutOfOrder)
	assert.Equal(t, uint64(1), h.Ignored)
	assert.Equal(t, int64(5), r.First)
	assert.Equal(t, int64(9), r.Last)
}

func TestKeepClosed(t *testing.T) {
	r := track(t, pool.Options{KeepClosed: true},
		a(1, "Toke", paged, 64, 0x1).withStack(7),
		a(2, "Toke", paged, 64, 0x2).withStack(7),
		a(3, "Toke", paged, 64, 0x3).withStack(8),
		f(4, "Toke", paged, 0x1),
		f(5, "Toke", paged, 0x2),
		f(6, "Toke", paged, 0x3),
		a(7, "Irp ", nonpaged, 10, 0x4).withStack(5),
		a(8, "Irp ", nonpaged, 10, 0x4).withStack(5), // lost free of the one before
		f(9, "Irp ", nonpaged, 0x99).withPID(1234),   // never allocated
	)
	tk, irp := tag(t, "Toke"), tag(t, "Irp ")
	assert.Equal(t, []pool.Group{
		{Tag: tk, PoolType: paged, Stack: 7, PID: 4, Size: 64, Lifetime: pool.AIFI, Count: 2, Bytes: 128},
		{Tag: tk, PoolType: paged, Stack: 8, PID: 4, Size: 64, Lifetime: pool.AIFI, Count: 1, Bytes: 64},
		{Tag: irp, PoolType: nonpaged, Stack: 0, PID: pool.UnknownPID, Size: 0, Lifetime: pool.AOFI, Count: 1, Bytes: 0},
		{Tag: irp, PoolType: nonpaged, Stack: 5, PID: 4, Size: 10, Lifetime: pool.LostFree, Count: 1, Bytes: 10},
	}, r.Closed)
	require.Len(t, r.Outstanding, 1)

	r = track(t, pool.Options{}, a(1, "Toke", paged, 64, 0x1), f(2, "Toke", paged, 0x1))
	assert.Nil(t, r.Closed)
}

func TestFinishTwiceAndAddAfter(t *testing.T) {
	tr := pool.NewTracker(pool.Options{})
	e := a(1, "Toke", paged, 64, 0x1).event(t)
	tr.Add(&e)
	r1 := tr.Finish()
	e = f(2, "Toke", paged, 0x1).event(t)
	tr.Add(&e)
	assert.Same(t, r1, tr.Finish())
	assert.Equal(t, uint64(1), r1.Totals.AIFOCount)
}

func TestEmpty(t *testing.T) {
	r := pool.NewTracker(pool.Options{Series: pool.SeriesOptions{Width: 10}}).Finish()
	assert.Empty(t, r.Rows)
	assert.Empty(t, r.Outstanding)
	require.NotNil(t, r.Series)
	assert.Empty(t, r.Series.Times)
}

func TestAddDoesNotAllocate(t *testing.T) {
	tr := pool.NewTracker(pool.Options{SizeHint: 1 << 12})
	tk := tag(t, "Toke")
	e := pool.Event{PoolType: paged, Tag: tk, Size: 64, Stack: 1}
	// Warm up: rows exist, table has room.
	for i := range 1000 {
		e.Time, e.Op, e.Addr = int64(i), pool.OpAlloc, uint64(i)
		tr.Add(&e)
	}
	i := 1000
	allocs := testing.AllocsPerRun(1000, func() {
		i++
		e.Time, e.Op, e.Addr = int64(i), pool.OpAlloc, uint64(i%1000)+5000
		tr.Add(&e)
		e.Op = pool.OpFree
		tr.Add(&e)
		e.Op, e.Addr = pool.OpAlloc, uint64(i%1000) // lost free
		tr.Add(&e)
	})
	assert.Zero(t, allocs)
}

func TestWindowAndOutstandingCount(t *testing.T) {
	assert.Equal(t, "[-, -)", pool.WholeTrace().String())
	assert.Equal(t, "[10, 20)", pool.Between(10, 20).String())
	assert.Equal(t, "[10, -)", pool.From(10).String())
	assert.Equal(t, "[-, 20)", pool.Until(20).String())
	assert.Equal(t, "AIFO", pool.AIFO.String())
	assert.Equal(t, "Lifetime(9)", pool.Lifetime(9).String())

	tr := pool.NewTracker(pool.Options{Window: pool.Until(20)})
	for _, e := range []ev{a(1, "Toke", paged, 1, 1), a(2, "Toke", paged, 1, 2), f(3, "Toke", paged, 1)} {
		pe := e.event(t)
		tr.Add(&pe)
	}
	assert.Equal(t, 1, tr.Outstanding())
	e := a(20, "Toke", paged, 1, 3).event(t)
	tr.Add(&e)
	assert.Equal(t, 0, tr.Outstanding(), "the window closed")
	assert.Equal(t, uint64(1), tr.Finish().Totals.AIFOCount)
}
