package tokeleak

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/etl/etltest"
)

// Options choose the example's size. The zero value is the bundled
// example's recipe except for compression: see Committed.
type Options struct {
	// Compressed writes XPRESS-compressed buffers, as a relogged (merged)
	// WPR trace has them.
	Compressed bool
	// Leaked is the number of leaked 1664-byte Toke allocations (default
	// DefaultLeaked, the story's 6,043).
	Leaked int
	// Background is the number of background allocations, about (default
	// DefaultBackground); AOFI frees and edge cases come on top.
	Background int
	// Duration is the trace's length (default 20 minutes, at least 10
	// seconds).
	Duration time.Duration
	// Seed seeds the generator (default DefaultSeed).
	Seed uint64
}

// Committed is the recipe of testdata/example/tokeleak.etl.
var Committed = Options{Compressed: true}

// Defaults and fixed facts of the trace.
const (
	DefaultBackground = 3000
	DefaultDuration   = 20 * time.Minute
	DefaultSeed       = 0x70_6f6f6c_70726f66 // "poolprof"

	// CPUs is the number of processors the trace was taken on.
	CPUs = 4
	// BufferSize is the session's buffer size.
	BufferSize = 64 << 10
	// T0 is the raw timestamp of the logfile header event: the QPC value
	// (10 MHz) one hour after boot, when the trace starts.
	T0 = 36_000_000_000
	// TicksPerSecond is the QPC frequency.
	TicksPerSecond = 10_000_000
	// LogFileName is the name in the logfile header.
	LogFileName = `C:\Windows\TEMP\PoolUsage.etl`
)

// Timeline, in ticks after T0.
const (
	rundownStart = 1 * ms  // DCStart rundown
	poolStart    = 10 * ms // first pool event at or after
	poolTail     = 50 * ms // last pool event at least this long before the end
	keyTail      = 20 * ms // KeyRundown this long before the end
)

func (o Options) withDefaults() (Options, error) {
	if o.Leaked == 0 {
		o.Leaked = DefaultLeaked
	}
	if o.Background == 0 {
		o.Background = DefaultBackground
	}
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	if o.Leaked < 0 || o.Background < 0 {
		return o, errors.New("tokeleak: negative count")
	}
	if o.Duration < 10*time.Second {
		return o, fmt.Errorf("tokeleak: duration %v shorter than 10s", o.Duration)
	}
	return o, nil
}

// Build writes the example trace to w and returns what it holds.
func Build(w io.Writer, opts Options) (*Truth, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	dur := int64(o.Duration / 100) // ticks
	g := &gen{o: o, r: newRNG(o.Seed), start: poolStart, end: dur - poolTail, addrs: newAddressSpace()}
	g.story()
	g.background()
	g.edges()
	ops, err := g.schedule()
	if err != nil {
		return nil, err
	}

	em := &emitter{t: newTruth(o)}
	em.t.Images = g.rundown(em)
	st, err := g.emitPool(em, ops, dur-keyTail)
	if err != nil {
		return nil, err
	}

	b, err := etltest.NewWriter(w, etltest.Options{
		CPUs:         CPUs,
		BufferSize:   BufferSize,
		Compressed:   o.Compressed,
		EventsLost:   uint32(em.lostFrees(g)),
		LogFileName:  LogFileName,
		HeaderRecord: etltest.HeaderRecord{Timestamp: T0, ThreadID: 88, ProcessID: PIDSystem},
		EndTime:      etltest.DefaultStartTime.Add(o.Duration),
	})
	if err != nil {
		return nil, err
	}
	em.count(etltest.Record{Kind: etl.KindSystem64, HookID: etltest.HookEventTraceHeader})
	ext := extension()
	em.count(ext)
	if _, err := b.Add(etltest.HeaderBuffer, ext); err != nil {
		return nil, err
	}
	slices.SortStableFunc(em.recs, func(a, b pending) int {
		return cmp.Or(cmp.Compare(a.tick, b.tick), cmp.Compare(a.seq, b.seq))
	})
	for _, p := range em.recs {
		if _, err := b.Add(p.cpu, p.rec); err != nil {
			return nil, err
		}
	}
	if err := b.Close(); err != nil {
		return nil, err
	}
	em.t.finish(g, st)
	return em.t, nil
}

// pending is a record waiting to be added: records are added in timestamp
// order (creation order for equal timestamps), so every processor's
// buffers hold non-decreasing timestamps.
type pending struct {
	tick int64
	seq  int
	cpu  int
	rec  etltest.Record
}

// emitter collects the records and counts them.
type emitter struct {
	recs []pending
	t    *Truth
}

