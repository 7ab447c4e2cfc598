package pool_test

import (
	"testing"

	"github.com/poolprof/poolprof/etl/kernel"
	"github.com/poolprof/poolprof/pool"
	"github.com/stretchr/testify/require"
)

// Pool types used by the tests.
const (
	nonpaged = uint32(kernel.NonPagedPool)
	paged    = uint32(kernel.PagedPool)
	nx       = uint32(kernel.NonPagedPoolNx)
	sessPg   = uint32(33) // PagedPoolSession
)

// protectedTag is the PROTECTED_POOL bit as it appears in Event.Tag.
const protectedTag = uint32(kernel.ProtectedPool)

// tag parses a tag for a test.
func tag(t testing.TB, s string) uint32 {
	t.Helper()
	v, err := pool.ParseTag(s)
	require.NoError(t, err)
	return v
}

// ev is a compact way to write an event in a test.
type ev struct {
	t     int64
	op    pool.Op
	tag   string
	pt    uint32
	size  uint64
	addr  uint64
	pid   uint32
	stack uint32
	sess  bool
	sid   uint32
}

func a(t int64, tag string, pt uint32, size, addr uint64) ev {
	return ev{t: t, op: pool.OpAlloc, tag: tag, pt: pt, size: size, addr: addr, pid: 4, stack: 1}
}

func f(t int64, tag string, pt uint32, addr uint64) ev {
	return ev{t: t, op: pool.OpFree, tag: tag, pt: pt, addr: addr, pid: 4}
}

func (e ev) withPID(pid uint32) ev   { e.pid = pid; return e }
func (e ev) withStack(s uint32) ev   { e.stack = s; return e }
func (e ev) inSession(id uint32) ev  { e.sess, e.sid = true, id; return e }
func (e ev) withSize(size uint64) ev { e.size = size; return e }
func (e ev) withOp(op pool.Op) ev    { e.op = op; return e }
func (e ev) event(t testing.TB) pool.Event {
	return pool.Event{Time: e.t, Op: e.op, Session: e.sess, SessionID: e.sid, PoolType: e.pt,
		Tag: tag(t, e.tag), Size: e.size, Addr: e.addr, PID: e.pid, Stack: e.stack}
}

// track runs the events through a tracker with the options.
func track(t testing.TB, opts pool.Options, evs ...ev) *pool.Result {
	t.Helper()
	tr := pool.NewTracker(opts)
	for _, e := range evs {
		pe := e.event(t)
		tr.Add(&pe)
	}
	r := tr.Finish()
	checkIdentities(t, r)
	return r
}

// checkIdentities asserts the row identities and that the totals sum the rows.
func checkIdentities(t testing.TB, r *pool.Result) {
	t.Helper()
	var sum pool.Counts
	for _, row := range r.Rows {
		c := row.Counts
		require.Equal(t, c.AIFOCount+c.AIFICount+c.LostFrees, c.Allocs, "allocs identity, row %s", pool.TagString(row.Tag))
		require.Equal(t, c.AIFICount+c.AOFICount, c.Frees, "frees identity, row %s", pool.TagString(row.Tag))
		require.Equal(t, int64(c.Allocs)-int64(c.Frees), c.Diff)
		require.Equal(t, c.AIFOBytes+c.AOFOBytes, c.Bytes)
		require.Equal(t, c.AIFOCount+c.AOFOCount, c.Outstanding)
		sum.Allocs += c.Allocs
		sum.Frees += c.Frees
		sum.Bytes += c.Bytes
		sum.AIFOCount += c.AIFOCount
		sum.AIFOBytes += c.AIFOBytes
		sum.AIFICount += c.AIFICount
		sum.AIFIBytes += c.AIFIBytes
		sum.AOFICount += c.AOFICount
		sum.AOFIBytes += c.AOFIBytes
		sum.AOFOCount += c.AOFOCount
		sum.AOFOBytes += c.AOFOBytes
		sum.LostFrees += c.LostFrees
		sum.LostBytes += c.LostBytes
	}
	tot := r.Totals
	require.Equal(t, sum.Allocs, tot.Allocs)
	require.Equal(t, sum.Frees, tot.Frees)
	require.Equal(t, sum.Bytes, tot.Bytes)
	require.Equal(t, sum.AIFOCount, tot.AIFOCount)
	require.Equal(t, sum.AIFOBytes, tot.AIFOBytes)
	require.Equal(t, sum.AIFICount, tot.AIFICount)
	require.Equal(t, sum.AIFIBytes, tot.AIFIBytes)
	require.Equal(t, sum.AOFICount, tot.AOFICount)
	require.Equal(t, sum.AOFIBytes, tot.AOFIBytes)
	require.Equal(t, sum.AOFOCount, tot.AOFOCount)
	require.Equal(t, sum.AOFOBytes, tot.AOFOBytes)
	require.Equal(t, sum.LostFrees, tot.LostFrees)
	require.Equal(t, sum.LostBytes, tot.LostBytes)
	// The outstanding list is exactly the AIFO and AOFO counted in rows.
	var n, b uint64
	for _, al := range r.Outstanding {
		require.True(t, al.Lifetime.Outstanding())
		n++
		b += al.Size
	}
	require.Equal(t, tot.Outstanding, n)
	require.Equal(t, tot.Bytes, b)
}

// row finds the row of (tag, paged); it fails the test if there is none.
func row(t testing.TB, r *pool.Result, tg string, pg bool) pool.Counts {
	t.Helper()
	want := tag(t, tg)
	for _, row := range r.Rows {
		if row.Tag == want && row.Paged == pg {
			return row.Counts
		}
	}
	require.Failf(t, "no row", "%q paged=%v in %d rows", tg, pg, len(r.Rows))
	return pool.Counts{}
}

// hasRow reports whether (tag, paged) has a row.
func hasRow(t testing.TB, r *pool.Result, tg string, pg bool) bool {
	want := tag(t, tg)
	for _, row := range r.Rows {
		if row.Tag == want && row.Paged == pg {
			return true
		}
	}
	return false
}

// counts builds the expected Counts from the class counts.
func counts(aifo, aifoB, aifi, aifiB, aofi, aofiB, aofo, aofoB, lost, lostB uint64) pool.Counts {
	c := pool.Counts{AIFOCount: aifo, AIFOBytes: aifoB, AIFICount: aifi, AIFIBytes: aifiB,
		AOFICount: aofi, AOFIBytes: aofiB, AOFOCount: aofo, AOFOBytes: aofoB, LostFrees: lost, LostBytes: lostB}
	c.Allocs = aifo + aifi + lost
	c.Frees = aifi + aofi
	c.Diff = int64(c.Allocs) - int64(c.Frees)
	c.Outstanding = aifo + aofo
	c.Bytes = aifoB + aofoB
	if c.Outstanding > 0 {
		c.PerAlloc = c.Bytes / c.Outstanding
	}
	return c
}
