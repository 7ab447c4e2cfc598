package pool_test

import (
	"container/heap"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/poolprof/poolprof/pool"
)

// The benchmark stream: 10M events shaped like a busy kernel. 60k
// long-lived blocks first, then a mix in which 80% of allocations live a
// few dozen events, 19.2% up to 200k events and 0.8% are never freed
// (~100k outstanding at the end, ~70–110k throughout). Freed addresses are
// reused last-in first-out, as lookaside lists do. 300 tags with a Zipf
// popularity, 3% session pool, 20k stacks (2% none), a few frees of blocks
// never seen and a few lost frees.
const (
	benchEvents  = 10_000_000
	benchWarmup  = 60_000
	benchTags    = 300
	benchStacks  = 20_000
	benchPIDs    = 50
	benchAddress = 0xffffa000_00000000
)

var benchOnce = sync.OnceValue(func() []pool.Event { return genBenchStream(benchEvents, 1) })

type pendingFree struct {
	due  int64
	addr uint64
	tag  uint32
	pt   uint32
	sess bool
	sid  uint32
}

type freeHeap []pendingFree

func (h freeHeap) Len() int           { return len(h) }
func (h freeHeap) Less(i, j int) bool { return h[i].due < h[j].due }
func (h freeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *freeHeap) Push(x any)        { *h = append(*h, x.(pendingFree)) }
func (h *freeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func genBenchStream(n int, seed uint64) []pool.Event {
	rng := rand.New(rand.NewPCG(seed, 42))
	tagZipf := rand.NewZipf(rng, 1.2, 4, benchTags-1)
	stackZipf := rand.NewZipf(rng, 1.1, 8, benchStacks-1)

	type tagInfo struct {
		tag   uint32
		pt    uint32
		sizes [3]uint64
		sess  bool
	}
	tags := make([]tagInfo, benchTags)
	pts := []uint32{0, 1, 1, 0x200, 0x200, 0x200, 5}
	for i := range tags {
		ti := &tags[i]
		ti.tag = uint32('A'+i%26) | uint32('a'+(i/26)%26)<<8 | uint32('0'+i%10)<<16 | uint32('T')<<24
		ti.pt = pts[rng.IntN(len(pts))]
		if rng.IntN(100) < 3 {
			ti.sess, ti.pt = true, 33
		}
		for j := range ti.sizes {
			ti.sizes[j] = uint64(16 << rng.IntN(9))
		}
		if rng.IntN(50) == 0 {
			ti.sizes[0] = 1664
		}
	}

	evs := make([]pool.Event, 0, n)
	var due freeHeap
	var freeList []uint64
	next := uint64(benchAddress)
	now := int64(1_000_000)
	step := int64(0)
	newAddr := func() uint64 {
		if k := len(freeList); k > 0 {
			a := freeList[k-1]
			freeList = freeList[:k-1]
			return a
		}
		next += 0x40
		return next
	}
	for len(evs) < n {
		step++
		now += 1 + int64(rng.IntN(20))
		if due.Len() > 0 && due[0].due <= step && len(evs) > benchWarmup {
			p := heap.Pop(&due).(pendingFree)
			freeList = append(freeList, p.addr)
			if rng.IntN(2000) == 0 {
				continue // the free is lost: the address's next allocation shows it
			}
			evs = append(evs, pool.Event{Time: now, Op: pool.OpFree, Session: p.sess, SessionID: p.sid,
				PoolType: p.pt, Tag: p.tag, Addr: p.addr, PID: uint32(rng.IntN(benchPIDs)), Stack: 1 + uint32(stackZipf.Uint64())})
			continue
		}
		if rng.IntN(1000) == 0 { // a free of a block allocated before the trace
			evs = append(evs, pool.Event{Time: now, Op: pool.OpFree, PoolType: 1, Tag: tags[0].tag,
				Addr: benchAddress - 0x1000_0000 - uint64(rng.IntN(1<<20))*0x40, PID: 4})
			continue
		}
		ti := &tags[tagZipf.Uint64()]
		e := pool.Event{Time: now, Op: pool.OpAlloc, PoolType: ti.pt, Tag: ti.tag, Size: ti.sizes[rng.IntN(3)],
			Addr: newAddr(), PID: uint32(rng.IntN(benchPIDs)), Stack: 1 + uint32(stackZipf.Uint64())}
		if ti.sess {
			e.Session, e.SessionID = true, 1+uint32(rng.IntN(2))
		}
		if rng.IntN(50) == 0 {
			e.Stack = 0
		}
		evs = append(evs, e)
		var life int64
		switch r := rng.IntN(1000); {
		case len(evs) <= benchWarmup, r < 8:
			continue // never freed
		case r < 800:
			life = 1 + int64(rng.ExpFloat64()*40)
		default:
			life = 1 + rng.Int64N(200_000)
		}
		heap.Push(&due, pendingFree{due: step + life, addr: e.Addr, tag: e.Tag, pt: e.PoolType, sess: e.Session, sid: e.SessionID})
	}
	return evs
}

// benchAdd feeds the stream one event per b.N, starting a new tracker
// (off the clock) each time the stream wraps, so ns/op is per event.
func benchAdd(b *testing.B, opts pool.Options) {
	evs := benchOnce()
	b.ReportAllocs()
	tr := pool.NewTracker(opts)
	b.ResetTimer()
	for i, j := 0, 0; i < b.N; i, j = i+1, j+1 {
		if j == len(evs) {
			b.StopTimer()
			tr.Finish()
			tr, j = pool.NewTracker(opts), 0
			b.StartTimer()
		}
		tr.Add(&evs[j])
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkTrackerAdd(b *testing.B) { benchAdd(b, pool.Options{}) }

func BenchmarkTrackerAddAllOptions(b *testing.B) {
	evs := benchOnce()
	inc, _ := pool.ParseTagPatterns("A*,B*,C*,D*")
	exc, _ := pool.ParseTagPatterns("*1T")
	benchAdd(b, pool.Options{
		Window:     pool.Between(evs[len(evs)/10].Time, evs[len(evs)*9/10].Time),
		Filter:     pool.Filter{Tags: inc, ExcludeTags: exc, MinSize: 32, PIDs: []uint32{1, 2, 3, 4, 5, 6, 7, 8}},
		KeepClosed: true,
		Series:     pool.SeriesOptions{Width: (evs[len(evs)-1].Time - evs[0].Time) / 1000},
	})
}

// BenchmarkTrackerStream runs the whole stream per op, NewTracker to
// Finish included.
func BenchmarkTrackerStream(b *testing.B) {
	evs := benchOnce()
	b.ReportAllocs()
	var out int
	b.ResetTimer()
	for range b.N {
		tr := pool.NewTracker(pool.Options{})
		for j := range evs {
			tr.Add(&evs[j])
		}
		out = len(tr.Finish().Outstanding)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(out), "outstanding")
}
