package stacks

import (
	"encoding/binary"
	"math"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/etl/kernel"
)

// DefaultWindow is the default hold window in seconds of the trace clock:
// how long a held event waits for the parts of its stack. In the real
// corpus the longest wait between an event and a part of its stack was
// 0.4 s (a user part logged when the thread left the kernel).
const DefaultWindow = 2

// defaultTicksPerSecond is the QPC rate every sample file has (10 MHz).
const defaultTicksPerSecond = 10_000_000

// noThread is the thread id of headers that carry none.
const noThread = 0xFFFFFFFF

// Options configure a Joiner. The zero value is usable.
type Options struct {
	// TicksPerSecond is the rate of the raw timestamps, from etl.LogfileHeader.TicksPerSecond
	// of the file's header; 0 means 10 MHz. It converts the default
	// window to ticks.
	TicksPerSecond int64

	// Window is how long, in raw ticks, a held event waits for its stack
	// after its own timestamp; 0 means DefaultWindow seconds. Memory
	// grows with the number of events held in two windows (one waiting,
	// one remembered after delivery to recognize late parts).
	Window int64

	// Table is the table frame lists are interned in; nil means a new
	// one (see Joiner.Table).
	Table *Table
}

// Stats counts what a Joiner did; the health fields say how far its stacks
// can be trusted.
type Stats struct {
	// Held events.
	Held       int64 // events passed to Hold
	Delivered  int64 // events handed to the callback
	NoStack    int64 // delivered without any stack (Ref 0)
	KernelOnly int64 // delivered with a kernel part and no user part (normal for System and Idle threads)
	UserOnly   int64 // delivered with a user part and no kernel part (user-mode events)
	MaxHeld    int   // most events held at once, waiting or remembered

	// StackWalk events passed to Observe.
	StackEvents  int64 // Stack (opcode 32)
	KeyRefEvents int64 // StackKeyKernel and StackKeyUser (37, 38)
	KeyDefEvents int64 // key definitions (34, 35, 36)
	BadEvents    int64 // StackWalk events that did not decode, ignored

	// Parts joined to held events. Every Stack and key reference event
	// counts once, in one of JoinedInline, JoinedByKey, Unmatched,
	// Duplicates, LateKernel, LateUser or EmptyStacks.
	JoinedInline int64 // Stack events attached to the event they name
	JoinedByKey  int64 // key references attached to the event they name
	ExtStacks    int64 // EVENT_HEADER STACK_TRACE items attached at Hold
	ExtKeys      int64 // EVENT_HEADER STACK_KEY items attached at Hold
	// ExtIgnored counts EVENT_HEADER stack items not attached: too short
	// for their type, or after an item that gave the event its stack.
	ExtIgnored int64
	// SharedUser counts user parts given to other events of the same
	// thread that had a kernel part and were still waiting for a user
	// part: the thread left the kernel once for all of them (perfview's
	// rule). SharedLate counts those that had been delivered already.
	SharedUser int64
	SharedLate int64

	// Health.
	Unmatched   int64 // parts whose event is not held (or was forgotten): ignored
	Duplicates  int64 // parts whose event had that part already
	Ambiguous   int64 // parts several held events could take; the earliest took it
	LateKernel  int64 // kernel parts that came after their event was delivered
	LateUser    int64 // user parts that came after their event was delivered
	EmptyStacks int64 // Stack events without frames
	// UnusedKeyDefs counts key definitions no reference of a held event
	// waited for (rundown of keys that only unheld events used).
	UnusedKeyDefs int64
	// Dropped counts parts lost because 2^31 stacks or key uses were
	// interned already.
	Dropped int64

	// Set by Finish: key references attached to held events whose key
	// was never defined, and the key uses they belong to. Such a part is
	// empty: the stack is the other part alone.
	UnresolvedKernelRefs int64 // StackKeyKernel and EVENT_HEADER STACK_KEY references
	UnresolvedUserRefs   int64 // StackKeyUser references
	UnresolvedKeys       int64

	// Refs is the number of distinct stack references handed out, Ref 0
	// included; Stacks (set by Finish) the number of distinct resolved
	// stacks, the empty stack included.
	Refs   int
	Stacks int
}