func (em *emitter) add(tick int64, cpu int, r etltest.Record) {
	r.Timestamp = T0 + tick
	em.recs = append(em.recs, pending{tick: tick, seq: len(em.recs), cpu: cpu, rec: r})
	em.count(r)
}

func (em *emitter) count(r etltest.Record) {
	em.t.Events.Total++
	if r.Kind.IsKernel() {
		em.t.Events.Hooks[r.HookID]++
	} else {
		em.t.Events.ImageID[r.Opcode]++
	}
}

func (em *emitter) lostFrees(g *gen) int {
	n := 0
	for _, a := range g.allocs {
		if a.lost {
			n++
		}
	}
	return n
}

// Kernel hook ids (Group<<8 | Type) of the records the example writes.
const (
	HookHeader         = 0x0000
	HookExtension      = 0x0005
	HookProcessDCStart = 0x0303
	HookImageLoad      = 0x030A
	HookThreadDCStart  = 0x0503
	HookPoolAlloc      = 0x0E20
	HookPoolAllocSess  = 0x0E21
	HookPoolFree       = 0x0E22
	HookPoolFreeSess   = 0x0E23
	HookImageDCStart   = 0x1403
	HookStack          = 0x1820
	HookKeyDelete      = 0x1823
	HookKeyRundown     = 0x1824
	HookStackKeyKernel = 0x1825
	HookStackKeyUser   = 0x1826
)

// KernelTraceControl ImageID opcodes.
const (
	OpImageID   = 0
	OpDbgIDRSDS = 36
)

// extension is the EventTrace Extension record Windows writes into the
// header buffer: the group masks in force (process, thread, image load;
// PERF_POOL) and the kernel event version.
func extension() etltest.Record {
	var e enc
	e.u32(0x00000007) // GroupMask1: PROCESS | THREAD | IMAGE_LOAD
	e.u32(0x00000040) // GroupMask2: PERF_POOL
	for range 6 {
		e.u32(0)
	}
	e.u32(60) // KernelEventVersion
	return etltest.Record{Kind: etl.KindSystem64, HookID: HookExtension, Version: 2,
		ThreadID: 88, ProcessID: PIDSystem, Timestamp: T0, Payload: e}
}

// rundown adds the DCStart rundown (processes, threads, images with their
// ImageID and DbgID events) at the start, and the load of late images. It
// returns the module map with load times.
func (g *gen) rundown(em *emitter) []Image {
	tick := int64(rundownStart)
	next := func() int64 { tick += 10; return tick }
	sys := etltest.Record{Kind: etl.KindSystem64, ThreadID: 88, ProcessID: PIDSystem}
	for i := range Processes {
		r := sys
		r.HookID, r.Version, r.Payload = HookProcessDCStart, 4, processPayload(&Processes[i])
		em.add(next(), 0, r)
	}
	for i := range Threads {
		r := sys
		r.HookID, r.Version, r.Payload = HookThreadDCStart, 3, threadPayload(&Threads[i])
		em.add(next(), 0, r)
	}
	images := Images()
	for i := range images {
		im := &images[i]
		r := sys
		r.HookID, r.Version, r.Payload = HookImageDCStart, 3, imagePayload(im)
		cpu, t := 0, int64(0)
		if im.Late {
			cpu, t = 1, g.at(lateLoad)
			r.HookID, r.ThreadID, r.ProcessID = HookImageLoad, 1112, im.PID
			im.LoadTime = T0 + t
		} else {
			t = next()
		}
		if im.IDFirst {
			em.imageID(t, cpu, im)
			em.add(t, cpu, r)
		} else {
			em.add(t, cpu, r)
			em.imageID(t, cpu, im)
		}
	}
	return images
}

// imageID adds the KernelTraceControl events of im at its image event's
// timestamp: ImageID and DbgID_RSDS, when the image has them.
func (em *emitter) imageID(tick int64, cpu int, im *Image) {
	r := etltest.Record{Kind: etl.KindFullHeader64, Version: 2, Provider: etl.ProviderKernelTraceControlImageID,
		ThreadID: 0xFFFFFFFF, ProcessID: im.PID}
	if im.OriginalName != "" {
		r.Opcode, r.Payload = OpImageID, imageIDPayload(im)
		em.add(tick, cpu, r)
	}
	if im.PDB != "" {
		r.Opcode, r.Payload = OpDbgIDRSDS, dbgIDPayload(im)
		em.add(tick, cpu, r)
	}
}

// poolPayload encodes ETW_POOL_EVENT (64-bit); session events append the
// session id.
func poolPayload(poolType, tag uint32, size, addr uint64, session uint32, withSession bool) []byte {
	var e enc
	e.u32(poolType)
	e.u32(tag)
	e.u64(size)
	e.u64(addr)
	if withSession {
		e.u32(session)
	}
	return e
}
