package stacks

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/etl/etltest"
	"github.com/poolprof/poolprof/etl/kernel"
)

const ms = time.Millisecond

// An event and the Stack event right after it, kernel frames running into
// user frames: the whole stack at once.
func TestJoinInlineStack(t *testing.T) {
	tr := newTrace(t, 1)
	a, b := tr.ts(1*ms), tr.ts(2*ms)
	tr.alloc(0, a, 500, 100, 1664)
	tr.stack(0, a, a, 500, 100, k1, k2, u1, u2)
	tr.alloc(0, b, 500, 100, 1664)
	tr.stack(0, b, b, 500, 100, k1, k2, u1, u2)
	out, j := join(t, tr.events(), Options{})

	require.Len(t, out, 2)
	assert.Equal(t, []got{{a, out[0].ref}, {b, out[0].ref}}, out, "equal stacks share a Ref, delivered in hold order")
	assert.NotZero(t, out[0].ref)
	assert.Equal(t, []uint64{k1, k2, u1, u2}, j.Resolve(out[0].ref))
	k, u := j.Parts(out[0].ref)
	assert.Equal(t, []uint64{k1, k2}, k)
	assert.Equal(t, []uint64{u1, u2}, u)
	assert.Equal(t, uint32(500), j.Process(out[0].ref))
	s := j.Stats()
	assert.Equal(t, int64(2), s.JoinedInline)
	assert.Equal(t, int64(2), s.Delivered)
	assert.Zero(t, s.NoStack+s.Unmatched+s.LateUser+s.LateKernel)
	assert.Equal(t, 2, s.Refs, "Ref 0 and the one stack")
}

// The kernel part comes at once; the user part when the thread leaves the
// kernel, 100 ms later, with the same EventTimeStamp.
func TestJoinKernelThenUserPart(t *testing.T) {
	tr := newTrace(t, 1)
	a := tr.ts(1 * ms)
	tr.alloc(0, a, 500, 100, 64)
	tr.stack(0, a, a, 500, 100, k1, k2)
	for d := 2 * ms; d < 100*ms; d += 10 * ms {
		tr.noise(0, tr.ts(d))
	}
	tr.stack(0, tr.ts(100*ms), a, 500, 100, u1, u2, u3)
	tr.noise(0, tr.ts(5*time.Second))
	out, j := join(t, tr.events(), Options{})

	require.Len(t, out, 1)
	assert.Equal(t, []uint64{k1, k2, u1, u2, u3}, j.Resolve(out[0].ref))
	s := j.Stats()
	assert.Equal(t, int64(2), s.JoinedInline)
	assert.Zero(t, s.SharedUser)
	assert.Zero(t, s.KernelOnly)
}

// Key references whose keys are defined only by the rundown at the end,
// long after the events were delivered; a key never defined leaves its
// part empty.
func TestJoinKeyDefinedAtEnd(t *testing.T) {
	const kk, uk, never = 0xfffffa8000001000, 0xfffffa8000002000, 0xfffffa8000003000
	tr := newTrace(t, 1)
	a, c := tr.ts(1*ms), tr.ts(3*ms)
	tr.alloc(0, a, 500, 100, 64)
	tr.keyRef(0, a, a, 500, 100, false, kk)
	tr.keyRef(0, tr.ts(2*ms), a, 500, 100, true, uk)
	tr.alloc(0, c, 4, 8, 32)
	tr.keyRef(0, c, c, 4, 8, false, never)
	end := tr.ts(10 * time.Second)
	tr.keyDef(0, hookKeyRundown, end, kk, k1, k2, k3)
	tr.keyDef(0, hookKeyRundown, end, uk, u1, u2)
	events := tr.events()

	var refsAtDelivery []Ref
	j := NewJoiner(Options{}, func(_ int64, ref Ref) { refsAtDelivery = append(refsAtDelivery, ref) })
	for _, ev := range events {
		if ev.HookID == hookPoolAlloc {
			j.Hold(ev, ev.Timestamp)
		} else {
			j.Observe(ev)
		}
		if ev.Timestamp < end {
			assert.Nil(t, j.Resolve(1), "nothing resolves before Finish")
		}
	}
	require.Len(t, refsAtDelivery, 2, "both delivered when the rundown moved the clock")
	j.Finish()
	assert.Equal(t, []uint64{k1, k2, k3, u1, u2}, j.Resolve(refsAtDelivery[0]))
	assert.Empty(t, j.Resolve(refsAtDelivery[1]), "key never defined")
	assert.NotZero(t, refsAtDelivery[1], "it had a reference, though")
	s := j.Stats()
	assert.Equal(t, int64(3), s.JoinedByKey)
	assert.Equal(t, int64(1), s.UnresolvedKeys)
	assert.Equal(t, int64(1), s.UnresolvedKernelRefs)
	assert.Zero(t, s.UnresolvedUserRefs)
	assert.Zero(t, s.UnusedKeyDefs)
}