// Joiner joins stacks to the events they belong to in one pass over a
// time-ordered event stream (etl.OrderTime). The caller holds the events
// whose stacks it wants (Hold) and passes every other event to Observe;
// the Joiner delivers each held event with its stack reference to the
// callback once the stream has moved a window past the event, in the
// order the events were held. Memory is bounded by the events in the
// window and by the distinct stacks (and stack-key uses), never by the
// length of the file.
//
// The rules (docs/etl-format.md §4.2): a Stack event or a key reference
// belongs to the held event whose raw timestamp equals its EventTimeStamp
// and whose thread is its StackThread; an event whose header has no thread
// (PERFINFO) matches on the processor instead, and learns its thread from
// the first part it gets. The kernel part comes right after the event;
// the user part can come later (when the thread leaves the kernel), and
// is then also given to the other events of the thread still waiting for
// theirs. A key reference resolves to the frames of the next definition of
// its key value. When several held events share timestamp and thread, the
// earliest one that lacks the part takes it, classic (MOF) records last.
//
// A Joiner is not safe for concurrent use, and the callback must not call
// the Joiner.
type Joiner[T any] struct {
	deliver  func(v T, ref Ref)
	ticks    int64 // the window, in raw ticks
	now      int64
	started  bool
	finished bool

	w     window[T]
	keys  keys
	comp  composites
	table *Table
	stats Stats

	st      kernel.Stack
	kr      kernel.StackKeyRef
	kd      kernel.StackKeyDef
	scratch []uint64

	// The thread and process of the event being delivered; see
	// DeliveredThread.
	curTID, curPID uint32
	curKnown       bool
}

// DeliveredThread returns, inside the deliver callback, the thread and
// process of the event being delivered: its header's, or for a header
// without them (PERFINFO) the StackThread and StackProcess of the first
// stack part that joined it; ok is false when neither said.
func (j *Joiner[T]) DeliveredThread() (tid, pid uint32, ok bool) {
	return j.curTID, j.curPID, j.curKnown
}

// NewJoiner returns a Joiner that hands every held event's value and stack
// reference to deliver.
func NewJoiner[T any](opts Options, deliver func(v T, ref Ref)) *Joiner[T] {
	rate := opts.TicksPerSecond
	if rate <= 0 {
		rate = defaultTicksPerSecond
	}
	w := opts.Window
	if w <= 0 {
		w = DefaultWindow * rate
	}
	t := opts.Table
	if t == nil {
		t = NewTable()
	}
	return &Joiner[T]{deliver: deliver, ticks: w, table: t, comp: newComposites()}
}

// Table returns the table the Joiner interns frame lists in.
func (j *Joiner[T]) Table() *Table { return j.table }

// Stats returns what the Joiner counted so far.
func (j *Joiner[T]) Stats() Stats {
	s := j.stats
	s.Refs = len(j.comp.list)
	return s
}

// Hold holds ev, an event whose stack the caller wants, with the caller's
// value v. Frames in EVENT_HEADER extended STACK_TRACE32/64 items attach
// at once; STACK_KEY32/64 items attach a key reference. Hold may deliver
// earlier events. Calls after Finish are ignored.
func (j *Joiner[T]) Hold(ev *etl.Event, v T) {
	if j.finished {
		return
	}
	j.advance(ev.Timestamp)
	s, seq := j.w.push(ev.Timestamp)
	s.proc = ev.Processor
	s.v = v
	if ev.HasThread() && ev.ThreadID != noThread {
		s.tid, s.pid = ev.ThreadID, ev.ProcessID
		s.flags = flagThread
	}
	switch ev.Kind {
	case etl.KindFullHeader32, etl.KindFullHeader64, etl.KindInstance32, etl.KindInstance64:
		s.flags |= flagClassic
	}
	j.stats.Held++
	j.stats.MaxHeld = max(j.stats.MaxHeld, j.w.len())
	if len(ev.Extended) > 0 {
		j.holdExtended(ev, s, seq)
	}
}

