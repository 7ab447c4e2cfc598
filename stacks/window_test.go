package stacks

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Events held out of time order still get their own parts: the window
// indexes its timestamps while it holds an event older than the one held
// before it, and searches its sorted ring again once that event is gone.
func TestJoinHeldOutOfOrder(t *testing.T) {
	tr := newTrace(t, 1)
	at := func(d int64) int64 { return tr.ts(1*ms) + d }
	// File timestamps are in order; the held events' are rewritten below.
	tr.alloc(0, at(1), 500, 100, 1) // held at 50
	tr.alloc(0, at(2), 500, 101, 2) // held at 20: back in time
	tr.alloc(0, at(3), 500, 102, 3) // held at 50 again, another thread
	tr.stack(0, at(4), at(50), 500, 100, k1)
	tr.stack(0, at(5), at(20), 500, 101, k2)
	tr.stack(0, at(6), at(50), 500, 102, k3)
	tr.stack(0, at(7), at(20), 500, 101, k4) // a duplicate
	tr.alloc(0, at(8), 500, 100, 4)          // held at 60
	tr.noise(0, at(200))                     // delivers all, remembers them
	tr.noise(0, at(400))                     // forgets them
	tr.alloc(0, at(401), 500, 100, 5)
	tr.alloc(0, at(401), 500, 101, 6)
	tr.alloc(0, at(402), 500, 100, 7)
	tr.stack(0, at(403), at(401), 500, 101, k2)
	tr.stack(0, at(404), at(401), 500, 100, k1)
	tr.stack(0, at(405), at(402), 500, 100, k3)
	tr.stack(0, at(406), at(350), 500, 100, k4) // nothing held at 350
	events := tr.events()
	held := map[int]int64{0: at(50), 1: at(20), 2: at(50), 7: at(60)}

	type out struct {
		size uint64
		ref  Ref
	}
	var delivered []out
	j := NewJoiner(Options{Window: 100}, func(size uint64, ref Ref) { delivered = append(delivered, out{size, ref}) })
	var size uint64
	for i, ev := range events {
		if ts, ok := held[i]; ok {
			ev.Timestamp = ts
		}
		if ev.HookID == hookPoolAlloc {
			size++
			j.Hold(ev, size)
		} else {
			j.Observe(ev)
		}
		switch i {
		case 0:
			assert.False(t, j.w.indexed, "in order so far")
		case 1:
			assert.True(t, j.w.indexed, "out of order")
		case 10:
			assert.False(t, j.w.indexed, "sorted again")
			assert.Zero(t, j.w.byTS.len())
		}
	}
	j.Finish()

	require.Len(t, delivered, 7)
	want := [][]uint64{{k1}, {k2}, {k3}, nil, {k1}, {k2}, {k3}}
	for i, d := range delivered {
		assert.Equal(t, uint64(i+1), d.size)
		assert.Equal(t, want[i], j.Resolve(d.ref), "event %d", i+1)
	}
	s := j.Stats()
	assert.Equal(t, int64(6), s.JoinedInline)
	assert.Equal(t, int64(1), s.Duplicates)
	assert.Equal(t, int64(1), s.Unmatched)
	assert.Zero(t, s.Ambiguous)
}

// The sorted window finds the slot a part names by scanning back from the
// newest slot or by binary search, whichever reaches it; same-timestamp
// slots are all candidates, the earliest of the best group taking the part.
func TestWindowSortedSearch(t *testing.T) {
	var w window[int]
	tss := []int64{1, 3, 3, 3, 5, 8, 8, 9, 12, 12, 12, 12, 12, 13, 20}
	for i, ts := range tss {
		s, _ := w.push(ts)
		s.v = i
	}
	require.False(t, w.indexed)
	for ts := int64(0); ts <= 21; ts++ {
		var want, got []int
		for i := len(tss) - 1; i >= 0; i-- {
			if tss[i] == ts {
				want = append(want, i)
			}
		}
		for link := w.newest(ts); w.live(link); {
			seq := link - 1
			s := w.at(seq)
			got = append(got, s.v)
			link = w.next(s, seq)
		}
		assert.Equal(t, want, got, "timestamp %d", ts)
	}
	// The same walk over an indexed window.
	w.push(2)
	require.True(t, w.indexed)
	for ts := int64(0); ts <= 21; ts++ {
		n := 0
		for link := w.newest(ts); w.live(link); link = w.next(w.at(link-1), link-1) {
			n++
		}
		want := 0
		for _, t := range append(tss, 2) {
			if t == ts {
				want++
			}
		}
		assert.Equal(t, want, n, "indexed timestamp %d", ts)
	}
}