// Keys are reused after eviction: a reference binds to the next
// definition of its key, not to an earlier or a later one.
func TestJoinKeyReusedAfterEviction(t *testing.T) {
	const key = 0xfffffa8000001000
	tr := newTrace(t, 1)
	a, b, c := tr.ts(1*ms), tr.ts(3*ms), tr.ts(5*ms)
	tr.keyDef(0, hookKeyDelete, tr.ts(ms/2), key, k4) // an earlier use nobody held
	tr.alloc(0, a, 4, 8, 1)
	tr.keyRef(0, a, a, 4, 8, false, key)
	tr.keyDef(0, hookKeyDelete, tr.ts(2*ms), key, k1, k2)
	tr.alloc(0, b, 4, 8, 2)
	tr.keyRef(0, b, b, 4, 8, false, key)
	tr.keyDef(0, hookKeyDelete, tr.ts(4*ms), key, k3)
	tr.alloc(0, c, 4, 8, 3)
	tr.keyRef(0, c, c, 4, 8, false, key)
	tr.keyDef(0, hookKeyRundown, tr.ts(9*ms), key, k2, k3, k4)
	out, j := join(t, tr.events(), Options{})

	require.Len(t, out, 3)
	assert.Equal(t, []uint64{k1, k2}, j.Resolve(out[0].ref))
	assert.Equal(t, []uint64{k3}, j.Resolve(out[1].ref))
	assert.Equal(t, []uint64{k2, k3, k4}, j.Resolve(out[2].ref))
	s := j.Stats()
	assert.Equal(t, int64(4), s.KeyDefEvents)
	assert.Equal(t, int64(1), s.UnusedKeyDefs)
	assert.Zero(t, s.UnresolvedKeys)
}

// The same key value is live in the kernel and in the user table at once;
// a definition goes to the table its last frame says.
func TestJoinSameKeyInBothTables(t *testing.T) {
	const key = 0xfffffa8000001000
	tr := newTrace(t, 1)
	a := tr.ts(1 * ms)
	tr.alloc(0, a, 500, 100, 1)
	tr.keyRef(0, a, a, 500, 100, false, key)
	tr.keyRef(0, tr.ts(2*ms), a, 500, 100, true, key)
	tr.keyDef(0, hookKeyDelete, tr.ts(3*ms), key, u3, u4)     // user: last frame is a user address
	tr.keyDef(0, hookKeyDelete, tr.ts(4*ms), key, k1, k2, k3) // kernel
	out, j := join(t, tr.events(), Options{})

	require.Len(t, out, 1)
	assert.Equal(t, []uint64{k1, k2, k3, u3, u4}, j.Resolve(out[0].ref))
	assert.Equal(t, int64(2), j.Stats().JoinedByKey)
}

// PERFINFO headers have no thread: two simultaneous allocations on two
// processors get the stack logged on their own processor, and learn their
// thread from it, so that their user parts, logged later on the other
// processor, still find them.
func TestJoinPerfInfoByProcessor(t *testing.T) {
	tr := newTrace(t, 2)
	a := tr.ts(1 * ms)
	tr.allocPerfInfo(0, a, 10)
	tr.allocPerfInfo(1, a, 20)
	tr.stack(1, a, a, 600, 200, k3, k4)
	tr.stack(0, a, a, 500, 100, k1, k2)
	tr.keyRef(1, tr.ts(5*ms), a, 500, 100, true, 0xfffffa8000001000)
	tr.stack(0, tr.ts(6*ms), a, 600, 200, u3)
	tr.keyDef(0, hookKeyRundown, tr.ts(7*ms), 0xfffffa8000001000, u1, u2)
	events := tr.events()
	var procs []uint16
	for _, ev := range events {
		if ev.HookID == hookPoolAlloc {
			procs = append(procs, ev.Processor)
			require.False(t, ev.HasThread())
		}
	}
	require.Equal(t, []uint16{0, 1}, procs)
	out, j := join(t, events, Options{})

	require.Len(t, out, 2)
	assert.Equal(t, []uint64{k1, k2, u1, u2}, j.Resolve(out[0].ref), "processor 0")
	assert.Equal(t, []uint64{k3, k4, u3}, j.Resolve(out[1].ref), "processor 1")
	assert.Equal(t, uint32(500), j.Process(out[0].ref))
	assert.Equal(t, uint32(600), j.Process(out[1].ref))
	s := j.Stats()
	assert.Equal(t, int64(3), s.JoinedInline)
	assert.Equal(t, int64(1), s.JoinedByKey)
	assert.Zero(t, s.Ambiguous)
}

