package stacks

// window holds the events a Joiner holds, in hold order, in a ring that
// grows to the largest number of events the time window has held at once
// and is reused from then on.
//
// Every slot gets a sequence number (seq), counted from 0 and never
// reused. Slots [first, deliver) were delivered but are remembered for
// one more window, so that a part arriving after its event was delivered
// is counted as late rather than as unmatched; slots [deliver, end) are
// held. Links between slots are seq+1, 0 meaning none, and a link below
// first points to a slot that is gone.
//
// A time-ordered stream holds its events in time order, so the slots of
// the window are sorted by timestamp: the slots with a given timestamp
// are adjacent, found by scanning back from the newest slot (a part most
// often names the event just held) or by binary search (newest, next).
// Only while the window holds an event older than the one held before it
// (a stream out of order) is the timestamp index kept: byTS, and sameTS
// links between the slots that share a timestamp, beside the ring to keep
// slots small. It is built when that happens and dropped once the
// out-of-order slot is gone, so ordered streams never pay for it.
type window[T any] struct {
	ring                []slot[T]
	first, deliver, end uint64
	byTS                u64map   // indexed: uint64(timestamp) → seq+1 of the newest slot with it
	sameTS              []uint64 // indexed: parallel to ring, the next older slot with the same timestamp
	waiting             u64map   // thread id → seq+1 of its newest waiting slot
	// indexed is set while the slots are not sorted by timestamp: byTS
	// and sameTS hold the slots with each timestamp. inversion is then
	// the seq of the newest slot older than the slot before it; the
	// slots are sorted again once it is the first.
	indexed   bool
	inversion uint64
}

// slot is one held event.
type slot[T any] struct {
	ts    int64
	tid   uint32 // the event's thread, or the one its stack named (flagThread)
	pid   uint32 // process of the user part
	proc  uint16
	flags uint8

	kernel, user part

	waitNext uint64 // the next older slot waiting on the same thread

	v T
}

const (
	flagThread     uint8 = 1 << iota // tid is known
	flagDelivered                    // handed to the callback
	flagSharedUser                   // the user part came from another event of the thread
	flagWaiting                      // linked into its thread's waiting list
	flagClassic                      // a classic (FULL_HEADER, INSTANCE) record
)

func (w *window[T]) len() int { return int(w.end - w.first) }

// at returns the slot of seq, which must lie in [first, end).
func (w *window[T]) at(seq uint64) *slot[T] {
	return &w.ring[seq&uint64(len(w.ring)-1)]
}

// live reports whether link (seq+1) names a slot still in the window.
func (w *window[T]) live(link uint64) bool { return link != 0 && link-1 >= w.first }

// push appends a zeroed slot with timestamp ts and returns it with its
// seq.
func (w *window[T]) push(ts int64) (*slot[T], uint64) {
	if w.len() == len(w.ring) {
		w.grow()
	}
	seq := w.end
	if !w.indexed && seq > w.first && w.at(seq-1).ts > ts {
		w.index()
	}
	w.end++
	s := w.at(seq)
	*s = slot[T]{ts: ts}
	if w.indexed {
		if seq > w.first && w.at(seq-1).ts > ts {
			w.inversion = seq
		}
		w.sameTS[seq&uint64(len(w.ring)-1)] = w.byTS.get(uint64(ts))
		w.byTS.put(uint64(ts), seq+1)
	}
	return s, seq
}

// index builds byTS and the sameTS links for the slots in the window,
// which a slot out of order is about to join.
func (w *window[T]) index() {
	w.indexed = true
	if len(w.sameTS) != len(w.ring) {
		w.sameTS = make([]uint64, len(w.ring))
	}
	mask := uint64(len(w.ring) - 1)
	for seq := w.first; seq < w.end; seq++ {
		ts := uint64(w.at(seq).ts)
		w.sameTS[seq&mask] = w.byTS.get(ts)
		w.byTS.put(ts, seq+1)
	}
}

// unindex drops byTS once the slots are sorted again.
func (w *window[T]) unindex() {
	for seq := w.first; seq < w.end; seq++ {
		w.byTS.del(uint64(w.at(seq).ts))
	}
	w.indexed = false
}

// newest returns the link (seq+1) of the newest slot with timestamp ts,
// 0 if none; older ones follow with next.
func (w *window[T]) newest(ts int64) uint64 {
	if w.indexed {
		return w.byTS.get(uint64(ts))
	}
	// Sorted: the slot is most often the newest or close to it.
	lo, hi := w.first, w.end // the newest slot with ts lies in [lo, hi)
	for n := 0; hi > lo && n < 4; n++ {
		t := w.at(hi - 1).ts
		switch {
		case t == ts:
			return hi
		case t < ts:
			return 0
		}
		hi--
	}
	// Binary search for the first slot after ts.
	for lo < hi {
		mid := lo + (hi-lo)/2
		if w.at(mid).ts <= ts {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo > w.first && w.at(lo-1).ts == ts {
		return lo
	}
	return 0
}

// next returns the link of the next older slot with the timestamp of s,
// whose seq is seq, 0 if none.
func (w *window[T]) next(s *slot[T], seq uint64) uint64 {
	if w.indexed {
		return w.sameTS[seq&uint64(len(w.ring)-1)]
	}
	if seq > w.first && w.at(seq-1).ts == s.ts {
		return seq
	}
	return 0
}

func (w *window[T]) grow() {
	n := max(64, 2*len(w.ring))
	ring := make([]slot[T], n)
	var same []uint64
	if w.indexed {
		same = make([]uint64, n)
	}
	for seq := w.first; seq < w.end; seq++ {
		ring[seq&uint64(n-1)] = *w.at(seq)
		if w.indexed {
			same[seq&uint64(n-1)] = w.sameTS[seq&uint64(len(w.ring)-1)]
		}
	}
	w.ring, w.sameTS = ring, same
}

// dropFirst forgets the oldest slot, which must be delivered, and removes
// the index entries that lead to it alone.
func (w *window[T]) dropFirst() {
	seq := w.first
	s := w.at(seq)
	if w.indexed && w.byTS.get(uint64(s.ts)) == seq+1 {
		w.byTS.del(uint64(s.ts)) // the newest with its timestamp: all older are gone
	}
	if s.flags&flagWaiting != 0 && w.waiting.get(uint64(s.tid)) == seq+1 {
		w.waiting.del(uint64(s.tid))
	}
	w.first++
	if w.indexed && w.first >= w.inversion {
		w.unindex()
	}
}
