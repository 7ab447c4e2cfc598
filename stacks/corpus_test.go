package stacks

import (
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/etl/kernel"
	"github.com/poolprof/poolprof/internal/corpus"
)

// The real corpus lives beside the checkout (shared/testdata/etl, see its
// README). net.4.5.2.x64.etl is a PerfView merged kernel+CLR trace of
// Windows 8 with stack caching: 252 Stack events, 9,107 key references,
// 2,921 key definitions, 655 EVENT_HEADER STACK_TRACE64 items, and the
// KernelTraceControl ImageID/DbgID events of every image.
func corpusFile(t testing.TB) string {
	t.Helper()
	return corpus.Path(t, "perfview/net.4.5.2.x64.etl__net.4.5.2.x64.etl")
}

// eachEvent calls fn for every event of the file in time order.
func eachEvent(t testing.TB, path string, fn func(ev *etl.Event)) *etl.File {
	t.Helper()
	f, err := etl.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	r := f.NewReader(etl.OrderTime)
	var ev etl.Event
	for {
		err := r.Next(&ev)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		fn(&ev)
	}
	return f
}

// partID names a stack part by its event: the EventTimeStamp and thread
// of the held event, and whether it is the user part.
type partID struct {
	ts   int64
	tid  uint32
	user bool
}

// expectation is what an independent, whole-file pass over the StackWalk
// events says each event's parts are.
type expectation struct {
	frames map[partID][]uint64

	stacks, refs, defs int
	refsDefinedLater   int
	keysRedefined      int // key values defined more than once
	keysInBothTables   int
	maxLag             int64 // longest time from an event to a part of its stack
}

// expect resolves every key reference with the next definition of its
// value in its table, keeping the whole file in memory: the slow, obvious
// way, to check the Joiner against.
func expect(t *testing.T, path string) *expectation {
	type tableKey struct {
		user bool
		key  uint64
	}
	x := &expectation{frames: make(map[partID][]uint64)}
	waiting := make(map[tableKey][]partID)
	defs := make(map[uint64]int)
	tables := make(map[uint64]uint8)
	var st kernel.Stack
	var kr kernel.StackKeyRef
	var kd kernel.StackKeyDef
	eachEvent(t, path, func(ev *etl.Event) {
		switch kernel.Lookup(ev) {
		case kernel.KindStack:
			require.NoError(t, st.Decode(ev))
			x.stacks++
			x.maxLag = max(x.maxLag, ev.Timestamp-st.EventTimeStamp)
			frames := st.AppendFrames(nil)
			split := kernelPrefix(frames, st.PointerSize())
			if split > 0 {
				x.frames[partID{st.EventTimeStamp, st.ThreadID, false}] = frames[:split]
			}
			if split < len(frames) {
				x.frames[partID{st.EventTimeStamp, st.ThreadID, true}] = frames[split:]
			}
		case kernel.KindStackKeyRef:
			require.NoError(t, kr.Decode(ev))
			x.refs++
			x.maxLag = max(x.maxLag, ev.Timestamp-kr.EventTimeStamp)
			k := tableKey{kr.User, kr.Key}
			waiting[k] = append(waiting[k], partID{kr.EventTimeStamp, kr.ThreadID, kr.User})
		case kernel.KindStackKeyDef:
			require.NoError(t, kd.Decode(ev))
			x.defs++
			defs[kd.Key]++
			k := tableKey{!kd.Kernel(), kd.Key}
			if k.user {
				tables[kd.Key] |= 2
			} else {
				tables[kd.Key] |= 1
			}
			for _, p := range waiting[k] {
				x.frames[p] = kd.AppendFrames(nil)
				x.refsDefinedLater++
			}
			delete(waiting, k)
		}
	})
	for _, n := range defs {
		if n > 1 {
			x.keysRedefined++
		}
	}
	for _, m := range tables {
		if m == 3 {
			x.keysInBothTables++
		}
	}
	return x
}

// heldEvent is the value the corpus test holds: who the event was.
type heldEvent struct {
	ts   int64
	tid  uint32
	kind kernel.Kind
	ext  []uint64 // frames of an EVENT_HEADER STACK_TRACE64 item
}