// An allocation without any stack is delivered with Ref 0; a stack for an
// event nobody held is counted, not attached.
func TestJoinNoStack(t *testing.T) {
	tr := newTrace(t, 1)
	a := tr.ts(1 * ms)
	tr.alloc(0, a, 4, 8, 1)
	tr.noise(0, tr.ts(2*ms))
	tr.stack(0, tr.ts(2*ms), tr.ts(2*ms), 1, 1, k1)
	out, j := join(t, tr.events(), Options{})

	require.Equal(t, []got{{a, 0}}, out)
	assert.Nil(t, j.Resolve(0))
	k, u := j.Parts(0)
	assert.Nil(t, k)
	assert.Nil(t, u)
	s := j.Stats()
	assert.Equal(t, int64(1), s.NoStack)
	assert.Equal(t, int64(1), s.Unmatched)
	assert.Equal(t, 1, s.Refs)
	assert.Equal(t, 1, s.Stacks)
}

// A user part that comes after its event was delivered is counted late
// and not attached; one that comes after the event was forgotten too (two
// windows) is unmatched.
func TestJoinLateUserPart(t *testing.T) {
	tr := newTrace(t, 1)
	a, b := tr.ts(1*ms), tr.ts(2*ms)
	tr.alloc(0, a, 500, 100, 1)
	tr.stack(0, a, a, 500, 100, k1)
	tr.alloc(0, b, 500, 101, 1)
	tr.stack(0, b, b, 500, 101, k2)
	tr.stack(0, tr.ts(15*ms), a, 500, 100, u1)
	tr.stack(0, tr.ts(30*ms), b, 500, 101, u2)
	out, j := join(t, tr.events(), Options{Window: 100_000}) // 10 ms

	require.Len(t, out, 2)
	assert.Equal(t, []uint64{k1}, j.Resolve(out[0].ref))
	assert.Equal(t, []uint64{k2}, j.Resolve(out[1].ref))
	s := j.Stats()
	assert.Equal(t, int64(1), s.LateUser)
	assert.Equal(t, int64(1), s.Unmatched)
	assert.Equal(t, int64(2), s.KernelOnly)
	assert.Equal(t, int64(2), s.JoinedInline)
}

// The window is in raw ticks; by default 2 s of the trace clock.
func TestJoinWindow(t *testing.T) {
	tr := newTrace(t, 1)
	a := tr.ts(1 * ms)
	tr.alloc(0, a, 500, 100, 1)
	tr.noise(0, a+20_000_000)   // exactly 2 s later: still held
	tr.noise(0, a+20_000_001)   // past it: delivered
	tr.noise(0, a+2*20_000_000) // remembered until two windows
	tr.stack(0, a+2*20_000_000+1, a, 500, 100, u1)
	events := tr.events()

	var delivered []int
	j := NewJoiner(Options{TicksPerSecond: 10_000_000}, func(ts int64, _ Ref) { delivered = append(delivered, 0) })
	j.Hold(events[0], events[0].Timestamp)
	j.Observe(events[1])
	assert.Empty(t, delivered)
	j.Observe(events[2])
	assert.Len(t, delivered, 1)
	j.Observe(events[3])
	assert.Equal(t, 1, j.w.len(), "remembered")
	j.Observe(events[4])
	assert.Equal(t, 0, j.w.len(), "forgotten")
	assert.Equal(t, int64(1), j.Stats().Unmatched)

	// Ticks per second sets the default window.
	j2 := NewJoiner(Options{TicksPerSecond: 1000}, func(int64, Ref) {})
	assert.Equal(t, int64(2000), j2.ticks)
}