// holdExtended attaches the stack items of an EVENT_HEADER record
// (docs/etl-format.md §3.8). A STACK_TRACE item whose MatchId is not 0
// carries one half of a stack whose other half a later event carries;
// the half given here is attached, and the event waits for a user part
// like any kernel-only one.
func (j *Joiner[T]) holdExtended(ev *etl.Event, s *slot[T], seq uint64) {
	ev.ExtendedItems(func(it etl.ExtItem) bool {
		switch it.Type {
		case etl.ExtStackTrace32, etl.ExtStackTrace64:
			ptr := 8
			if it.Type == etl.ExtStackTrace32 {
				ptr = 4
			}
			if len(it.Data) < 8+ptr || s.kernel != 0 || s.user != 0 {
				j.stats.ExtIgnored++
				return true
			}
			j.scratch = appendFrames(j.scratch[:0], it.Data[8:], ptr)
			split := kernelPrefix(j.scratch, ptr)
			if split > 0 {
				s.kernel = j.framesPart(j.scratch[:split])
			}
			if split < len(j.scratch) {
				j.setUser(s, j.framesPart(j.scratch[split:]), s.pid, false)
			} else {
				j.wait(s, seq)
			}
			j.stats.ExtStacks++
		case etl.ExtStackKey32, etl.ExtStackKey64:
			var key uint64
			switch {
			case it.Type == etl.ExtStackKey32 && len(it.Data) >= 12:
				key = uint64(binary.LittleEndian.Uint32(it.Data[8:]))
			case it.Type == etl.ExtStackKey64 && len(it.Data) >= 16:
				key = binary.LittleEndian.Uint64(it.Data[8:])
			default:
				j.stats.ExtIgnored++
				return true
			}
			if s.kernel != 0 || s.user != 0 {
				j.stats.ExtIgnored++
				return true
			}
			s.kernel = j.keyPart(anyKeys, key)
			j.stats.ExtKeys++
		}
		return true
	})
}

// Observe passes an event that is not held. StackWalk events (Stack, key
// references, key definitions) are consumed: Observe returns true for
// them. Every event moves the stream's clock, so pass all of them; held
// events are delivered from here once the clock has moved a window past
// them.
func (j *Joiner[T]) Observe(ev *etl.Event) bool {
	if j.finished {
		return false
	}
	j.advance(ev.Timestamp)
	if ev.Provider != kernel.StackWalkGUID {
		return false
	}
	switch kernel.Lookup(ev) {
	case kernel.KindStack:
		j.onStack(ev)
	case kernel.KindStackKeyRef:
		j.onKeyRef(ev)
	case kernel.KindStackKeyDef:
		j.onKeyDef(ev)
	default:
		return false
	}
	return true
}

func (j *Joiner[T]) onStack(ev *etl.Event) {
	st := &j.st
	if err := st.Decode(ev); err != nil {
		j.stats.BadEvents++
		return
	}
	j.stats.StackEvents++
	if st.NumFrames() == 0 {
		j.stats.EmptyStacks++
		return
	}
	j.scratch = st.AppendFrames(j.scratch[:0])
	frames := j.scratch
	split := kernelPrefix(frames, st.PointerSize())
	if split == 0 {
		// Starts in user mode: the user part, captured when the thread
		// was back in user mode.
		p := pending{frames: frames}
		if j.joinUser(st.EventTimeStamp, st.ThreadID, st.ProcessID, ev.Processor, &p) {
			j.stats.JoinedInline++
		}
		return
	}
	p := pending{frames: frames[:split]}
	if j.joinKernel(st.EventTimeStamp, st.ThreadID, st.ProcessID, ev.Processor, &p, frames[split:]) {
		j.stats.JoinedInline++
	}
}

func (j *Joiner[T]) onKeyRef(ev *etl.Event) {
	r := &j.kr
	if err := r.Decode(ev); err != nil {
		j.stats.BadEvents++
		return
	}
	j.stats.KeyRefEvents++
	if r.User {
		p := pending{keyed: true, table: userKeys, key: r.Key}
		if j.joinUser(r.EventTimeStamp, r.ThreadID, r.ProcessID, ev.Processor, &p) {
			j.stats.JoinedByKey++
		}
		return
	}
	p := pending{keyed: true, table: kernelKeys, key: r.Key}
	if j.joinKernel(r.EventTimeStamp, r.ThreadID, r.ProcessID, ev.Processor, &p, nil) {
		j.stats.JoinedByKey++
	}
}

func (j *Joiner[T]) onKeyDef(ev *etl.Event) {
	d := &j.kd
	if err := d.Decode(ev); err != nil {
		j.stats.BadEvents++
		return
	}
	j.stats.KeyDefEvents++
	t := userKeys
	if d.Kernel() {
		t = kernelKeys
	}
	a, okA := j.keys.take(t, d.Key)
	b, okB := j.keys.take(anyKeys, d.Key)
	if !okA && !okB {
		j.stats.UnusedKeyDefs++
		return
	}
	j.scratch = d.AppendFrames(j.scratch[:0])
	id := j.intern(j.scratch)
	if okA {
		j.keys.define(a, id)
	}
	if okB {
		j.keys.define(b, id)
	}
}

