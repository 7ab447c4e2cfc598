package pool

import (
	"cmp"
	"math"
	"slices"
)

// SeriesOptions asks for outstanding bytes per tag over time.
type SeriesOptions struct {
	// Width is the bucket width in raw timestamp units; 0 turns the series
	// off. Buckets start at the window's start (the first event's time for
	// an open start). A span of more than MaxSeriesBuckets buckets is
	// reported in wider buckets (a multiple of Width; see Series.Width).
	// Memory while streaming grows with the buckets in which a tag
	// changed, so a tiny width on a long trace costs memory.
	Width int64
	// Tags, if not empty, are the tags to follow (patterns, as in Filter).
	Tags []TagPattern
	// Top keeps the Top tags with the most bytes outstanding at the end
	// (ties: the higher peak, then the tag). 0 means 10 when Tags is
	// empty and no limit otherwise.
	Top int
}

// MaxSeriesBuckets bounds the length of a Series.
const MaxSeriesBuckets = 1 << 16

// Series is outstanding bytes and allocations per tag at the end of each
// bucket. Outstanding here means allocated (inside the window or before
// it) and not yet freed, the memory held at that instant; allocations made
// before the window count from the first bucket on. The filter's tag, pool,
// size and process conditions apply; its lifetime classes and MinAge do not,
// since they are only known at the end.
type Series struct {
	// Origin is the start of the first bucket; Width is the bucket width
	// (SeriesOptions.Width, or a multiple of it past MaxSeriesBuckets).
	Origin, Width int64
	// Times holds the end of each bucket: Origin + (i+1)*Width, the last
	// one clamped to the window's end when the trace reached it. The
	// value at Times[i] reflects every event before that time.
	Times []int64
	// Tags are ordered by bytes outstanding at the end, descending.
	Tags []TagSeries
}

// TagSeries is one tag's line, paged and nonpaged pool together.
type TagSeries struct {
	Tag    uint32 // PROTECTED_POOL cleared
	Bytes  []uint64
	Counts []uint64
	Peak   uint64 // the largest value in Bytes
}

// seriesRec records the series while events stream in. A tag's state is
// written out only at the end of a bucket in which it changed, so memory
// grows with (bucket, tag) pairs that saw activity, not with events.
type seriesRec struct {
	opts    SeriesOptions
	origin  int64
	started bool
	bucket  int64 // index of the current bucket
	next    int64 // end of the current bucket
	idx     map[uint32]int32
	tags    []seriesTag
	dirty   []int32
}

type seriesTag struct {
	tag          uint32
	ok           bool // passes the filter's tag lists and the selection
	dirty        bool
	bytes, count uint64
	pts          []seriesPoint
}

type seriesPoint struct {
	bucket       int64
	bytes, count uint64
}

func newSeriesRec(o SeriesOptions) *seriesRec {
	return &seriesRec{opts: o, idx: make(map[uint32]int32)}
}

// start fixes the origin of bucket 0.
func (s *seriesRec) start(origin int64) {
	s.origin, s.started = origin, true
	s.bucket, s.next = 0, bucketEnd(origin, 0, s.opts.Width)
}

// bucketEnd returns origin + (i+1)*w, saturating at the largest int64.
func bucketEnd(origin, i, w int64) int64 {
	room := uint64(math.MaxInt64 - origin) // origin <= MaxInt64, so no wrap
	if uint64(i+1) > room/uint64(w) {
		return math.MaxInt64
	}
	return origin + (i+1)*w
}

// advance closes the buckets that end at or before t (t >= origin).
func (s *seriesRec) advance(t int64) {
	if t < s.next {
		return
	}
	s.flush()
	s.bucket = int64(min(uint64(t-s.origin)/uint64(s.opts.Width), math.MaxInt64-1))
	s.next = bucketEnd(s.origin, s.bucket, s.opts.Width)
}

// flush writes the tags that changed as the state at the current bucket's end.
func (s *seriesRec) flush() {
	for _, i := range s.dirty {
		st := &s.tags[i]
		st.dirty = false
		var last seriesPoint // a tag starts at zero
		if n := len(st.pts); n > 0 {
			last = st.pts[n-1]
		}
		if last.bytes == st.bytes && last.count == st.count {
			continue // back where it was
		}
		st.pts = append(st.pts, seriesPoint{s.bucket, st.bytes, st.count})
	}
	s.dirty = s.dirty[:0]
}