// An EVENT_HEADER record carries its stack in extended items: frames
// (STACK_TRACE64) attach at once, a key (STACK_KEY64) resolves through the
// StackWalk definitions of either table.
func TestJoinEventHeaderExtendedStack(t *testing.T) {
	const key = 0xfffffa8000001000
	prov := etl.MustParseGUID("edd08927-9cc4-4e65-b970-c2560fb5c289") // Kernel-File
	tr := newTrace(t, 1)
	a, b := tr.ts(1*ms), tr.ts(2*ms)
	trace := make([]byte, 8) // MatchId 0: kernel and user frames together
	for _, f := range []uint64{k1, k2, u1} {
		trace = binary.LittleEndian.AppendUint64(trace, f)
	}
	tr.add(0, etltest.Record{Kind: etl.KindEventHeader64, Provider: prov, ID: 12, ThreadID: 100, ProcessID: 500,
		Timestamp: a, Ext: []etl.ExtItem{{Type: etl.ExtStackTrace64, Data: trace}}})
	keyItem := binary.LittleEndian.AppendUint64(make([]byte, 8), key)
	tr.add(0, etltest.Record{Kind: etl.KindEventHeader64, Provider: prov, ID: 12, ThreadID: 100, ProcessID: 500,
		Timestamp: b, Ext: []etl.ExtItem{{Type: etl.ExtStackKey64, Data: keyItem}}})
	tr.keyDef(0, hookKeyRundown, tr.ts(9*ms), key, u2, u3)
	out, j := join(t, tr.events(), Options{})

	require.Len(t, out, 2)
	assert.Equal(t, []uint64{k1, k2, u1}, j.Resolve(out[0].ref))
	assert.Equal(t, uint32(500), j.Process(out[0].ref))
	assert.Equal(t, []uint64{u2, u3}, j.Resolve(out[1].ref))
	s := j.Stats()
	assert.Equal(t, int64(1), s.ExtStacks)
	assert.Equal(t, int64(1), s.ExtKeys)
	assert.Zero(t, s.UnresolvedKeys)
}

// The thread leaves the kernel once for all the events it logged there:
// a user part is also given to the events of its thread still waiting for
// one (perfview's rule). Events of the System process never wait.
func TestJoinSharedUserPart(t *testing.T) {
	tr := newTrace(t, 1)
	a, b, c := tr.ts(1*ms), tr.ts(2*ms), tr.ts(3*ms)
	tr.alloc(0, a, 500, 100, 1)
	tr.stack(0, a, a, 500, 100, k1)
	tr.alloc(0, b, 500, 100, 1)
	tr.stack(0, b, b, 500, 100, k2)
	tr.alloc(0, c, 4, 100, 1) // tid reused by a System thread: not waiting
	tr.stack(0, c, c, 4, 100, k3)
	tr.keyRef(0, tr.ts(4*ms), b, 500, 100, true, 0xfffffa8000001000)
	tr.keyDef(0, hookKeyDelete, tr.ts(5*ms), 0xfffffa8000001000, u1, u2)
	out, j := join(t, tr.events(), Options{})

	require.Len(t, out, 3)
	assert.Equal(t, []uint64{k1, u1, u2}, j.Resolve(out[0].ref), "shared")
	assert.Equal(t, []uint64{k2, u1, u2}, j.Resolve(out[1].ref), "its own")
	assert.Equal(t, []uint64{k3}, j.Resolve(out[2].ref))
	s := j.Stats()
	assert.Equal(t, int64(1), s.SharedUser)
	assert.Equal(t, int64(1), s.JoinedByKey)
	assert.Equal(t, int64(1), s.KernelOnly)
}

// Several held events with the same timestamp and thread: each stack goes
// to the earliest one without it; one too many is a duplicate.
func TestJoinSameTimestampSameThread(t *testing.T) {
	tr := newTrace(t, 1)
	a := tr.ts(1 * ms)
	tr.alloc(0, a, 4, 8, 1)
	tr.alloc(0, a, 4, 8, 2)
	tr.stack(0, a, a, 4, 8, k1)
	tr.stack(0, a, a, 4, 8, k2)
	tr.stack(0, a, a, 4, 8, k3)
	out, j := join(t, tr.events(), Options{})

	require.Len(t, out, 2)
	assert.Equal(t, []uint64{k1}, j.Resolve(out[0].ref))
	assert.Equal(t, []uint64{k2}, j.Resolve(out[1].ref))
	s := j.Stats()
	assert.Equal(t, int64(1), s.Ambiguous)
	assert.Equal(t, int64(1), s.Duplicates)
	assert.Equal(t, int64(2), s.JoinedInline)
}

