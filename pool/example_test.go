package pool_test

import (
	"fmt"
	"os"

	"github.com/poolprof/poolprof/etl/kernel"
	"github.com/poolprof/poolprof/pool"
)

// The story of design.md in miniature: token objects allocated per
// connection and never freed.
func Example() {
	toke, _ := pool.ParseTag("Toke")
	tr := pool.NewTracker(pool.Options{})
	var e pool.Event // one Event, reused: the tracker copies what it keeps
	for i := range 6 {
		e = pool.Event{Time: int64(i), Op: pool.OpAlloc, PoolType: uint32(kernel.PagedPool),
			Tag: toke, Size: 1664, Addr: 0xffffc000_00000000 + uint64(i)*0x1000, PID: 612, Stack: 1}
		tr.Add(&e)
		if i%3 == 0 { // a third of them are closed again
			e.Op, e.Time = pool.OpFree, e.Time+1
			tr.Add(&e)
		}
	}
	r := tr.Finish()
	for _, row := range r.Rows {
		fmt.Printf("%s %s allocs=%d frees=%d aifo=%d/%dB aifi=%d\n", pool.TagString(row.Tag),
			pool.PagedString(row.Paged), row.Allocs, row.Frees, row.AIFOCount, row.AIFOBytes, row.AIFICount)
	}
	fmt.Println(len(r.Outstanding), "outstanding, first at", r.Outstanding[0].Time)
	_ = pool.WriteText(os.Stdout, r, pool.ReportOptions{})
	// Output:
	// Toke Paged allocs=6 frees=2 aifo=4/6656B aifi=2
	// 4 outstanding, first at 1
	// Tag    Type   Allocs  Frees  Diff  Bytes  Per Alloc  Outstanding  AIFO  AIFO Bytes  AIFI  AIFI Bytes  AOFI  Lost Frees
	// Toke   Paged       6      2     4   6656       1664            4     4        6656     2        3328     0           0
	// Total              6      2     4   6656       1664            4     4        6656     2        3328     0           0
	//
	// frees without allocation: 0; lost frees: 0 (+0 before the window); allocations without stack: 0 of 6
}