// pending is a part not made yet: frames or a key reference. It is made
// (interned, or a key use started) only when a held event takes it, so
// that the stacks of events nobody holds cost nothing.
type pending struct {
	frames []uint64
	keyed  bool
	table  keyTable
	key    uint64
	p      part
	n      int // times taken
}

func (j *Joiner[T]) take(pp *pending) part {
	switch {
	case pp.n == 0 && pp.keyed:
		pp.p = j.keyPart(pp.table, pp.key)
	case pp.n == 0:
		pp.p = j.framesPart(pp.frames)
	case pp.keyed && pp.p.isKey():
		j.keys.addRef(pp.p.lifetime())
	}
	pp.n++
	return pp.p
}

// joinKernel attaches a kernel part, and for a Stack event that runs into
// user mode its user frames too. It reports whether the part found its
// event.
func (j *Joiner[T]) joinKernel(ts int64, tid, pid uint32, proc uint16, pp *pending, user []uint64) bool {
	seq, st := j.find(ts, tid, proc, false)
	switch st {
	case findNone:
		j.stats.Unmatched++
		return false
	case findDuplicate:
		j.stats.Duplicates++
		return false
	case findLate:
		j.stats.LateKernel++
		return false
	}
	s := j.w.at(seq)
	s.kernel = j.take(pp)
	if s.flags&flagThread == 0 {
		s.tid, s.pid = tid, pid
		s.flags |= flagThread
	}
	if len(user) > 0 {
		j.setUser(s, j.framesPart(user), pid, false)
	} else {
		j.wait(s, seq)
	}
	return true
}

// joinUser attaches a user part to its event and to the events of the
// thread waiting for one. It reports whether the part found its own event.
func (j *Joiner[T]) joinUser(ts int64, tid, pid uint32, proc uint16, pp *pending) bool {
	seq, st := j.find(ts, tid, proc, true)
	head := j.w.waiting.get(uint64(tid))
	switch st {
	case findNone:
		j.stats.Unmatched++
	case findDuplicate:
		j.stats.Duplicates++
	case findLate:
		j.stats.LateUser++
	case findOK:
		s := j.w.at(seq)
		if s.flags&flagThread == 0 {
			s.tid = tid
			s.flags |= flagThread
		}
		j.setUser(s, j.take(pp), pid, false)
	}
	if head != 0 {
		for link := head; j.w.live(link); {
			s := j.w.at(link - 1)
			link = s.waitNext
			s.flags &^= flagWaiting
			if s.user != 0 || s.tid != tid {
				continue // has its own (or is the event above)
			}
			if s.flags&flagDelivered != 0 {
				j.stats.SharedLate++
				continue
			}
			j.setUser(s, j.take(pp), pid, true)
			j.stats.SharedUser++
		}
		j.w.waiting.del(uint64(tid))
	}
	return st == findOK
}

func (j *Joiner[T]) setUser(s *slot[T], p part, pid uint32, shared bool) {
	s.user = p
	s.pid = pid
	if shared {
		s.flags |= flagSharedUser
	} else {
		s.flags &^= flagSharedUser
	}
}

// wait puts a slot with a kernel part and no user part on its thread's
// list of events waiting for the thread to leave the kernel. Events of the
// Idle (0) and System (4) processes never get a user part.
func (j *Joiner[T]) wait(s *slot[T], seq uint64) {
	if s.user != 0 || s.flags&flagThread == 0 || s.flags&flagWaiting != 0 || s.pid == 0 || s.pid == 4 {
		return
	}
	s.waitNext = j.w.waiting.get(uint64(s.tid))
	j.w.waiting.put(uint64(s.tid), seq+1)
	s.flags |= flagWaiting
}

type findStatus uint8

const (
	findNone      findStatus = iota // no held event has the timestamp and thread or processor
	findOK                          // a held event lacks the part
	findLate                        // the event lacking the part was delivered already
	findDuplicate                   // every candidate has the part already
)

