package pool_test

import (
	"testing"

	"github.com/poolprof/poolprof/pool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// filterStream has one allocation of every class on two tags, with sizes
// and processes that the filters below split. Whole-trace classes:
//
//	Toke 0x1 size 100 pid 10  AIFO (t=1)
//	Toke 0x2 size 200 pid 10  AIFI
//	Toke 0x3 size 300 pid 20  LostFree (re-allocated as 0x3 size 50 pid 20, AIFO, t=6)
//	Toke 0x9 free, never allocated: AOFI (pid 30)
//	Irp  0x4 size 400 pid 20  AIFO, nonpaged (t=2)
func filterStream() []ev {
	return []ev{
		a(1, "Toke", paged, 100, 0x1).withPID(10),
		a(2, "Irp ", nonpaged, 400, 0x4).withPID(20),
		a(3, "Toke", paged, 200, 0x2).withPID(10),
		a(4, "Toke", paged, 300, 0x3).withPID(20),
		f(5, "Toke", paged, 0x2).withPID(99),
		a(6, "Toke", paged, 50, 0x3).withPID(20),
		f(7, "Toke", paged, 0x9).withPID(30),
		a(100, "Nul ", paged, 1, 0x77), // only moves the end of the trace to t=100
		f(100, "Nul ", paged, 0x77),
	}
}

func TestNoFilter(t *testing.T) {
	r := track(t, pool.Options{}, filterStream()...)
	assert.Equal(t, counts(2, 150, 1, 200, 1, 0, 0, 0, 1, 300), row(t, r, "Toke", true))
	assert.Equal(t, counts(1, 400, 0, 0, 0, 0, 0, 0, 0, 0), row(t, r, "Irp ", false))
}

func TestSizeRange(t *testing.T) {
	// [100, 300]: drops the 50-byte AIFO and the 400-byte Irp; the unseen
	// free has no size, so it is dropped too.
	r := track(t, pool.Options{Filter: pool.Filter{MinSize: 100, MaxSize: 300}}, filterStream()...)
	assert.Equal(t, counts(1, 100, 1, 200, 0, 0, 0, 0, 1, 300), row(t, r, "Toke", true))
	assert.False(t, hasRow(t, r, "Irp ", false))

	r = track(t, pool.Options{Filter: pool.Filter{MinSize: 250}}, filterStream()...)
	assert.Equal(t, counts(0, 0, 0, 0, 0, 0, 0, 0, 1, 300), row(t, r, "Toke", true))
	assert.Equal(t, counts(1, 400, 0, 0, 0, 0, 0, 0, 0, 0), row(t, r, "Irp ", false))

	r = track(t, pool.Options{Filter: pool.Filter{MaxSize: 100}}, filterStream()...)
	assert.Equal(t, counts(2, 150, 0, 0, 0, 0, 0, 0, 0, 0), row(t, r, "Toke", true))
}

func TestProcessFilter(t *testing.T) {
	// pid 10 made 0x1 (AIFO) and 0x2 (AIFI, freed from pid 99: the
	// allocating process counts).
	r := track(t, pool.Options{Filter: pool.Filter{PIDs: []uint32{10}}}, filterStream()...)
	assert.Equal(t, counts(1, 100, 1, 200, 0, 0, 0, 0, 0, 0), row(t, r, "Toke", true))
	assert.False(t, hasRow(t, r, "Irp ", false))

	r = track(t, pool.Options{Filter: pool.Filter{PIDs: []uint32{20, 30}}}, filterStream()...)
	assert.Equal(t, counts(1, 50, 0, 0, 0, 0, 0, 0, 1, 300), row(t, r, "Toke", true))
	assert.Equal(t, counts(1, 400, 0, 0, 0, 0, 0, 0, 0, 0), row(t, r, "Irp ", false))
	for _, al := range r.Outstanding {
		assert.Equal(t, uint32(20), al.PID)
	}
	// Health does not follow the filter.
	assert.Equal(t, uint64(1), r.Health.FreesWithoutAlloc)
}

func TestPoolFilter(t *testing.T) {
	r := track(t, pool.Options{Filter: pool.Filter{Pools: pool.PoolNonPaged}}, filterStream()...)
	require.Len(t, r.Rows, 1)
	assert.Equal(t, counts(1, 400, 0, 0, 0, 0, 0, 0, 0, 0), row(t, r, "Irp ", false))

	r = track(t, pool.Options{Filter: pool.Filter{Pools: pool.PoolPaged}}, filterStream()...)
	assert.Equal(t, counts(2, 150, 1, 200, 1, 0, 0, 0, 1, 300), row(t, r, "Toke", true))
	assert.False(t, hasRow(t, r, "Irp ", false))

	r = track(t, pool.Options{Filter: pool.Filter{Pools: pool.PoolSession}},
		a(1, "Gh05", sessPg, 10, 0x1).inSession(1), a(2, "Gh05", paged, 20, 0x1), a(3, "Gh06", nx, 40, 0x2))
	require.Len(t, r.Rows, 1)
	assert.Equal(t, uint64(10), row(t, r, "Gh05", true).Bytes)
}

func TestMinAge(t *testing.T) {
	// The trace ends at t=100. Ages there: 0x1 99, 0x4 98, the second 0x3 94.
	for _, c := range []struct {
		minAge    int64
		tokeAIFO  uint64
		tokeBytes uint64
		irpAIFO   uint64
	}{
		{0, 2, 150, 1},
		{94, 2, 150, 1},
		{95, 1, 100, 1},
		{98, 1, 100, 1},
		{99, 1, 100, 0},
		{100, 0, 0, 0},
	} {
		r := track(t, pool.Options{Filter: pool.Filter{MinAge: c.minAge}}, filterStream()...)
		toke := row(t, r, "Toke", true)
		assert.Equal(t, c.tokeAIFO, toke.AIFOCount, "min age %d", c.minAge)
		assert.Equal(t, c.tokeBytes, toke.AIFOBytes, "min age %d", c.minAge)
		assert.Equal(t, uint64(1), toke.AIFICount, "AIFI is not affected")
		assert.Equal(t, uint64(1), toke.LostFrees, "lost frees are not affected")
		assert.Equal(t, c.irpAIFO, r.Totals.AIFOCount-toke.AIFOCount, "min age %d", c.minAge)
	}
	// With a window the age is measured at the window's end.
	r := track(t, pool.Options{Window: pool.Between(0, 50), Filter: pool.Filter{MinAge: 47}}, filterStream()...)
	assert.Equal(t, uint64(1), row(t, r, "Toke", true).AIFOCount)  // only 0x1 (age 49); 0x3 is 44
	assert.Equal(t, uint64(1), row(t, r, "Irp ", false).AIFOCount) // age 48
	assert.Equal(t, int64(50), r.End)
}

func TestLifetimeFilter(t *testing.T) {
	set, err := pool.ParseLifetimes("aifo")
	require.NoError(t, err)
	r := track(t, pool.Options{Filter: pool.Filter{Lifetimes: set}}, filterStream()...)
	toke := row(t, r, "Toke", true)
	assert.Equal(t, counts(2, 150, 0, 0, 0, 0, 0, 0, 0, 0), toke)
	assert.Equal(t, uint64(2), toke.Allocs)
	assert.Zero(t, toke.Frees)

	set, err = pool.ParseLifetimes("AIFI,AOFI,lost")
	require.NoError(t, err)
	assert.Equal(t, pool.Lifetimes(pool.AIFI, pool.AOFI, pool.LostFree), set)
	assert.Equal(t, "AIFI,AOFI,LostFree", set.String())
	r = track(t, pool.Options{Filter: pool.Filter{Lifetimes: set}}, filterStream()...)
	assert.Equal(t, counts(0, 0, 1, 200, 1, 0, 0, 0, 1, 300), row(t, r, "Toke", true))
	assert.False(t, hasRow(t, r, "Irp ", false))
	assert.Empty(t, r.Outstanding)

	_, err = pool.ParseLifetimes("AIFO,leaked")
	assert.Error(t, err)
	all, err := pool.ParseLifetimes("all")
	require.NoError(t, err)
	assert.True(t, all.Has(pool.AOFO))
}