// lookup returns the index of a clean tag's state, creating it.
func (s *seriesRec) lookup(tag uint32, f *filter) int32 {
	if i, ok := s.idx[tag]; ok {
		return i
	}
	ok := f.MatchTag(tag) && (len(s.opts.Tags) == 0 || MatchAny(s.opts.Tags, tag))
	i := int32(len(s.tags))
	s.tags = append(s.tags, seriesTag{tag: tag, ok: ok})
	s.idx[tag] = i
	return i
}

// add counts an allocation if the tag is followed; it reports whether it did.
func (s *seriesRec) add(tag uint32, size uint64, f *filter) bool {
	i := s.lookup(tag, f)
	st := &s.tags[i]
	if !st.ok {
		return false
	}
	st.bytes += size
	st.count++
	s.touch(st, i)
	return true
}

// sub takes back what add counted.
func (s *seriesRec) sub(tag uint32, size uint64) {
	i := s.idx[tag]
	st := &s.tags[i]
	st.bytes -= size
	st.count--
	s.touch(st, i)
}

func (s *seriesRec) touch(st *seriesTag, i int32) {
	if !st.dirty {
		st.dirty = true
		s.dirty = append(s.dirty, i)
	}
}

// finish builds the series up to end. clamp says end is the window's
// (exclusive) end; otherwise it is the last event's time, which the last
// bucket must contain.
func (s *seriesRec) finish(end int64, clamp bool) *Series {
	out := &Series{Origin: s.origin, Width: s.opts.Width}
	if !s.started || end < s.origin {
		return out
	}
	s.flush()
	span, w := uint64(end-s.origin), uint64(s.opts.Width)
	n := span/w + 1 // the bucket holding end
	if clamp && span%w == 0 {
		n-- // end is exclusive: the bucket ending there is the last
	}
	n = max(n, uint64(s.bucket)+1)
	// Too many buckets for the span: merge k at a time. The value at the
	// end of a merged bucket is the value at the end of its last original
	// bucket, so change points map over by integer division.
	k := int64(1)
	if n > MaxSeriesBuckets {
		k = int64((n + MaxSeriesBuckets - 1) / MaxSeriesBuckets)
		n = (n + uint64(k) - 1) / uint64(k)
		out.Width = s.opts.Width * k
	}
	out.Times = make([]int64, n)
	for i := range int64(n) {
		out.Times[i] = bucketEnd(s.origin, i, out.Width)
	}
	if clamp && out.Times[n-1] > end {
		out.Times[n-1] = end
	}

	type candidate struct {
		st   *seriesTag
		peak uint64
	}
	var cand []candidate
	for i := range s.tags {
		st := &s.tags[i]
		if !st.ok || len(st.pts) == 0 {
			continue
		}
		c := candidate{st: st}
		for _, pt := range st.pts {
			c.peak = max(c.peak, pt.bytes)
		}
		cand = append(cand, c)
	}
	slices.SortFunc(cand, func(a, b candidate) int {
		if c := cmp.Compare(b.st.bytes, a.st.bytes); c != 0 {
			return c
		}
		if c := cmp.Compare(b.peak, a.peak); c != 0 {
			return c
		}
		return compareTags(a.st.tag, b.st.tag)
	})
	top := s.opts.Top
	if top == 0 && len(s.opts.Tags) == 0 {
		top = 10
	}
	if top > 0 && len(cand) > top {
		cand = cand[:top]
	}
	for _, c := range cand {
		st := c.st
		ts := TagSeries{Tag: st.tag, Bytes: make([]uint64, n), Counts: make([]uint64, n)}
		var cur seriesPoint
		p := 0
		for i := range int64(n) {
			for p < len(st.pts) && st.pts[p].bucket/k <= i {
				cur = st.pts[p]
				p++
			}
			ts.Bytes[i], ts.Counts[i] = cur.bytes, cur.count
			ts.Peak = max(ts.Peak, cur.bytes)
		}
		out.Tags = append(out.Tags, ts)
	}
	return out
}
