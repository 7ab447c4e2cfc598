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
type window[T any] struct {
	ring                []slot[T]
	first, deliver, end uint64
	byTS                u64map // uint64(timestamp) → seq+1 of the newest slot with it
	waiting             u64map // thread id → seq+1 of its newest waiting slot
}

// slot is one held event.
type slot[T any] struct {
	ts    int64
	tid   uint32 // the event's thread, or the one its stack named (flagThread)
	pid   uint32 // process of the user part
	proc  uint16
	flags uint8

	kernel, user part

	sameTS   uint64 // the next older slot with the same timestamp
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

// push appends a zeroed slot and returns it with its seq.
func (w *window[T]) push() (*slot[T], uint64) {
	if w.len() == len(w.ring) {
		w.grow()
	}
	seq := w.end
	w.end++
	s := w.at(seq)
	*s = slot[T]{}
	return s, seq
}

func (w *window[T]) grow() {
	n := max(64, 2*len(w.ring))
	ring := make([]slot[T], n)
	for seq := w.first; seq < w.end; seq++ {
		ring[seq&uint64(n-1)] = *w.at(seq)
	}
	w.ring = ring
}

// dropFirst forgets the oldest slot, which must be delivered, and removes
// the index entries that lead to it alone.
func (w *window[T]) dropFirst() {
	seq := w.first
	s := w.at(seq)
	if w.byTS.get(uint64(s.ts)) == seq+1 {
		w.byTS.del(uint64(s.ts)) // the newest with its timestamp: all older are gone
	}
	if s.flags&flagWaiting != 0 && w.waiting.get(uint64(s.tid)) == seq+1 {
		w.waiting.del(uint64(s.tid))
	}
	*s = slot[T]{}
	w.first++
}
