package kernel

import (
	"encoding/binary"

	"github.com/poolprof/poolprof/etl"
)

// frames is a view of pointer-sized return addresses in a payload, so that
// a stack of up to 192 frames is read without copying it. Frame 0 is the
// innermost frame (the instruction pointer); later frames are callers.
type frames struct {
	raw []byte // a whole number of pointers
	ptr int
}

func newFrames(b []byte, ptr int) frames {
	n := len(b) / ptr * ptr
	return frames{raw: b[:n:n], ptr: ptr}
}

// NumFrames is the number of return addresses.
func (f frames) NumFrames() int {
	if f.ptr == 0 {
		return 0
	}
	return len(f.raw) / f.ptr
}

// Frame returns return address i, 0 ≤ i < NumFrames().
func (f frames) Frame(i int) uint64 {
	if f.ptr == 4 {
		return uint64(binary.LittleEndian.Uint32(f.raw[4*i:]))
	}
	return binary.LittleEndian.Uint64(f.raw[8*i:])
}

// AppendFrames appends all return addresses to dst, innermost first.
func (f frames) AppendFrames(dst []uint64) []uint64 {
	for i, n := 0, f.NumFrames(); i < n; i++ {
		dst = append(dst, f.Frame(i))
	}
	return dst
}

// PointerSize is the size of one frame in the payload, 4 or 8.
func (f frames) PointerSize() int { return f.ptr }

// IsKernelAddress reports whether addr lies in kernel space, by the rule
// perfview uses: ≥ 0xFFFF000000000000 for 64-bit pointers, ≥ 0x80000000 for
// 32-bit ones (wrong for /3GB 32-bit systems).
func IsKernelAddress(addr uint64, ptrSize int) bool {
	if ptrSize == 4 {
		return addr >= 0x80000000
	}
	return addr >= 0xFFFF000000000000
}

// Stack is a StackWalk Stack event (opcode 32): the frames of the event
// whose raw header timestamp is EventTimeStamp, on StackThread of
// StackProcess. Kernel frames and user frames of one event may arrive as
// two Stack events with the same EventTimeStamp. Frame(0) is the innermost
// frame; NumFrames is (payload length − 16) / pointer size.
type Stack struct {
	EventTimeStamp int64
	ProcessID      uint32
	ThreadID       uint32
	frames
	Used int // payload bytes the fields above cover
}

// Decode fills s from a StackWalk opcode 32 event. On error s is undefined.
func (s *Stack) Decode(ev *etl.Event) error {
	k, _, err := resolve(ev, KindStack, KindStack)
	if err != nil {
		return err
	}
	ptr := ev.Kind.PointerSize()
	c := newCursor(ev.Payload, ptr)
	*s = Stack{}
	s.EventTimeStamp = int64(c.u64("EventTimeStamp"))
	s.ProcessID = c.u32("StackProcess")
	s.ThreadID = c.u32("StackThread")
	if err := c.err(ev, k); err != nil {
		return err
	}
	s.frames = newFrames(ev.Payload[c.off:], ptr)
	s.Used = c.off + len(s.raw)
	return nil
}

// StackKeyDef is a stack key definition (opcodes 34 create, 35 delete, 36
// rundown): the frames that Key stood for in earlier StackKeyRef events.
// A reference binds to the next definition of its key; keys are reused.
// Frame(0) is the innermost frame; NumFrames is payload length / pointer
// size − 1.
type StackKeyDef struct {
	Op  uint8 // 34, 35 or 36
	Key uint64
	frames
	Used int // payload bytes the fields above cover
}

// Decode fills d from a StackWalk opcode 34, 35 or 36 event. On error d
// is undefined.
func (d *StackKeyDef) Decode(ev *etl.Event) error {
	k, _, err := resolve(ev, KindStackKeyDef, KindStackKeyDef)
	if err != nil {
		return err
	}
	ptr := ev.Kind.PointerSize()
	c := newCursor(ev.Payload, ptr)
	*d = StackKeyDef{Op: ev.Opcode}
	d.Key = c.pointer("StackKey")
	if err := c.err(ev, k); err != nil {
		return err
	}
	d.frames = newFrames(ev.Payload[c.off:], ptr)
	d.Used = c.off + len(d.raw)
	return nil
}

// Kernel reports whether the definition is for a kernel-mode key: its
// last (outermost) frame is a kernel address. The same key value can be
// live in the kernel and the user table at once.
func (d *StackKeyDef) Kernel() bool {
	n := d.NumFrames()
	return n > 0 && IsKernelAddress(d.Frame(n-1), d.ptr)
}

// StackKeyRef is a stack key reference (opcodes 37 kernel, 38 user): the
// stack of the event with EventTimeStamp is the frames of the next
// definition of Key.
type StackKeyRef struct {
	EventTimeStamp int64
	ProcessID      uint32
	ThreadID       uint32
	Key            uint64
	User           bool // opcode 38: the user-mode part
	Used           int  // payload bytes the fields above cover
}

// Decode fills r from a StackWalk opcode 37 or 38 event. On error r is
// undefined.
func (r *StackKeyRef) Decode(ev *etl.Event) error {
	k, _, err := resolve(ev, KindStackKeyRef, KindStackKeyRef)
	if err != nil {
		return err
	}
	c := newCursor(ev.Payload, ev.Kind.PointerSize())
	*r = StackKeyRef{User: ev.Opcode == 38}
	r.EventTimeStamp = int64(c.u64("EventTimeStamp"))
	r.ProcessID = c.u32("StackProcess")
	r.ThreadID = c.u32("StackThread")
	r.Key = c.pointer("StackKey")
	r.Used = c.off
	return c.err(ev, k)
}