// find chooses the event a part with EventTimeStamp ts, StackThread tid,
// logged on processor proc, belongs to: among the slots with timestamp ts,
// those with thread tid first, then those without a thread on processor
// proc, then those without a thread on another processor; classic
// (FULL_HEADER, INSTANCE) records after all others, because those with a
// timestamp and thread of a kernel event are the KernelTraceControl
// events injected at merge time to describe it (ImageID next to an Image
// Load), which have no stack of their own. Within the best group the
// earliest slot that lacks the part takes it. A user part may replace one
// shared from another event.
func (j *Joiner[T]) find(ts int64, tid uint32, proc uint16, user bool) (uint64, findStatus) {
	var best uint64
	bestRank, nBest, candidates := 6, 0, 0
	for link := j.w.newest(ts); j.w.live(link); {
		seq := link - 1
		s := j.w.at(seq)
		link = j.w.next(s, seq)
		rank := 2
		switch {
		case s.flags&flagThread != 0:
			if s.tid != tid {
				continue
			}
			rank = 0
		case s.proc == proc:
			rank = 1
		}
		if s.flags&flagClassic != 0 {
			rank += 3
		}
		candidates++
		lacking := s.kernel == 0
		if user {
			lacking = s.user == 0 || s.flags&flagSharedUser != 0
		}
		if !lacking {
			continue
		}
		switch {
		case rank < bestRank:
			best, bestRank, nBest = seq, rank, 1
		case rank == bestRank:
			best = seq // older: the walk goes from newest to oldest
			nBest++
		}
	}
	switch {
	case nBest == 0 && candidates == 0:
		return 0, findNone
	case nBest == 0:
		return 0, findDuplicate
	}
	if nBest > 1 {
		j.stats.Ambiguous++
	}
	if j.w.at(best).flags&flagDelivered != 0 {
		return best, findLate
	}
	return best, findOK
}

// framesPart interns frames as a part.
func (j *Joiner[T]) framesPart(frames []uint64) part {
	return part(j.intern(frames))
}

func (j *Joiner[T]) intern(frames []uint64) ID {
	if j.table.Len() > int(maxIndex) {
		if id, ok := j.table.Lookup(frames); ok {
			return id
		}
		j.stats.Dropped++
		return 0
	}
	return j.table.Intern(frames)
}

// keyPart starts or joins a use of key in table t.
func (j *Joiner[T]) keyPart(t keyTable, key uint64) part {
	if uint64(len(j.keys.lifetimes)) >= maxIndex && j.keys.live[t].get(key) == 0 {
		j.stats.Dropped++
		return 0
	}
	return keyBit | part(j.keys.ref(t, key))
}

// advance moves the stream clock to ts (it never goes back), delivers the
// events a window behind it and forgets those delivered a window earlier.
func (j *Joiner[T]) advance(ts int64) {
	if !j.started || ts > j.now {
		j.now, j.started = ts, true
	}
	limit := minus(j.now, j.ticks)
	for j.w.deliver < j.w.end && j.w.at(j.w.deliver).ts < limit {
		j.deliverNext()
	}
	forget := minus(limit, j.ticks)
	for j.w.first < j.w.deliver && j.w.at(j.w.first).ts < forget {
		j.w.dropFirst()
	}
}

func minus(t, d int64) int64 {
	if t < math.MinInt64+d {
		return math.MinInt64
	}
	return t - d
}

// deliverNext hands the oldest held event to the callback.
func (j *Joiner[T]) deliverNext() {
	s := j.w.at(j.w.deliver)
	j.w.deliver++
	c := composite{kernel: j.settle(s.kernel), user: j.settle(s.user), pid: s.pid}
	ref := j.comp.intern(c)
	switch {
	case c.kernel == 0 && c.user == 0:
		j.stats.NoStack++
	case c.user == 0:
		j.stats.KernelOnly++
	case c.kernel == 0:
		j.stats.UserOnly++
	}
	j.stats.Delivered++
	v := s.v
	var zero T
	s.v = zero
	s.flags |= flagDelivered
	j.curTID, j.curPID, j.curKnown = s.tid, s.pid, s.flags&flagThread != 0
	j.deliver(v, ref)
}

// settle replaces a key part whose key is defined by its frames, so that
// equal stacks share a Ref whenever the definition came in time.
func (j *Joiner[T]) settle(p part) part {
	if !p.isKey() {
		return p
	}
	if id, ok := j.keys.resolved(p.lifetime()); ok {
		return part(id)
	}
	return p
}

