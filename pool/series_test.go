package pool_test

import (
	"math"
	"testing"

	"github.com/poolprof/poolprof/pool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seriesStream, with buckets of 10 from t=0:
//
//	bucket    [0,10)  [10,20)  [20,30)  [30,40)
//	Toke      150     50       50       0
//	Irp       0       30       30       30
func seriesStream() []ev {
	return []ev{
		a(0, "Toke", paged, 100, 0xA),
		a(5, "Toke", paged, 50, 0xB),
		f(12, "Toke", paged, 0xA),
		a(15, "Irp ", nonpaged, 30, 0xC),
		a(16, "Irp ", nonpaged, 70, 0xD),
		f(17, "Irp ", nonpaged, 0xD), // back where it was: no change recorded
		f(35, "Toke", paged, 0xB),
	}
}

func TestSeriesBuckets(t *testing.T) {
	r := track(t, pool.Options{Series: pool.SeriesOptions{Width: 10}}, seriesStream()...)
	s := r.Series
	require.NotNil(t, s)
	assert.Equal(t, int64(0), s.Origin)
	assert.Equal(t, int64(10), s.Width)
	assert.Equal(t, []int64{10, 20, 30, 40}, s.Times)
	require.Len(t, s.Tags, 2)
	assert.Equal(t, "Irp ", pool.TagString(s.Tags[0].Tag), "30 bytes at the end beats 0")
	assert.Equal(t, []uint64{0, 30, 30, 30}, s.Tags[0].Bytes)
	assert.Equal(t, []uint64{0, 1, 1, 1}, s.Tags[0].Counts)
	assert.Equal(t, uint64(30), s.Tags[0].Peak)
	assert.Equal(t, "Toke", pool.TagString(s.Tags[1].Tag))
	assert.Equal(t, []uint64{150, 50, 50, 0}, s.Tags[1].Bytes)
	assert.Equal(t, []uint64{2, 1, 1, 0}, s.Tags[1].Counts)
	assert.Equal(t, uint64(150), s.Tags[1].Peak)
}

func TestSeriesWindow(t *testing.T) {
	// Window [10, 25), reached by an event at 30: buckets end 20 and 25.
	// Toke's 150 bytes allocated before the window count from the first
	// bucket on; the free at 12 is inside.
	evs := append(seriesStream()[:5], a(30, "Late", paged, 1, 0xE))
	r := track(t, pool.Options{Window: pool.Between(10, 25), Series: pool.SeriesOptions{Width: 10}}, evs...)
	s := r.Series
	assert.Equal(t, int64(10), s.Origin)
	assert.Equal(t, []int64{20, 25}, s.Times)
	require.Len(t, s.Tags, 2)
	assert.Equal(t, "Irp ", pool.TagString(s.Tags[0].Tag))
	assert.Equal(t, []uint64{100, 100}, s.Tags[0].Bytes) // 0xD is never freed here
	assert.Equal(t, []uint64{50, 50}, s.Tags[1].Bytes)
	// The last point equals the outstanding bytes of the rows.
	assert.Equal(t, row(t, r, "Irp ", false).Bytes, s.Tags[0].Bytes[1])
	assert.Equal(t, row(t, r, "Toke", true).Bytes, s.Tags[1].Bytes[1])
}

func TestSeriesSelection(t *testing.T) {
	r := track(t, pool.Options{Series: pool.SeriesOptions{Width: 10, Top: 1}}, seriesStream()...)
	require.Len(t, r.Series.Tags, 1)
	assert.Equal(t, "Irp ", pool.TagString(r.Series.Tags[0].Tag))

	sel, err := pool.ParseTagPatterns("To*")
	require.NoError(t, err)
	r = track(t, pool.Options{Series: pool.SeriesOptions{Width: 10, Tags: sel}}, seriesStream()...)
	require.Len(t, r.Series.Tags, 1)
	assert.Equal(t, "Toke", pool.TagString(r.Series.Tags[0].Tag))

	// The filter's tag and size conditions apply too.
	r = track(t, pool.Options{
		Filter: pool.Filter{MinSize: 60},
		Series: pool.SeriesOptions{Width: 10},
	}, seriesStream()...)
	// Irp's 70-byte block came and went inside one bucket, so Irp never
	// had bytes at a bucket end and is left out.
	require.Len(t, r.Series.Tags, 1)
	assert.Equal(t, "Toke", pool.TagString(r.Series.Tags[0].Tag))
	assert.Equal(t, []uint64{100, 0, 0, 0}, r.Series.Tags[0].Bytes)
}

func TestSeriesGap(t *testing.T) {
	// Buckets with no events carry the value forward.
	r := track(t, pool.Options{Series: pool.SeriesOptions{Width: 10}},
		a(0, "Toke", paged, 8, 0x1), a(55, "Toke", paged, 8, 0x2), f(61, "Toke", paged, 0x1))
	require.Len(t, r.Series.Tags, 1)
	assert.Equal(t, []int64{10, 20, 30, 40, 50, 60, 70}, r.Series.Times)
	assert.Equal(t, []uint64{8, 8, 8, 8, 8, 16, 8}, r.Series.Tags[0].Bytes)
}

func TestSeriesTooManyBuckets(t *testing.T) {
	// 1 tick buckets over 200000 ticks: merged 4 at a time to stay under
	// MaxSeriesBuckets; values at merged ends are those of the original
	// buckets ending there.
	r := track(t, pool.Options{Series: pool.SeriesOptions{Width: 1}},
		a(0, "Toke", paged, 8, 0x1), a(2, "Toke", paged, 8, 0x2), a(5, "Toke", paged, 8, 0x3), a(199_999, "Toke", paged, 8, 0x4))
	s := r.Series
	assert.Equal(t, int64(4), s.Width)
	require.Len(t, s.Times, 50_000)
	assert.Equal(t, []int64{4, 8, 12}, s.Times[:3])
	assert.Equal(t, []uint64{16, 24, 24}, s.Tags[0].Bytes[:3])
	assert.Equal(t, uint64(32), s.Tags[0].Bytes[49_999])
	assert.Equal(t, int64(200_000), s.Times[49_999])

	// A huge width saturates instead of wrapping.
	r = track(t, pool.Options{Series: pool.SeriesOptions{Width: 1 << 62}, Window: pool.From(0)},
		a(0, "Toke", paged, 8, 0x1), a(1<<62+5, "Toke", paged, 8, 0x2), a(math.MaxInt64-1, "Toke", paged, 8, 0x3))
	assert.Equal(t, []int64{1 << 62, math.MaxInt64}, r.Series.Times)
	assert.Equal(t, []uint64{8, 24}, r.Series.Tags[0].Bytes)
}
