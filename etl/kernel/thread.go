package kernel

import "github.com/poolprof/poolprof/etl"

// Thread is a Thread Start (1), End (2), DCStart (3) or DCEnd (4) event,
// versions 2 to 4.
//
//	field                          64-bit  32-bit  versions
//	ProcessId                      0       0       u32
//	TThreadId                      4       4       u32
//	StackBase                      8       8       pointer
//	StackLimit                     16      12      pointer
//	UserStackBase                  24      16      pointer
//	UserStackLimit                 32      20      pointer
//	StartAddr (v2) / Affinity (v3+) 40     24      pointer
//	Win32StartAddr                 48      28      pointer
//	TebBase                        56      32      pointer
//	SubProcessTag                  64      36      u32
//	BasePriority, PagePriority,
//	IoPriority, ThreadFlags        68      40      u8 each, ≥ 3
//	ThreadName                     72      44      wstr, v4 (and Windows 10 v3)
//
// For Start events the header's thread and process are the creator's; the
// new thread is the one in the payload.
type Thread struct {
	Op             uint8 // 1, 2, 3 or 4
	ProcessID      uint32
	ThreadID       uint32
	StackBase      uint64
	StackLimit     uint64
	UserStackBase  uint64
	UserStackLimit uint64
	StartAddr      uint64 // v2 only
	Affinity       uint64 // v3+
	Win32StartAddr uint64
	TebBase        uint64
	SubProcessTag  uint32
	BasePriority   uint8 // v3+
	PagePriority   uint8 // v3+
	IoPriority     uint8 // v3+
	ThreadFlags    uint8 // v3+
	// ThreadName is empty when not set or not logged (Windows 8 v3
	// records end before it).
	ThreadName Str

	Used int // payload bytes the fields above cover
}

// Decode fills t from a Thread event of version 2 or later. On error t is
// undefined.
func (t *Thread) Decode(ev *etl.Event) error {
	k, l, err := resolve(ev, KindThreadStart, KindThreadDCEnd)
	if err != nil {
		return err
	}
	c := newCursor(ev.Payload, ev.Kind.PointerSize())
	*t = Thread{Op: ev.Opcode}
	t.ProcessID = c.u32("ProcessId")
	t.ThreadID = c.u32("TThreadId")
	t.StackBase = c.pointer("StackBase")
	t.StackLimit = c.pointer("StackLimit")
	t.UserStackBase = c.pointer("UserStackBase")
	t.UserStackLimit = c.pointer("UserStackLimit")
	if l >= layoutThreadV3 {
		t.Affinity = c.pointer("Affinity")
	} else {
		t.StartAddr = c.pointer("StartAddr")
	}
	t.Win32StartAddr = c.pointer("Win32StartAddr")
	t.TebBase = c.pointer("TebBase")
	t.SubProcessTag = c.u32("SubProcessTag")
	if l >= layoutThreadV3 {
		t.BasePriority = c.u8("BasePriority")
		t.PagePriority = c.u8("PagePriority")
		t.IoPriority = c.u8("IoPriority")
		t.ThreadFlags = c.u8("ThreadFlags")
		t.ThreadName = c.wstr()
	}
	t.Used = c.off
	return c.err(ev, k)
}
