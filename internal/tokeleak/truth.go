package tokeleak

import (
	"cmp"
	"slices"
	"strings"
)

// Truth is what the example holds, from the generator's bookkeeping: the
// plan of every allocation and free, and the records it wrote. Nothing in
// it was read back from the file.
type Truth struct {
	// Options in effect, defaults filled in.
	Options Options
	// T0 is the raw timestamp of the logfile header event; Start and End
	// those of the first and last pool events.
	T0, Start, End int64

	// Rows are poolmon-style rows per (tag, paged), sorted by tag then
	// paged, with the keys of `poolprof summary --format json`. The whole
	// trace is the window.
	Rows   []Row
	Totals Row

	// Allocations lists every allocation event, Frees every free event,
	// in time order.
	Allocations []Allocation
	Frees       []Free

	// TokeAIFO is Stacks("Toke", AIFO): the story's answer.
	TokeAIFO []Stack

	StackCounts StackCounts
	Sessions    SessionCounts
	Events      EventCounts

	// LostFrees counts allocations closed by a later allocation at their
	// address; EventsLost in the logfile header says as much.
	LostFrees int
	// CrossCPU counts AIFI allocations freed on another processor.
	CrossCPU int
	// AddressReuses counts allocations at an address freed earlier in the
	// trace (inside the allocator; pinned edge cases not included).
	AddressReuses int

	// Images is the module map with load times; Processes and Threads
	// the rundown.
	Images    []Image
	Processes []Process
	Threads   []Thread
}

// Row is a poolmon-style row: one (tag, paged) pair. On every row
// Allocs = AIFOCount + AIFICount + LostFrees and Frees = AIFICount +
// AOFICount. Bytes are allocation sizes; AOFI frees count without bytes.
type Row struct {
	Tag       string `json:"tag"` // as TagString prints it
	TagValue  uint32 `json:"-"`   // protected bit cleared
	Paged     bool   `json:"paged"`
	Allocs    uint64 `json:"allocs"`
	Frees     uint64 `json:"frees"`
	AIFOCount uint64 `json:"aifo_count"`
	AIFOBytes uint64 `json:"aifo_bytes"`
	AIFICount uint64 `json:"aifi_count"`
	AIFIBytes uint64 `json:"aifi_bytes"`
	AOFICount uint64 `json:"aofi_count"`
	LostFrees uint64 `json:"lost_frees"`
}

// Allocation is one allocation event and its fate.
type Allocation struct {
	Time      int64 // raw timestamp of the event
	CPU       int
	PID, TID  uint32
	Tag       uint32 // as logged, protected bit included
	PoolType  uint32 // as logged, big-pool marker included
	Size      uint64
	Addr      uint64
	Session   bool
	SessionID uint32
	Lifetime  Lifetime
	// FreeTime and FreeCPU are the free's, for AIFI.
	FreeTime int64
	FreeCPU  int
	// Frames is the folded stack, innermost first, kernel part then user
	// part, as the analysis prints it without symbols; empty (not nil)
	// for an allocation without a stack.
	Frames []string
	// KernelStack says how the kernel part was logged (StackInline,
	// StackKeyed, or StackNone); UserLogged whether a user part was
	// logged and defined (it is part of Frames then).
	KernelStack StackForm
	UserLogged  bool
	// Reused: the address was freed earlier in the trace.
	Reused bool
}

// Free is one free event.
type Free struct {
	Time      int64
	CPU       int
	PID, TID  uint32
	Tag       uint32
	PoolType  uint32
	Size      uint64 // NumberOfBytes as logged: the block size, not the allocation's
	Addr      uint64
	Session   bool
	SessionID uint32
	// AOFI: the block was allocated before the trace.
	AOFI bool
	// Frames is the free's own inline stack, nil if none was logged.
	Frames []string
}

// StackForm is how the kernel part of a stack was logged.
type StackForm uint8

const (
	StackNone   StackForm = iota // no stack at all
	StackInline                  // a Stack event
	StackKeyed                   // a StackKeyKernel reference
)

