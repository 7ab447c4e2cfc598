package kernel

import (
	"strconv"

	"github.com/poolprof/poolprof/etl"
)

// PoolEvent is a PoolTrace event (ETW_POOL_EVENT). Every pool opcode,
// allocation, free, page and snapshot alike, carries the same structure.
//
//	field          64-bit  32-bit
//	PoolType       0       0       u32
//	Tag            4       4       u32
//	NumberOfBytes  8       8       SIZE_T
//	Entry          16      12      pointer
//	SessionId      24      16      u32, only when the payload is that long
type PoolEvent struct {
	Op       PoolOp
	PoolType PoolType
	Tag      Tag
	// NumberOfBytes is the requested size on allocations. Its meaning on
	// frees is unverified (it may be the block size), so size a freed
	// allocation from its allocation event.
	NumberOfBytes uint64
	// Entry is the address of the block: the key that pairs an allocation
	// with its free (with SessionID for session pool).
	Entry uint64
	// SessionID is read whenever the payload has room for it (8+2P+4
	// bytes): only one source documents it, for the session opcodes, so
	// the payload length decides, not the opcode.
	SessionID    uint32
	HasSessionID bool

	Used int // payload bytes the fields above cover
}

// Decode fills p from a PoolTrace event of any opcode (32–47), with either
// pointer size and any header kind. On error p is undefined.
func (p *PoolEvent) Decode(ev *etl.Event) error {
	k, _, err := resolve(ev, KindPoolAlloc, KindPoolSnapshot)
	if err != nil {
		return err
	}
	c := newCursor(ev.Payload, ev.Kind.PointerSize())
	*p = PoolEvent{Op: PoolOp(ev.Opcode)}
	p.PoolType = PoolType(c.u32("PoolType"))
	p.Tag = Tag(c.u32("Tag"))
	p.NumberOfBytes = c.pointer("NumberOfBytes")
	p.Entry = c.pointer("Entry")
	if c.remaining() >= 4 {
		p.SessionID = c.u32("SessionId")
		p.HasSessionID = true
	}
	p.Used = c.off
	return c.err(ev, k)
}

// PoolOp is a PoolTrace opcode (ntwmi.h PERFINFO_LOG_TYPE_*POOL*, the Type
// byte of hooks 0x0E20–0x0E2F).
type PoolOp uint8

const (
	PoolAlloc                 PoolOp = 32 // ALLOCATEPOOL
	PoolAllocSession          PoolOp = 33 // ALLOCATEPOOL_SESSION
	PoolFree                  PoolOp = 34 // FREEPOOL
	PoolFreeSession           PoolOp = 35 // FREEPOOL_SESSION
	PoolAddPage               PoolOp = 36 // ADDPOOLPAGE
	PoolAddPageSession        PoolOp = 37 // ADDPOOLPAGE_SESSION
	PoolBigPage               PoolOp = 38 // BIGPOOLPAGE
	PoolBigPageSession        PoolOp = 39 // BIGPOOLPAGE_SESSION
	PoolSnapDCStart           PoolOp = 40 // POOLSNAP_DC_START
	PoolSnapDCEnd             PoolOp = 41 // POOLSNAP_DC_END
	BigPoolSnapDCStart        PoolOp = 42 // BIGPOOLSNAP_DC_START
	BigPoolSnapDCEnd          PoolOp = 43 // BIGPOOLSNAP_DC_END
	SessionPoolSnapDCStart    PoolOp = 44 // POOLSNAP_SESSION_DC_START
	SessionPoolSnapDCEnd      PoolOp = 45 // POOLSNAP_SESSION_DC_END
	SessionBigPoolSnapDCStart PoolOp = 46 // SESSIONBIGPOOLSNAP_DC_START
	SessionBigPoolSnapDCEnd   PoolOp = 47 // SESSIONBIGPOOLSNAP_DC_END
)

var poolOpNames = [...]string{
	"PoolAlloc", "PoolAllocSession", "PoolFree", "PoolFreeSession",
	"PoolAddPage", "PoolAddPageSession", "PoolBigPage", "PoolBigPageSession",
	"PoolSnapDCStart", "PoolSnapDCEnd", "BigPoolSnapDCStart", "BigPoolSnapDCEnd",
	"SessionPoolSnapDCStart", "SessionPoolSnapDCEnd", "SessionBigPoolSnapDCStart", "SessionBigPoolSnapDCEnd",
}

func (op PoolOp) String() string {
	if op.Valid() {
		return poolOpNames[op-PoolAlloc]
	}
	return "PoolOp(" + strconv.Itoa(int(op)) + ")"
}

// Valid reports whether op is a PoolTrace opcode (32–47).
func (op PoolOp) Valid() bool { return op >= PoolAlloc && op <= SessionBigPoolSnapDCEnd }

// IsAlloc reports an allocation (32, 33).
func (op PoolOp) IsAlloc() bool { return op == PoolAlloc || op == PoolAllocSession }

// IsFree reports a free (34, 35).
func (op PoolOp) IsFree() bool { return op == PoolFree || op == PoolFreeSession }

// IsPage reports a pool page event (36–39), which is neither an
// allocation nor a free of a tagged block.
func (op PoolOp) IsPage() bool { return op >= PoolAddPage && op <= PoolBigPageSession }

// IsSnapshot reports a rundown event (40–47) listing an allocation that
// was outstanding when the session started (DCStart) or stopped (DCEnd).
func (op PoolOp) IsSnapshot() bool { return op >= PoolSnapDCStart && op <= SessionBigPoolSnapDCEnd }

// IsSnapshotStart reports a DCStart rundown (40, 42, 44, 46); the others of
// 40–47 are DCEnd.
func (op PoolOp) IsSnapshotStart() bool { return op.IsSnapshot() && op%2 == 0 }

// IsSession reports an opcode for session pool, whose addresses are per
// session: key such allocations by (SessionID, Entry).
func (op PoolOp) IsSession() bool {
	switch op {
	case PoolAllocSession, PoolFreeSession, PoolAddPageSession, PoolBigPageSession,
		SessionPoolSnapDCStart, SessionPoolSnapDCEnd, SessionBigPoolSnapDCStart, SessionBigPoolSnapDCEnd:
		return true
	}
	return false
}

// IsBig reports an opcode for big-pool (page-granular) blocks.
func (op PoolOp) IsBig() bool {
	switch op {
	case PoolBigPage, PoolBigPageSession, BigPoolSnapDCStart, BigPoolSnapDCEnd,
		SessionBigPoolSnapDCStart, SessionBigPoolSnapDCEnd:
		return true
	}
	return false
}