func TestCorpusJoin(t *testing.T) {
	path := corpusFile(t)
	x := expect(t, path)

	// The facts of docs/etl-format.md §4.2, measured independently.
	assert.Equal(t, 252, x.stacks, "Stack events")
	assert.Equal(t, 9107, x.refs, "key references")
	assert.Equal(t, 9359, x.stacks+x.refs, "Stack and StackKey events")
	assert.Equal(t, 2921, x.defs, "key definitions")
	assert.Equal(t, 9107, x.refsDefinedLater, "key references with a later definition")
	assert.Equal(t, 646, x.keysRedefined, "key values defined more than once")
	assert.Equal(t, 273, x.keysInBothTables, "key values defined in both tables")
	assert.Equal(t, int64(4046830), x.maxLag, "longest wait for a part, in 100 ns ticks (0.40 s)")

	type delivered struct {
		v   heldEvent
		ref Ref
	}
	var out []delivered
	var j *Joiner[heldEvent]
	var lastTS int64
	f := eachEvent(t, path, func(ev *etl.Event) {
		if j == nil {
			j = NewJoiner(Options{TicksPerSecond: 10_000_000}, func(v heldEvent, ref Ref) {
				require.GreaterOrEqual(t, v.ts, lastTS, "delivery in hold order")
				lastTS = v.ts
				out = append(out, delivered{v, ref})
			})
		}
		// Hold every event but the StackWalk events themselves, even
		// the classic (FULL_HEADER) events KernelTraceControl injects
		// when the trace is merged, which share timestamp and thread
		// with the Image Load they describe but have no stack.
		if ev.Provider == kernel.StackWalkGUID {
			require.True(t, j.Observe(ev))
			return
		}
		tid := ev.ThreadID
		if !ev.HasThread() {
			tid = noThread
		}
		var ext []uint64
		ev.ExtendedItems(func(it etl.ExtItem) bool {
			if it.Type == etl.ExtStackTrace64 {
				ext = appendFrames(nil, it.Data[8:], 8)
			}
			return true
		})
		j.Hold(ev, heldEvent{ev.Timestamp, tid, kernel.Lookup(ev), ext})
	})
	require.Equal(t, int64(10_000_000), f.Header.TicksPerSecond())
	j.Finish()
	s := j.Stats()
	t.Logf("%+v", s)

	// Every Stack and StackKey event joined the event it names; none was
	// late, duplicate or unmatched, and every key reference resolved.
	assert.Equal(t, int64(252), s.StackEvents)
	assert.Equal(t, int64(9107), s.KeyRefEvents)
	assert.Equal(t, int64(2921), s.KeyDefEvents)
	assert.Equal(t, int64(252), s.JoinedInline)
	assert.Equal(t, int64(9107), s.JoinedByKey)
	assert.Equal(t, int64(655), s.ExtStacks, "EVENT_HEADER STACK_TRACE64 items")
	assert.Zero(t, s.Unmatched)
	assert.Zero(t, s.Duplicates)
	assert.Zero(t, s.LateKernel)
	assert.Zero(t, s.LateUser)
	assert.Zero(t, s.BadEvents)
	assert.Zero(t, s.EmptyStacks)
	assert.Zero(t, s.UnresolvedKeys)
	assert.Zero(t, s.UnresolvedKernelRefs)
	assert.Zero(t, s.UnresolvedUserRefs)
	assert.Zero(t, s.Dropped)
	assert.Equal(t, s.Held, s.Delivered)
	assert.Equal(t, int64(len(out)), s.Delivered)
	assert.Equal(t, int64(167194), s.Held)
	assert.Equal(t, int64(158793), s.NoStack)
	assert.Equal(t, int64(251), s.KernelOnly)
	assert.Equal(t, int64(5570), s.UserOnly)
	assert.Equal(t, int64(333), s.SharedUser)
	assert.Equal(t, 79302, s.MaxHeld)
	assert.Zero(t, s.Ambiguous)
	assert.Equal(t, 2893, s.Refs)
	assert.Equal(t, 2575, s.Stacks)

	// Each part equals what the independent pass says, and the user part
	// is named in the process of its stack event.
	// Events without a thread in their header (PERFINFO) are found by
	// timestamp alone where only one thread has parts for it.
	threadsAt := make(map[int64][]uint32)
	for p := range x.frames {
		if !slices.Contains(threadsAt[p.ts], p.tid) {
			threadsAt[p.ts] = append(threadsAt[p.ts], p.tid)
		}
	}
	var withStack, checkedK, checkedU, checkedExt, shared, unchecked int
	kinds := make(map[kernel.Kind]int)
	for _, d := range out {
		if d.ref == 0 {
			continue
		}
		withStack++
		kinds[d.v.kind]++
		if d.v.ext != nil {
			require.Equal(t, d.v.ext, j.Resolve(d.ref), "EVENT_HEADER stack of the event at %#x", d.v.ts)
			checkedExt++
			continue
		}
		tid := d.v.tid
		if tid == noThread {
			tids := threadsAt[d.v.ts]
			if len(tids) != 1 {
				// Simultaneous events of several processors: the
				// parts must be those of one of their threads.
				k, u := j.Parts(d.ref)
				require.True(t, slices.ContainsFunc(tids, func(tid uint32) bool {
					return slices.Equal(x.frames[partID{d.v.ts, tid, false}], k) && slices.Equal(x.frames[partID{d.v.ts, tid, true}], u)
				}), "parts of the event at %#x", d.v.ts)
				unchecked++
				continue
			}
			tid = tids[0]
		}
		k, u := j.Parts(d.ref)
		if want, ok := x.frames[partID{d.v.ts, tid, false}]; ok {
			require.Equal(t, want, k, "kernel part of the event at %#x", d.v.ts)
			checkedK++
		}
		if want, ok := x.frames[partID{d.v.ts, tid, true}]; ok {
			require.Equal(t, want, u, "user part of the event at %#x", d.v.ts)
			checkedU++
		} else if len(u) > 0 {
			shared++ // the user part of a later event of the thread
		}
		assert.Equal(t, slices.Concat(k, u), j.Resolve(d.ref))
	}
	t.Logf("%d held events with a stack: %d kernel, %d user parts and %d EVENT_HEADER stacks equal the whole-file pass; %d user parts shared; %d events of one of several threads",
		withStack, checkedK, checkedU, checkedExt, shared, unchecked)
	assert.Equal(t, 8401, withStack)
	assert.Equal(t, 655, checkedExt)
	// The stacks of image loads went to the Image events, not to the
	// ImageID events injected next to them (kernel.Lookup knows no other
	// kind that has stacks here: sampled profiles, CLR events).
	assert.Equal(t, map[kernel.Kind]int{kernel.KindImageLoad: 35, kernel.KindThreadStart: 9, kernel.KindUnknown: 8357}, kinds)
	assert.Equal(t, 12, unchecked)
	assert.Equal(t, int(s.SharedUser), shared)
}