// StackCounts counts what the stack records of the file say.
type StackCounts struct {
	// Allocations by the form of their kernel part.
	Inline, Keyed, NoStack int
	// User parts: logged as a Stack event, as a StackKeyUser reference
	// with a definition, as a StackKeyUser reference never defined, or
	// not logged at all for a stack whose site has user frames.
	UserInline, UserKeyed, UserUndefined, UserNever int
	// UserImmediate counts user parts (logged ones) with the same
	// record timestamp as their event, the thread's next event coming
	// too soon for a delay.
	UserImmediate int
	// FreesWithStack counts frees with an inline kernel stack (the Toke
	// frees).
	FreesWithStack int
	// KeyDeletes and KeyRundowns count definitions; KernelKeys and
	// UserKeys the distinct key values defined per cache; ReusedKeys
	// the values defined more than once (reused after eviction);
	// SharedKeys the values defined in both caches.
	KeyDeletes, KeyRundowns                      int
	KernelKeys, UserKeys, ReusedKeys, SharedKeys int
}

// SessionCounts counts session-pool traffic.
type SessionCounts struct {
	Allocs, Frees int
	// Keys counts the distinct (session, address) keys allocated.
	Keys int
	// SharedAddrs counts addresses allocated in both sessions.
	SharedAddrs int
}

// EventCounts counts the records of the file, the logfile header event
// included.
type EventCounts struct {
	Total int
	// Hooks counts kernel (SYSTEM, PERFINFO) records by hook id.
	Hooks map[uint16]int
	// ImageID counts the KernelTraceControl ImageID class's FULL_HEADER
	// records by opcode.
	ImageID map[uint8]int
}

// Stack is one folded stack with the allocations under it, the shape of
// `poolprof stacks --format json`.
type Stack struct {
	Frames []string `json:"frames"`
	Count  uint64   `json:"count"`
	Bytes  uint64   `json:"bytes"`
}

func newTruth(o Options) *Truth {
	return &Truth{Options: o, T0: T0,
		Events:    EventCounts{Hooks: map[uint16]int{}, ImageID: map[uint8]int{}},
		Processes: slices.Clone(Processes), Threads: slices.Clone(Threads)}
}

