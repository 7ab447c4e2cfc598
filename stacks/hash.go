package stacks

import "math/rand/v2"

// u64map is an open-addressing hash map from uint64 keys to non-zero
// uint64 values, with linear probing and backward-shift deletion, so that
// a table whose size stays bounded (a time window, the live stack keys)
// allocates nothing once it has grown to that size: deletions leave no
// tombstones and the table never rehashes in steady state.
//
// Slots are chosen by multiply-shift hashing with a random odd multiplier,
// so that keys taken from an untrusted file (timestamps, stack keys, frame
// hashes) cannot be chosen to collide.
type u64map struct {
	keys  []uint64
	vals  []uint64 // 0 marks an empty slot
	n     int
	shift uint // 64 - log2(len(keys))
	mult  uint64
}

const u64mapMinSize = 16

func (m *u64map) slot(k uint64) int { return int((k * m.mult) >> m.shift) }

// get returns the value stored for k, or 0.
func (m *u64map) get(k uint64) uint64 {
	if m.n == 0 {
		return 0
	}
	mask := len(m.keys) - 1
	for i := m.slot(k); ; i = (i + 1) & mask {
		if m.vals[i] == 0 {
			return 0
		}
		if m.keys[i] == k {
			return m.vals[i]
		}
	}
}

// put stores v (non-zero) for k, replacing any value k had.
func (m *u64map) put(k, v uint64) {
	if 2*(m.n+1) > len(m.keys) {
		m.grow()
	}
	mask := len(m.keys) - 1
	i := m.slot(k)
	for m.vals[i] != 0 {
		if m.keys[i] == k {
			m.vals[i] = v
			return
		}
		i = (i + 1) & mask
	}
	m.keys[i], m.vals[i] = k, v
	m.n++
}

// del removes k, if present.
func (m *u64map) del(k uint64) {
	if m.n == 0 {
		return
	}
	mask := len(m.keys) - 1
	i := m.slot(k)
	for {
		if m.vals[i] == 0 {
			return
		}
		if m.keys[i] == k {
			break
		}
		i = (i + 1) & mask
	}
	// Shift later members of the probe run back into the hole, so that
	// every key stays reachable from its home slot without tombstones.
	for j := (i + 1) & mask; m.vals[j] != 0; j = (j + 1) & mask {
		home := m.slot(m.keys[j])
		// Move j to i unless its home lies cyclically in (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			m.keys[i], m.vals[i] = m.keys[j], m.vals[j]
			i = j
		}
	}
	m.vals[i] = 0
	m.n--
}

func (m *u64map) len() int { return m.n }

func (m *u64map) grow() {
	size := max(u64mapMinSize, 2*len(m.keys))
	oldK, oldV := m.keys, m.vals
	m.keys, m.vals = make([]uint64, size), make([]uint64, size)
	m.shift = 64
	for s := size; s > 1; s >>= 1 {
		m.shift--
	}
	if m.mult == 0 {
		m.mult = rand.Uint64() | 1
	}
	m.n = 0
	for i, v := range oldV {
		if v != 0 {
			m.put(oldK[i], v)
		}
	}
}