// TestCorpusModules checks the module map and the frame names of the real
// trace (docs/etl-format.md TV9: ntdll at 0x77710000, PDB wntdll.pdb).
func TestCorpusModules(t *testing.T) {
	path := corpusFile(t)
	m := NewModules()
	eachEvent(t, path, func(ev *etl.Event) { m.Observe(ev) })
	m.Finish()
	s := m.Stats()
	t.Logf("%+v", s)
	assert.Equal(t, int64(3596), s.ImageEvents, "35 Load, 32 Unload, 1763 DCStart, 1766 DCEnd")
	assert.Equal(t, int64(3590), s.ImageIDs)
	assert.Equal(t, int64(3534), s.DbgIDs)
	assert.Zero(t, s.Unmatched, "every ImageID and DbgID found its Image event")
	assert.Zero(t, s.BadEvents)

	ntdll := m.Lookup(4, 0x77710000+0x1234)
	require.NotNil(t, ntdll)
	assert.Equal(t, "ntdll.dll", ntdll.Name)
	assert.Equal(t, `\Device\HarddiskVolume2\Windows\SysWOW64\ntdll.dll`, ntdll.Path)
	assert.Equal(t, uint64(0x77710000), ntdll.Base)
	assert.Equal(t, uint64(0x157000), ntdll.Size)
	assert.False(t, ntdll.Kernel)
	assert.Equal(t, uint32(0x5010AE7A), ntdll.TimeDateStamp, "from the ImageID event: the Image event has 0 on Windows 8")
	assert.Equal(t, "wntdll.pdb", ntdll.PDB.Name)
	assert.Equal(t, "ec83d8df-5559-46e0-b630-133ebd979266", ntdll.PDB.GUID.String())
	assert.Equal(t, uint32(2), ntdll.PDB.Age)
	assert.Equal(t, "ntdll.dll+0x1234", m.FrameName(0x77711234, 4))

	// The kernel is named by its original file name and is mapped in
	// every process.
	nt := m.Lookup(3988, 0xfffff80021489000+0x5a3b10)
	require.NotNil(t, nt)
	assert.Equal(t, "ntkrnlmp.exe", nt.Name)
	assert.Equal(t, `\SystemRoot\system32\ntoskrnl.exe`, nt.Path)
	assert.True(t, nt.Kernel)
	assert.Equal(t, "ntkrnlmp.exe+0x5a3b10", m.FrameName(0xfffff80021489000+0x5a3b10, 12345))
	assert.Same(t, nt, m.Lookup(0, 0xfffff80021489000))
	assert.Equal(t, "0x10", m.FrameName(0x10, 4))
	assert.Equal(t, "System", m.ProcessName(4))

	var named, total int
	for _, mod := range m.Modules() {
		if mod.PDB.Name != "" {
			named++
		}
		total++
	}
	t.Logf("%d modules, %d with a PDB identity", total, named)
}