// TagString prints a tag as the analysis does: four characters, the first
// from the lowest byte, the protected bit cleared, trailing spaces kept, a
// backslash as `\\`, other non-printing bytes as \xHH.
func TagString(tag uint32) string {
	const hex = "0123456789abcdef"
	tag &^= ProtectedTag
	var b []byte
	for i := range 4 {
		c := byte(tag >> (8 * i))
		switch {
		case c == '\\':
			b = append(b, '\\', '\\')
		case c < 0x20 || c > 0x7e:
			b = append(b, '\\', 'x', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

type rowKey struct {
	tag   uint32
	paged bool
}

// finish fills the truth from the plan once every record is written.
func (t *Truth) finish(g *gen, ks *keyStats) {
	rows := map[rowKey]*Row{}
	row := func(tag, poolType uint32) *Row {
		k := rowKey{tag &^ ProtectedTag, isPaged(poolType)}
		r := rows[k]
		if r == nil {
			r = &Row{Tag: TagString(k.tag), TagValue: k.tag, Paged: k.paged}
			rows[k] = r
		}
		return r
	}
	sessionKeys := map[poolKey]bool{}
	sessionsOf := map[uint64]map[uint32]bool{}
	for _, a := range g.allocs {
		r := row(a.tag, a.poolType)
		r.Allocs++
		al := Allocation{Time: T0 + a.tick, CPU: a.cpu, PID: a.th.PID, TID: a.th.TID, Tag: a.tag,
			PoolType: a.poolType, Size: a.size, Addr: a.addr, Session: isSession(a.poolType), Frames: a.frames,
			UserLogged: a.userLogged, Reused: a.reused}
		switch a.kform {
		case kernelInline:
			al.KernelStack = StackInline
		case kernelKeyed:
			al.KernelStack = StackKeyed
		}
		if al.Session {
			al.SessionID = a.session
			sessionKeys[keyOf(a.poolType, a.session, a.addr)] = true
			if sessionsOf[a.addr] == nil {
				sessionsOf[a.addr] = map[uint32]bool{}
			}
			sessionsOf[a.addr][a.session] = true
			t.Sessions.Allocs++
		}
		switch {
		case a.lost:
			al.Lifetime = LostFree
			r.LostFrees++
			t.LostFrees++
		case a.free != nil:
			al.Lifetime = AIFI
			al.FreeTime, al.FreeCPU = T0+a.free.tick, a.free.cpu
			r.AIFICount++
			r.AIFIBytes += a.size
			if a.free.cpu != a.cpu {
				t.CrossCPU++
			}
		default:
			al.Lifetime = AIFO
			r.AIFOCount++
			r.AIFOBytes += a.size
		}
		t.Allocations = append(t.Allocations, al)
	}
	for _, f := range g.frees {
		r := row(f.tag, f.poolType)
		r.Frees++
		if f.alloc == nil {
			r.AOFICount++
		}
		fr := Free{Time: T0 + f.tick, CPU: f.cpu, PID: f.th.PID, TID: f.th.TID, Tag: f.tag, PoolType: f.poolType,
			Size: f.size, Addr: f.addr, Session: isSession(f.poolType), AOFI: f.alloc == nil, Frames: f.frames}
		if fr.Session {
			fr.SessionID = f.session
			t.Sessions.Frees++
		}
		t.Frees = append(t.Frees, fr)
	}
	slices.SortStableFunc(t.Allocations, func(a, b Allocation) int { return cmp.Compare(a.Time, b.Time) })
	slices.SortStableFunc(t.Frees, func(a, b Free) int { return cmp.Compare(a.Time, b.Time) })
	t.Start = min(t.Allocations[0].Time, t.Frees[0].Time)
	t.End = max(t.Allocations[len(t.Allocations)-1].Time, t.Frees[len(t.Frees)-1].Time)

	for _, r := range rows {
		t.Rows = append(t.Rows, *r)
		t.Totals.Allocs += r.Allocs
		t.Totals.Frees += r.Frees
		t.Totals.AIFOCount += r.AIFOCount
		t.Totals.AIFOBytes += r.AIFOBytes
		t.Totals.AIFICount += r.AIFICount
		t.Totals.AIFIBytes += r.AIFIBytes
		t.Totals.AOFICount += r.AOFICount
		t.Totals.LostFrees += r.LostFrees
	}
	slices.SortFunc(t.Rows, func(a, b Row) int {
		if c := cmp.Compare(a.Tag, b.Tag); c != 0 {
			return c
		}
		if a.Paged == b.Paged {
			return 0
		}
		if a.Paged {
			return 1
		}
		return -1
	})
	t.Sessions.Keys = len(sessionKeys)
	for _, s := range sessionsOf {
		if len(s) > 1 {
			t.Sessions.SharedAddrs++
		}
	}
	t.StackCounts.KernelKeys, t.StackCounts.UserKeys = ks.kernel, ks.user
	t.StackCounts.ReusedKeys, t.StackCounts.SharedKeys = ks.reused, ks.shared
	t.AddressReuses = g.addrs.reuses
	t.TokeAIFO = t.Stacks(TokeTag, AIFO)
}

// Row returns the row of tag (as TagString prints it) and pool, or nil.
func (t *Truth) Row(tag string, paged bool) *Row {
	for i := range t.Rows {
		if t.Rows[i].Tag == tag && t.Rows[i].Paged == paged {
			return &t.Rows[i]
		}
	}
	return nil
}

// Count returns the number and bytes of allocations of tag (as TagString
// prints it; "" for all) with lifetime life and, unless size is 0, of that
// size.
func (t *Truth) Count(tag string, size uint64, life Lifetime) (n int, bytes uint64) {
	for i := range t.Allocations {
		a := &t.Allocations[i]
		if a.Lifetime == life && (tag == "" || TagString(a.Tag) == tag) && (size == 0 || a.Size == size) {
			n++
			bytes += a.Size
		}
	}
	return n, bytes
}

// Stacks folds the allocations of tag (as TagString prints it; "" for
// all) with lifetime life by stack: most bytes first, then most
// allocations, then by frames.
func (t *Truth) Stacks(tag string, life Lifetime) []Stack {
	idx := map[string]int{}
	var out []Stack
	for i := range t.Allocations {
		a := &t.Allocations[i]
		if a.Lifetime != life || (tag != "" && TagString(a.Tag) != tag) {
			continue
		}
		k := strings.Join(a.Frames, "\x00")
		j, ok := idx[k]
		if !ok {
			j = len(out)
			idx[k] = j
			out = append(out, Stack{Frames: a.Frames})
		}
		out[j].Count++
		out[j].Bytes += a.Size
	}
	slices.SortFunc(out, func(a, b Stack) int {
		return cmp.Or(cmp.Compare(b.Bytes, a.Bytes), cmp.Compare(b.Count, a.Count),
			slices.Compare(a.Frames, b.Frames))
	})
	return out
}
