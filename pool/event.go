package pool

import "strconv"

// Op is what a pool event does to the table of outstanding allocations.
type Op uint8

const (
	// OpAlloc opens an allocation (PoolTrace opcodes 32 and 33).
	OpAlloc Op = iota + 1
	// OpFree closes one (opcodes 34 and 35).
	OpFree
	// OpSnapStart is a rundown record written when tracing starts
	// (POOLSNAP DCStart, opcodes 40, 42, 44, 46): a block that was
	// allocated before the trace and is still outstanding. It seeds the
	// table as an allocation made before the window, with no known time.
	OpSnapStart
	// OpSnapEnd is a rundown record written when tracing stops (DCEnd,
	// opcodes 41, 43, 45, 47). A block the table does not hold was
	// allocated before the trace (or its allocation event was lost) and is
	// outstanding at the end: it counts as AOFO if the window is still
	// open. A block the table holds is left alone.
	OpSnapEnd
)

var opNames = [...]string{"", "Alloc", "Free", "SnapStart", "SnapEnd"}

func (op Op) String() string {
	if op >= OpAlloc && op <= OpSnapEnd {
		return opNames[op]
	}
	return "Op(" + strconv.Itoa(int(op)) + ")"
}

// OpcodeOp maps a PoolTrace opcode (the type byte of hooks 0x0E20–0x0E2F)
// to an Op and says whether the opcode is a session-pool one. Pool page
// events (36–39) and anything else give op 0, which a Tracker ignores.
func OpcodeOp(opcode uint8) (op Op, session bool) {
	switch opcode {
	case 32:
		return OpAlloc, false
	case 33:
		return OpAlloc, true
	case 34:
		return OpFree, false
	case 35:
		return OpFree, true
	case 40, 42:
		return OpSnapStart, false
	case 41, 43:
		return OpSnapEnd, false
	case 44, 46:
		return OpSnapStart, true
	case 45, 47:
		return OpSnapEnd, true
	}
	return 0, false
}

// UnknownPID is the PID of an event whose process is not known.
const UnknownPID uint32 = 0xFFFFFFFF

// Event is one decoded pool event. The tracker copies what it needs, so the
// caller may reuse one Event for every call to Add.
type Event struct {
	// Time is the raw trace timestamp. A stream must not go backwards;
	// an event that does is still applied and counted in
	// Health.OutOfOrder.
	Time int64
	Op   Op
	// Session is set for session-pool events: opcodes 33/35 (and the
	// session snapshot opcodes) or PoolType&0x20. The tracker also treats
	// PoolType&0x20 as session pool when this is false. Session pool is
	// keyed by (SessionID, Addr), because session space addresses are
	// per session.
	Session   bool
	SessionID uint32
	// PoolType is the raw PoolType as logged; see PoolType (kernel.PoolType).
	PoolType uint32
	// Tag is the raw tag: first character in the lowest byte, possibly
	// with kernel.ProtectedPool set (see kernel.Tag).
	Tag uint32
	// Size is NumberOfBytes. It is the allocation's size on OpAlloc and on
	// snapshots; on OpFree it is ignored.
	Size uint64
	// Addr is Entry, the block's address.
	Addr uint64
	// PID is the process in whose context the event happened, UnknownPID
	// when not known. An allocation is attributed to the PID of its
	// allocation event.
	PID uint32
	// Stack is an opaque stack reference from the stack joiner, 0 for
	// none. The tracker stores it and hands it back; it never looks
	// inside, so a reference whose stack becomes known later is fine.
	Stack uint32
}
