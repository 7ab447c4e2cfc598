package tokeleak_test

import (
	"cmp"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/internal/tokeleak"
)

// These tests read the file back and check that it says what the Truth
// claims: the records the generator counted, the pool events it planned,
// the stacks it meant. They do not compute lifetimes or rows: those come
// from the generator alone.

var recipes = map[string]tokeleak.Options{"committed": tokeleak.Committed, "small": small}

func TestEventCountsByHook(t *testing.T) {
	for name, o := range recipes {
		t.Run(name, func(t *testing.T) {
			data, tr := build(t, o)
			evs := readAll(t, open(t, data))
			hooks := map[uint16]int{}
			imageID := map[uint8]int{}
			for _, ev := range evs {
				switch {
				case ev.IsKernel():
					hooks[ev.HookID]++
				case ev.Kind == etl.KindFullHeader64 && ev.Provider == etl.ProviderKernelTraceControlImageID:
					imageID[ev.Opcode]++
				default:
					t.Fatalf("unexpected event %v %v opcode %d", ev.Kind, ev.Provider, ev.Opcode)
				}
			}
			assert.Len(t, evs, tr.Events.Total)
			assert.Equal(t, tr.Events.Hooks, hooks)
			assert.Equal(t, tr.Events.ImageID, imageID)
		})
	}
}

// Every processor's records are in non-decreasing timestamp order, in file
// order across its buffers.
func TestPerCPUOrder(t *testing.T) {
	data, _ := build(t, tokeleak.Committed)
	f := open(t, data)
	last := map[uint16]int64{}
	seen := map[uint16]int{}
	for ev, err := range f.NewReader(etl.OrderFile).All() {
		require.NoError(t, err)
		require.GreaterOrEqual(t, ev.Timestamp, last[ev.Processor], "processor %d buffer %d offset %#x", ev.Processor, ev.Buffer, ev.Offset)
		last[ev.Processor] = ev.Timestamp
		seen[ev.Processor]++
	}
	assert.Len(t, seen, tokeleak.CPUs)
}

type poolEv struct {
	time          int64
	cpu           int
	pid, tid      uint32
	alloc         bool
	tag, poolType uint32
	size, addr    uint64
	session       bool
	sessionID     uint32
}

func TestPoolEventsAreThePlan(t *testing.T) {
	for name, o := range recipes {
		t.Run(name, func(t *testing.T) {
			data, tr := build(t, o)
			var got []poolEv
			for _, ev := range readAll(t, open(t, data)) {
				if !ev.IsKernel() || ev.Group != etl.GroupPool {
					continue
				}
				p := ev.Payload
				require.True(t, len(p) == 24 || len(p) == 28)
				e := poolEv{time: ev.Timestamp, cpu: int(ev.Processor), pid: ev.ProcessID, tid: ev.ThreadID,
					alloc: ev.Opcode == 32 || ev.Opcode == 33, tag: le.Uint32(p[4:]), poolType: le.Uint32(p),
					size: le.Uint64(p[8:]), addr: le.Uint64(p[16:]), session: ev.Opcode == 33 || ev.Opcode == 35}
				require.Equal(t, e.session, len(p) == 28, "session events carry the session id")
				if e.session {
					e.sessionID = le.Uint32(p[24:])
				}
				got = append(got, e)
			}
			var want []poolEv
			for _, a := range tr.Allocations {
				want = append(want, poolEv{a.Time, a.CPU, a.PID, a.TID, true, a.Tag, a.PoolType, a.Size, a.Addr, a.Session, a.SessionID})
			}
			for _, f := range tr.Frees {
				want = append(want, poolEv{f.Time, f.CPU, f.PID, f.TID, false, f.Tag, f.PoolType, f.Size, f.Addr, f.Session, f.SessionID})
			}
			order := func(a, b poolEv) int { return cmp.Or(cmp.Compare(a.time, b.time), cmp.Compare(a.tid, b.tid)) }
			slices.SortStableFunc(got, order)
			slices.SortStableFunc(want, order)
			require.Equal(t, want, got)
		})
	}
}

// stackKey names the event a stack belongs to.
type stackKey struct {
	ts  int64
	tid uint32
}