// A million allocations on one stack share one Ref, and the window keeps
// memory bounded: MaxHeld is the events of two windows, not of the file.
func TestJoinInterningAndBoundedMemory(t *testing.T) {
	const n = 200_000
	stack := []uint64{k1, k2, k3}
	payload := func(ts int64) []byte {
		p := binary.LittleEndian.AppendUint64(nil, uint64(ts))
		p = binary.LittleEndian.AppendUint32(p, 4)
		p = binary.LittleEndian.AppendUint32(p, 8)
		for _, f := range stack {
			p = binary.LittleEndian.AppendUint64(p, f)
		}
		return p
	}
	var refs = map[Ref]int{}
	j := NewJoiner(Options{Window: 1000}, func(_ struct{}, ref Ref) { refs[ref]++ })
	alloc := etl.Event{Kind: etl.KindSystem64, Provider: etl.MustParseGUID("0268a8b6-74fd-4302-9dd0-6e8f1795c0cf"), Opcode: 32, ThreadID: 8, ProcessID: 4}
	st := etl.Event{Kind: etl.KindPerfInfo64, Provider: etl.MustParseGUID("def2fe46-7bd6-4b80-bd94-f57fe20d0ce3"), Opcode: 32, Version: 2, ThreadID: noThread}
	for i := range n {
		ts := int64(10 * i)
		alloc.Timestamp = ts
		j.Hold(&alloc, struct{}{})
		st.Timestamp, st.Payload = ts, payload(ts)
		require.True(t, j.Observe(&st))
	}
	j.Finish()
	require.Len(t, refs, 1)
	for ref, count := range refs {
		assert.Equal(t, n, count)
		assert.Equal(t, stack, j.Resolve(ref))
	}
	s := j.Stats()
	assert.LessOrEqual(t, s.MaxHeld, 2*1000/10+2)
	assert.Equal(t, 2, j.Table().Len(), "the empty list and the one stack")
}

// Resolve, Stack, Parts and Process allocate nothing.
func TestResolveAllocatesNothing(t *testing.T) {
	tr := newTrace(t, 1)
	a := tr.ts(1 * ms)
	tr.alloc(0, a, 500, 100, 1)
	tr.stack(0, a, a, 500, 100, k1, u1)
	out, j := join(t, tr.events(), Options{})
	ref := out[0].ref
	var sink int
	allocs := testing.AllocsPerRun(100, func() {
		sink += len(j.Resolve(ref))
		k, u := j.Parts(ref)
		sink += len(k) + len(u) + int(j.Process(ref)) + int(j.Stack(ref))
	})
	assert.Zero(t, allocs)
	assert.NotZero(t, sink)
}

// Calls after Finish are ignored.
func TestJoinAfterFinish(t *testing.T) {
	n := 0
	j := NewJoiner(Options{}, func(int, Ref) { n++ })
	j.Finish()
	ev := &etl.Event{Kind: etl.KindSystem64, Timestamp: 5}
	j.Hold(ev, 1)
	assert.False(t, j.Observe(ev))
	j.Finish()
	assert.Zero(t, n)
}

// A merged trace puts KernelTraceControl's classic ImageID record, with
// the timestamp and thread of the Image Load it describes, before it: the
// load's stack goes to the Image event even when both are held.
func TestJoinPrefersKernelEventsOverClassic(t *testing.T) {
	tr := newTrace(t, 1)
	a := tr.ts(1 * ms)
	tr.add(0, etltest.Record{Kind: etl.KindFullHeader64, Provider: kernel.ImageIDGUID, Version: 2,
		ThreadID: 8, ProcessID: 500, Timestamp: a, Payload: imageIDPayload(0x400000, 0x1000, 500, 0, "a.exe")})
	tr.image(0, hookImageLoad, a, 0x400000, 0x1000, 500, `C:\a.exe`) // thread 8 too
	tr.stack(0, a, a, 500, 8, k1, u1)
	tr.add(0, etltest.Record{Kind: etl.KindFullHeader64, Provider: kernel.ImageIDGUID, Version: 2,
		ThreadID: 100, ProcessID: 500, Timestamp: tr.ts(2 * ms), Payload: imageIDPayload(0x400000, 0x1000, 500, 0, "a.exe")})
	tr.stack(0, tr.ts(2*ms), tr.ts(2*ms), 500, 100, k2)
	got := map[kernel.Kind][]Ref{}
	j := NewJoiner(Options{}, func(k kernel.Kind, ref Ref) { got[k] = append(got[k], ref) })
	for _, ev := range tr.events() {
		if ev.Provider == kernel.StackWalkGUID {
			j.Observe(ev)
		} else {
			j.Hold(ev, kernel.Lookup(ev))
		}
	}
	j.Finish()
	require.Len(t, got[kernel.KindImageLoad], 1)
	assert.Equal(t, []uint64{k1, u1}, j.Resolve(got[kernel.KindImageLoad][0]))
	require.Len(t, got[kernel.KindImageID], 2)
	assert.Zero(t, got[kernel.KindImageID][0])
	assert.Equal(t, []uint64{k2}, j.Resolve(got[kernel.KindImageID][1]), "a classic event alone still takes its stack")
	assert.Zero(t, j.Stats().Ambiguous)
}
