package tokeleak

import "fmt"

// Pool addresses. Each pool (paged, nonpaged, NX, their big-pool ranges,
// and session pool per session) hands out blocks from a bump pointer and
// reuses freed blocks of the same size most of the time, as a real pool
// does, so addresses recur after frees. Session pool of every session
// starts at the same address, because session space addresses are per
// session: the same address is live in two sessions at once. Blocks freed
// but allocated before the trace (AOFI) come from a region of their own
// and join the free lists afterwards; pinned addresses (the edge cases)
// come from a third region and are never handed out by the allocator.

// Region bases of the pools; each region spans regionSize bytes: the bump
// allocator from the base, pre-trace blocks from base+preOffset, pinned
// addresses from base+pinOffset.
const (
	pagedBase       = 0xffffc08a30000000
	pagedBigBase    = 0xffffc08a48000000
	nonPagedBase    = 0xffff9c0140000000
	nxBase          = 0xffff9c0148000000
	nonPagedBigBase = 0xffff9c0158000000
	sessionBase     = 0xffffd10f80000000
	sessionBigBase  = 0xffffd10f88000000

	regionSize = 0x08000000
	preOffset  = 0x04000000
	pinOffset  = 0x06000000
)

// poolKey identifies an allocation as the analysis must: by address, and
// for session pool by (session, address).
type poolKey struct {
	session   uint32
	sessioned bool
	addr      uint64
}

func keyOf(poolType, session uint32, addr uint64) poolKey {
	if isSession(poolType) {
		return poolKey{session, true, addr}
	}
	return poolKey{addr: addr}
}

// spaceID names one pool's region.
type spaceID struct {
	base    uint64
	session uint32
}

type space struct {
	bump, pre uint64
	free      map[uint64][]uint64 // block size → freed addresses, LIFO
}

type addressSpace struct {
	spaces map[spaceID]*space
	live   map[poolKey]*allocPlan
	// Reuses counts allocations at an address freed earlier in the
	// trace (by an AIFI or AOFI free).
	reuses int
}

func newAddressSpace() *addressSpace {
	return &addressSpace{spaces: map[spaceID]*space{}, live: map[poolKey]*allocPlan{}}
}

// regionOf returns the region base of an allocation of the pool type and
// size.
func regionOf(poolType uint32, size uint64) uint64 {
	big := size > bigSize
	switch {
	case isSession(poolType) && big:
		return sessionBigBase
	case isSession(poolType):
		return sessionBase
	case isPaged(poolType) && big:
		return pagedBigBase
	case isPaged(poolType):
		return pagedBase
	case big:
		return nonPagedBigBase
	case poolType&^0xF0000000&PoolNX != 0:
		return nxBase
	}
	return nonPagedBase
}

func (as *addressSpace) space(poolType, session uint32, size uint64) *space {
	id := spaceID{base: regionOf(poolType, size)}
	if isSession(poolType) {
		id.session = session
	}
	s := as.spaces[id]
	if s == nil {
		s = &space{bump: id.base, pre: id.base + preOffset, free: map[uint64][]uint64{}}
		as.spaces[id] = s
	}
	return s
}

// addrOf returns the address the caller sees for a block at b: past the
// 16-byte pool header, or the block itself for big allocations.
func addrOf(b, size uint64) uint64 {
	if size > bigSize {
		return b
	}
	return b + 16
}

// Pin returns pinned address i of the pool region of the pool type and size.
func pin(poolType uint32, size uint64, i int) uint64 {
	step := uint64(0x1000)
	return addrOf(regionOf(poolType, size)+pinOffset+uint64(i)*step, size)
}

// assign walks the pool events in time order and gives every allocation
// and AOFI free its address, checking that the plan is what it claims:
// an allocation opens a free address unless it is planned to close a
// lost one, and a free closes its own allocation.
func (as *addressSpace) assign(r *rng, ops []*op) error {
	for _, o := range ops {
		if a := o.alloc; a != nil {
			if a.pin != 0 {
				a.addr = a.pin
			} else {
				s := as.space(a.poolType, a.session, a.size)
				bs := blockSize(a.size)
				if l := s.free[bs]; len(l) > 0 && r.percent(60) {
					a.addr = l[len(l)-1]
					s.free[bs] = l[:len(l)-1]
					a.reused = true
					as.reuses++
				} else {
					a.addr = addrOf(s.bump, a.size)
					s.bump += bs
					if s.bump-regionOf(a.poolType, a.size) > preOffset {
						return fmt.Errorf("tokeleak: pool region %#x exhausted", regionOf(a.poolType, a.size))
					}
				}
			}
			k := keyOf(a.poolType, a.session, a.addr)
			if old := as.live[k]; old != nil {
				if !old.lost || old.pin != a.addr {
					return fmt.Errorf("tokeleak: allocation at %#x while %#x is live there unplanned", a.addr, old.addr)
				}
			}
			as.live[k] = a
			continue
		}
		f := o.free
		if f.alloc != nil {
			f.addr = f.alloc.addr
			k := keyOf(f.poolType, f.session, f.addr)
			if as.live[k] != f.alloc {
				return fmt.Errorf("tokeleak: free at %#x does not close its allocation", f.addr)
			}
			delete(as.live, k)
			if f.alloc.pin == 0 {
				s := as.space(f.poolType, f.session, f.alloc.size)
				bs := blockSize(f.alloc.size)
				s.free[bs] = append(s.free[bs], f.addr)
			}
			continue
		}
		// A block from before the trace.
		if f.pin != 0 {
			f.addr = f.pin
		} else {
			size := f.block // a size whose block is f.block
			if size <= bigSize+16 {
				size -= 16
			}
			s := as.space(f.poolType, f.session, size)
			f.addr = addrOf(s.pre, size)
			s.pre += f.block
			s.free[f.block] = append(s.free[f.block], f.addr)
		}
		if as.live[keyOf(f.poolType, f.session, f.addr)] != nil {
			return fmt.Errorf("tokeleak: AOFI free at %#x hits a live allocation", f.addr)
		}
	}
	return nil
}