// joined is the stack the file gives an event: its kernel part and user
// part, whichever form they came in.
type joined struct {
	pid          uint32
	kernel, user []string
	kernelSeen   bool
}

// joinStacks attaches every stack record of evs to its event by
// EventTimeStamp and thread, resolving key references to the next
// definition of their key in the kernel or user cache.
func joinStacks(t *testing.T, evs []*etl.Event, mm moduleMap) map[stackKey]*joined {
	t.Helper()
	out := map[stackKey]*joined{}
	get := func(k stackKey, pid uint32) *joined {
		j := out[k]
		if j == nil {
			j = &joined{pid: pid}
			out[k] = j
		}
		return j
	}
	type ref struct {
		k   stackKey
		pid uint32
	}
	pending := [2]map[uint64][]ref{{}, {}} // kernel, user
	for _, ev := range evs {
		if !ev.IsKernel() || ev.Group != etl.GroupStackWalk {
			continue
		}
		p := ev.Payload
		switch ev.Opcode {
		case 32: // Stack
			k := stackKey{int64(le.Uint64(p)), le.Uint32(p[12:])}
			pid := le.Uint32(p[8:])
			fr := frames(p[16:])
			require.NotEmpty(t, fr)
			j := get(k, pid)
			if isKernelAddr(fr[0]) {
				require.False(t, j.kernelSeen, "two kernel parts for %v", k)
				j.kernel, j.kernelSeen = mm.names(fr, pid), true
			} else {
				require.Nil(t, j.user, "two user parts for %v", k)
				j.user = mm.names(fr, pid)
			}
		case 37, 38: // StackKeyKernel, StackKeyUser
			k := stackKey{int64(le.Uint64(p)), le.Uint32(p[12:])}
			c := int(ev.Opcode - 37)
			key := le.Uint64(p[16:])
			pending[c][key] = append(pending[c][key], ref{k, le.Uint32(p[8:])})
			if c == 0 {
				get(k, le.Uint32(p[8:])).kernelSeen = true
			}
		case 35, 36: // KeyDelete, KeyRundown
			key := le.Uint64(p)
			fr := frames(p[8:])
			c := 1
			if isKernelAddr(fr[len(fr)-1]) {
				c = 0
			}
			for _, r := range pending[c][key] {
				j := get(r.k, r.pid)
				names := mm.names(fr, r.pid)
				if c == 0 {
					j.kernel = names
				} else {
					j.user = names
				}
			}
			delete(pending[c], key)
		default:
			t.Fatalf("unexpected StackWalk opcode %d", ev.Opcode)
		}
	}
	require.Empty(t, pending[0], "kernel key references without a definition")
	require.Len(t, pending[1], 1, "only UndefinedUserKey stays undefined")
	require.Contains(t, pending[1], uint64(tokeleak.UndefinedUserKey))
	return out
}

func TestStacksAreThePlan(t *testing.T) {
	for name, o := range recipes {
		t.Run(name, func(t *testing.T) {
			data, tr := build(t, o)
			stacks := joinStacks(t, readAll(t, open(t, data)), tr.Images)
			n := 0
			for _, a := range tr.Allocations {
				j := stacks[stackKey{a.Time, a.TID}]
				if a.KernelStack == tokeleak.StackNone {
					require.Nil(t, j, "allocation at %d has no stack", a.Time)
					require.NotNil(t, a.Frames)
					require.Empty(t, a.Frames)
					continue
				}
				require.NotNil(t, j, "allocation at %d", a.Time)
				require.Equal(t, a.PID, j.pid)
				require.Equal(t, a.Frames, append(slices.Clone(j.kernel), j.user...), "allocation at %d", a.Time)
				require.Equal(t, a.UserLogged, j.user != nil)
				n++
			}
			for _, f := range tr.Frees {
				j := stacks[stackKey{f.Time, f.TID}]
				if f.Frames == nil {
					require.Nil(t, j)
					continue
				}
				require.Equal(t, f.Frames, j.kernel)
				n++
			}
			require.Len(t, stacks, n, "every stack belongs to a pool event")
		})
	}
}
