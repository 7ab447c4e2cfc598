package pool

import (
	"math/rand/v2"
	"testing"
)

// TestTableAgainstMap drives the hash table and a Go map with the same
// random inserts, overwrites and deletes (dense and strided addresses,
// sessions, growth from the smallest size) and compares them after every
// step that changes something, and in full at the end.
func TestTableAgainstMap(t *testing.T) {
	type mk struct {
		addr uint64
		sess uint8
		sid  uint32
	}
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		tb := newTable(0)
		if seed%2 == 0 {
			tb.mul = 1 // worst case: identity-like hash, long clusters
		}
		ref := map[mk]uint64{}
		span := 50 + rng.IntN(5000)
		for step := range 20000 {
			k := mk{addr: 0xffff8000_00000000 + uint64(rng.IntN(span))*0x10}
			if rng.IntN(5) == 0 {
				k.sess, k.sid = flagSession, uint32(rng.IntN(3))
			}
			if rng.IntN(2) == 0 {
				i, found := tb.slot(k.addr, k.sess, k.sid)
				_, want := ref[k]
				if found != want {
					t.Fatalf("seed %d step %d: slot found=%v, map has=%v", seed, step, found, want)
				}
				r := record{addr: k.addr, sid: k.sid, flags: k.sess, size: uint64(step)}
				tb.put(i, found, &r)
				ref[k] = uint64(step)
			} else {
				i, found := tb.find(k.addr, k.sess, k.sid)
				v, want := ref[k]
				if found != want {
					t.Fatalf("seed %d step %d: find found=%v, map has=%v", seed, step, found, want)
				}
				if found {
					if tb.slots[i].size != v {
						t.Fatalf("seed %d step %d: value %d, want %d", seed, step, tb.slots[i].size, v)
					}
					tb.remove(i)
					delete(ref, k)
				}
			}
			if tb.n != len(ref) {
				t.Fatalf("seed %d step %d: %d entries, want %d", seed, step, tb.n, len(ref))
			}
		}
		for k, v := range ref {
			i, found := tb.find(k.addr, k.sess, k.sid)
			if !found || tb.slots[i].size != v {
				t.Fatalf("seed %d: %+v lost", seed, k)
			}
		}
		used := 0
		for i := range tb.slots {
			if tb.slots[i].flags&flagUsed != 0 {
				used++
			}
		}
		if used != len(ref) {
			t.Fatalf("seed %d: %d used slots, want %d", seed, used, len(ref))
		}
	}
}

func TestTableSizeHint(t *testing.T) {
	tb := newTable(100_000)
	if tb.limit < 100_000 {
		t.Fatalf("limit %d below the hint", tb.limit)
	}
	if len(tb.slots)&(len(tb.slots)-1) != 0 {
		t.Fatalf("size %d is not a power of two", len(tb.slots))
	}
}