// TestCorpusFrameNames names the frames of every joined stack of the real
// trace: kernel frames all fall in a kernel module.
func TestCorpusFrameNames(t *testing.T) {
	path := corpusFile(t)
	m := NewModules()
	var refs []Ref
	j := NewJoiner(Options{}, func(_ struct{}, ref Ref) { refs = append(refs, ref) })
	eachEvent(t, path, func(ev *etl.Event) {
		m.Observe(ev)
		if ev.Provider == kernel.StackWalkGUID || ev.Kind == etl.KindFullHeader64 || ev.Kind == etl.KindFullHeader32 {
			j.Observe(ev)
			return
		}
		j.Hold(ev, struct{}{})
	})
	m.Finish()
	j.Finish()
	var kframes, kunnamed, uframes, uunnamed int
	unnamed := make(map[uint64]int)
	for _, ref := range refs {
		k, u := j.Parts(ref)
		for _, a := range k {
			kframes++
			if m.Lookup(0, a) == nil {
				kunnamed++
				unnamed[a]++
			}
		}
		for _, a := range u {
			uframes++
			if m.Lookup(j.Process(ref), a) == nil {
				uunnamed++
			}
		}
	}
	t.Logf("kernel frames %d (%d outside every module), user frames %d (%d outside every module)", kframes, kunnamed, uframes, uunnamed)
	// The one kernel address outside every module is the hypervisor's
	// hypercall page (Image opcode 34 names it, no Image event maps it),
	// the innermost frame of 50 stacks that call into WinHv.sys.
	assert.Equal(t, map[uint64]int{0xffffffffffd03003: 50}, unnamed, "kernel frames outside every kernel module")
	assert.Equal(t, "0xffffffffffd03003", m.FrameName(0xffffffffffd03003, 0))
	var c Counts
	for _, ref := range refs {
		c.Add(ref, 1, 0)
	}
	samples := c.Samples(j, m)
	require.NotEmpty(t, samples)
	t.Logf("%d distinct named stacks; the most common, %d events: %v", len(samples), samples[0].Count, samples[0].Frames)
}

// With a window narrower than the longest wait (0.40 s), some parts come
// after their event was delivered: they are counted, and every Stack and
// StackKey event is still accounted for exactly once.
func TestCorpusJoinNarrowWindow(t *testing.T) {
	path := corpusFile(t)
	j := NewJoiner(Options{Window: 500_000}, func(struct{}, Ref) {}) // 50 ms
	eachEvent(t, path, func(ev *etl.Event) {
		if ev.Provider == kernel.StackWalkGUID || ev.Kind == etl.KindFullHeader64 || ev.Kind == etl.KindFullHeader32 {
			j.Observe(ev)
			return
		}
		j.Hold(ev, struct{}{})
	})
	j.Finish()
	s := j.Stats()
	t.Logf("%+v", s)
	assert.Equal(t, int64(9359), s.JoinedInline+s.JoinedByKey+s.Unmatched+s.Duplicates+s.LateKernel+s.LateUser+s.EmptyStacks)
	assert.Positive(t, s.LateUser)
	assert.Zero(t, s.LateKernel, "kernel parts come right after their event")
	// Memory follows the window: the 2 s window held 75,689 events at
	// most (the rundown at the start is a burst), this one 30,640.
	assert.Equal(t, 30640, s.MaxHeld)
}
