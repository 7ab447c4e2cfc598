package pool

import "math/rand/v2"

// table holds the outstanding allocations: an open-addressing hash table
// with linear probing keyed by (address, session). An allocation and a free
// each cost one probe sequence (a Go map would take two lookups, one to
// read the old record and one to write or delete), and a slot is one
// compact 48-byte record with its key, so the common case touches a single
// cache line. Deletion shifts later entries back instead of leaving
// tombstones, so the table never degrades with churn. It allocates only
// when it grows.
type table struct {
	slots []record
	mask  uint64
	shift uint8
	n     int // used slots
	limit int // grow when n reaches it (70% load)
	mul   uint64
}

// record is an outstanding allocation and its key.
type record struct {
	addr  uint64
	time  int64
	size  uint64
	tag   uint32 // clean
	ptype uint32
	pid   uint32
	stack uint32
	sid   uint32 // session id, when flags has flagSession
	flags uint8
}

const (
	flagUsed     uint8 = 1 << iota // the slot holds a record
	flagSession                    // session pool: keyed by (sid, addr)
	flagBefore                     // allocated before the window
	flagSnapshot                   // from a snapshot rundown: time unknown
	flagSeries                     // counted in the series
)

const keyFlags = flagUsed | flagSession

func newTable(hint int) *table {
	t := &table{mul: rand.Uint64() | 1}
	size := 64
	hint = min(hint, 1<<28) // a hint, not a promise: don't trust huge ones
	for size*7/10 < hint {
		size *= 2
	}
	t.resize(size)
	return t
}

func (t *table) resize(size int) {
	old := t.slots
	t.slots = make([]record, size)
	t.mask = uint64(size - 1)
	t.shift = uint8(64 - bitsLen(uint64(size-1)))
	t.limit = size * 7 / 10
	t.n = 0
	for i := range old {
		if old[i].flags&flagUsed != 0 {
			j, _ := t.find(old[i].addr, old[i].flags&flagSession, old[i].sid)
			t.slots[j] = old[i]
			t.n++
		}
	}
}

func bitsLen(x uint64) int {
	n := 0
	for ; x != 0; x >>= 1 {
		n++
	}
	return n
}

// home is the first slot a key probes: multiply-shift hashing of the
// address mixed with the session, with a random odd multiplier per table.
func (t *table) home(addr uint64, session uint8, sid uint32) uint64 {
	if session != 0 {
		addr ^= (uint64(sid) + 1) * 0x9E3779B97F4A7C15
	}
	return (addr * t.mul) >> t.shift
}

// find returns the slot holding the key, or the empty slot where it would
// go. session is 0 or flagSession.
func (t *table) find(addr uint64, session uint8, sid uint32) (i uint64, found bool) {
	want := flagUsed | session
	i = t.home(addr, session, sid)
	for {
		s := &t.slots[i]
		if s.flags&flagUsed == 0 {
			return i, false
		}
		if s.addr == addr && s.flags&keyFlags == want && (session == 0 || s.sid == sid) {
			return i, true
		}
		i = (i + 1) & t.mask
	}
}

// slot finds the key, growing first if an insertion could overflow.
func (t *table) slot(addr uint64, session uint8, sid uint32) (i uint64, found bool) {
	if t.n >= t.limit {
		t.resize(len(t.slots) * 2)
	}
	return t.find(addr, session, sid)
}

// put writes r into slot i (an empty one if !found by slot).
func (t *table) put(i uint64, found bool, r *record) {
	if !found {
		t.n++
	}
	t.slots[i] = *r
	t.slots[i].flags |= flagUsed
}

// remove empties slot i and shifts back the entries after it that would
// otherwise be cut off from their home slot.
func (t *table) remove(i uint64) {
	j := i
	for {
		j = (j + 1) & t.mask
		s := &t.slots[j]
		if s.flags&flagUsed == 0 {
			break
		}
		h := t.home(s.addr, s.flags&flagSession, s.sid)
		// s may move to i unless its home lies cyclically in (i, j].
		if (j-h)&t.mask >= (j-i)&t.mask {
			t.slots[i] = *s
			i = j
		}
	}
	t.slots[i] = record{}
	t.n--
}