// Finish delivers the events still held, resolves what the key
// definitions allow and releases the window. After Finish, Resolve, Stack
// and Parts answer for every Ref handed out; Hold and Observe do nothing.
func (j *Joiner[T]) Finish() {
	if j.finished {
		return
	}
	for j.w.deliver < j.w.end {
		j.deliverNext()
	}
	j.finished = true
	j.w = window[T]{}
	lts, refs := j.keys.unresolved()
	j.stats.UnresolvedKeys = lts[kernelKeys] + lts[userKeys] + lts[anyKeys]
	j.stats.UnresolvedKernelRefs = refs[kernelKeys] + refs[anyKeys]
	j.stats.UnresolvedUserRefs = refs[userKeys]
	for i := range j.keys.live {
		j.keys.live[i] = u64map{}
	}

	full := make([]ID, len(j.comp.list))
	for r, c := range j.comp.list {
		k, u := j.partFrames(c.kernel), j.partFrames(c.user)
		switch {
		case len(u) == 0:
			full[r] = j.partID(c.kernel)
		case len(k) == 0:
			full[r] = j.partID(c.user)
		default:
			j.scratch = append(append(j.scratch[:0], k...), u...)
			full[r] = j.intern(j.scratch)
		}
	}
	j.comp.full = full
	j.comp.index = nil
	j.comp.recent = nil
	distinct := make(map[ID]struct{}, len(full))
	for _, id := range full {
		distinct[id] = struct{}{}
	}
	j.stats.Stacks = len(distinct)
	j.scratch = nil
}

// partID returns the frame list a part resolves to (0 when it is nothing
// or its key was never defined).
func (j *Joiner[T]) partID(p part) ID {
	if p.isKey() {
		id, _ := j.keys.resolved(p.lifetime())
		return id
	}
	return p.id()
}

func (j *Joiner[T]) partFrames(p part) []uint64 { return j.table.Frames(j.partID(p)) }

// Resolve returns the frames of ref, innermost first: the kernel part
// followed by the user part; the kernel part alone when the user part
// never came or its key was never defined (the user part alone when that
// befell the kernel part); nil for Ref 0. It is valid after Finish (nil
// before), allocates nothing, and the slice belongs to the table.
func (j *Joiner[T]) Resolve(ref Ref) []uint64 {
	return j.table.Frames(j.Stack(ref))
}

// Stack returns the ID, in Table, of the resolved stack of ref: equal for
// Refs whose stacks are equal. It is 0 before Finish.
func (j *Joiner[T]) Stack(ref Ref) ID {
	if int(ref) >= len(j.comp.full) {
		return 0
	}
	return j.comp.full[ref]
}

// Parts returns the kernel and the user part of ref, each innermost first,
// as far as they resolved; valid after Finish.
func (j *Joiner[T]) Parts(ref Ref) (kernelPart, userPart []uint64) {
	c, ok := j.comp.get(ref)
	if !ok || !j.finished {
		return nil, nil
	}
	return j.partFrames(c.kernel), j.partFrames(c.user)
}

// Process returns the process whose address space the user part of ref
// belongs to, 0 when it has none: user frames must be named in that
// process, kernel frames in any.
func (j *Joiner[T]) Process(ref Ref) uint32 {
	c, _ := j.comp.get(ref)
	return c.pid
}

// NumRefs returns the number of Refs handed out so far, Ref 0 included;
// Refs run from 0 to NumRefs()-1.
func (j *Joiner[T]) NumRefs() int { return len(j.comp.list) }

// kernelPrefix returns the number of leading kernel-address frames: the
// kernel part of a stack, whose remaining frames are its user part.
func kernelPrefix(frames []uint64, ptr int) int {
	for i, f := range frames {
		if !kernel.IsKernelAddress(f, ptr) {
			return i
		}
	}
	return len(frames)
}

// appendFrames appends the little-endian pointers of b to dst.
func appendFrames(dst []uint64, b []byte, ptr int) []uint64 {
	for ; len(b) >= ptr; b = b[ptr:] {
		if ptr == 4 {
			dst = append(dst, uint64(binary.LittleEndian.Uint32(b)))
		} else {
			dst = append(dst, binary.LittleEndian.Uint64(b))
		}
	}
	return dst
}
