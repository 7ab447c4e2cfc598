package stacks

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"slices"
)

// ID names a frame list interned in a [Table]. ID 0 is the empty list.
type ID uint32

// Table interns frame lists: each distinct list of return addresses is
// stored once, and equal lists get equal IDs. Memory grows with the
// number of distinct lists, never with how often they occur. Looking a
// list up, whether it is new or not, allocates nothing unless the list is
// new; Frames allocates nothing.
//
// A Table is not safe for concurrent use while lists are being interned;
// once interning is done, Frames may be called from several goroutines.
type Table struct {
	frames []uint64 // all lists, back to back
	ends   []int    // ends[id] is the end of list id in frames; ends[0] = 0
	heads  u64map   // hash of a list → newest ID with that hash
	next   []ID     // next[id]: the next older ID with the same hash, 0 at the end
	seed   maphash.Seed
	h      maphash.Hash
	buf    [64]byte
	// recent is a direct-mapped cache, indexed by quickHash, of lists
	// interned lately: a stream repeats the same few stacks, and an entry
	// that holds an equal list spares hashing it with the seed and probing
	// heads. An entry is only a hint, checked against the list itself.
	recent [recentSize]ID
}

// recentSize is the number of entries of the recent caches of Table and
// composites.
const (
	recentBits = 12
	recentSize = 1 << recentBits
)

// NewTable returns an empty table holding only the empty list (ID 0).
func NewTable() *Table {
	t := &Table{ends: []int{0}, next: []ID{0}, seed: maphash.MakeSeed()}
	t.h.SetSeed(t.seed)
	return t
}

// Len returns the number of lists in the table, the empty list included;
// IDs run from 0 to Len()-1.
func (t *Table) Len() int { return len(t.ends) }

// NumFrames returns the number of frames stored for all lists together.
func (t *Table) NumFrames() int { return len(t.frames) }

// Frames returns list id, innermost frame first, or nil for the empty list
// and for an id the table does not hold. The slice belongs to the table:
// its capacity ends with the list, so appending to it copies.
func (t *Table) Frames(id ID) []uint64 {
	if id == 0 || int(id) >= len(t.ends) {
		return nil
	}
	start, end := t.ends[id-1], t.ends[id]
	return t.frames[start:end:end]
}

// Intern returns the ID of the list equal to frames, adding a copy of it if
// the table does not hold it yet. An empty list is ID 0.
func (t *Table) Intern(frames []uint64) ID {
	if len(frames) == 0 {
		return 0
	}
	r := &t.recent[quickHash(frames)]
	if id := *r; id != 0 && slices.Equal(t.Frames(id), frames) {
		return id
	}
	h := t.hash(frames)
	head := ID(t.heads.get(h))
	for id := head; id != 0; id = t.next[id] {
		if slices.Equal(t.Frames(id), frames) {
			*r = id
			return id
		}
	}
	id := ID(len(t.ends))
	t.frames = append(t.frames, frames...)
	t.ends = append(t.ends, len(t.frames))
	t.next = append(t.next, head)
	t.heads.put(h, uint64(id))
	*r = id
	return id
}

// quickHash returns the index in Table.recent of a non-empty list: a
// cheap unseeded hash of all its frames. Lists made to collide only miss
// the cache.
func quickHash(frames []uint64) int {
	var x uint64
	for _, f := range frames {
		x = bits.RotateLeft64(x, 19) ^ f
	}
	h := (x ^ uint64(len(frames))) * 0x9e3779b97f4a7c15
	return int(h >> (64 - recentBits)) // the top bits depend on every bit of x
}

// Lookup returns the ID of the list equal to frames and true, or 0 and
// false when the table does not hold it. It never adds a list.
func (t *Table) Lookup(frames []uint64) (ID, bool) {
	if len(frames) == 0 {
		return 0, true
	}
	for id := ID(t.heads.get(t.hash(frames))); id != 0; id = t.next[id] {
		if slices.Equal(t.Frames(id), frames) {
			return id, true
		}
	}
	return 0, false
}

// hash hashes a list with the table's random seed, eight frames at a time
// through a fixed buffer so that nothing escapes to the heap.
func (t *Table) hash(frames []uint64) uint64 {
	t.h.Reset()
	for len(frames) > 0 {
		n := min(len(frames), len(t.buf)/8)
		for i, f := range frames[:n] {
			binary.LittleEndian.PutUint64(t.buf[8*i:], f)
		}
		t.h.Write(t.buf[:8*n])
		frames = frames[n:]
	}
	return t.h.Sum64()
}
