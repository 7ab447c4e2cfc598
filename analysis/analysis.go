package analysis

import (
	"io"
	"math"
	"math/bits"
	"time"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/etl/kernel"
	"github.com/poolprof/poolprof/pool"
	"github.com/poolprof/poolprof/stacks"
)

// Options configure Run.
type Options struct {
	// Pool configures the tracker: window (raw timestamps; see Offset),
	// filters, closed groups, time series.
	Pool pool.Options
	// StackWindow is how long after an event its stack parts may still
	// arrive; 0 means the stacks package's default (2 s of trace time).
	StackWindow time.Duration
	// Progress, when set, is called now and then with the file bytes
	// read so far.
	Progress func(bytesRead int64)
}

// Result is what Run found.
type Result struct {
	File    *etl.File
	Pool    *pool.Result
	Modules *stacks.Modules
	// Stacks resolves the Stack references of pool allocations (Ref 0 is
	// no stack) into frames, innermost first.
	Stacks stacks.Resolver
	Health Health
}

// progressEvery is how many events pass between progress calls.
const progressEvery = 1 << 16

// Offset converts an offset from the start of the trace to a raw
// timestamp of f, for pool windows.
func Offset(f *etl.File, d time.Duration) int64 {
	rate := f.Header.TicksPerSecond()
	sec := int64(d / time.Second)
	frac := int64(d % time.Second)
	if sec > 0 && rate > (math.MaxInt64/4)/sec {
		return math.MaxInt64 // past any trace: a hostile header's rate
	}
	hi, lo := bits.Mul64(uint64(frac), uint64(rate))
	part, _ := bits.Div64(hi, lo, uint64(time.Second)) // hi < 1e9: no overflow
	off := sec*rate + int64(part)
	if start := f.StartTimestamp(); off <= math.MaxInt64-start {
		return start + off
	}
	return math.MaxInt64
}

// Run reads f once in time order and analyses its pool events.
func Run(f *etl.File, opts Options) (*Result, error) {
	tracker := pool.NewTracker(opts.Pool)
	rate := f.Header.TicksPerSecond()
	var window int64
	if opts.StackWindow > 0 {
		window = int64(opts.StackWindow.Seconds() * float64(rate))
	}
	var joiner *stacks.Joiner[pool.Event]
	joiner = stacks.NewJoiner(stacks.Options{TicksPerSecond: rate, Window: window}, func(v pool.Event, ref stacks.Ref) {
		v.Stack = uint32(ref)
		if v.PID == pool.UnknownPID {
			// A PERFINFO header has no process: its stack event names it.
			if _, pid, ok := joiner.DeliveredThread(); ok {
				v.PID = pid
			}
		}
		tracker.Add(&v)
	})
	mods := stacks.NewModules()
	h := newHealthCounter()

	r := f.NewReader(etl.OrderTime)
	var (
		ev etl.Event
		pe kernel.PoolEvent
	)
	for n := 0; ; n++ {
		if err := r.Next(&ev); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		if opts.Progress != nil && n%progressEvery == 0 {
			opts.Progress(r.Stats().BytesRead)
		}
		k := kernel.Lookup(&ev)
		switch k {
		case kernel.KindPoolAlloc, kernel.KindPoolFree, kernel.KindPoolSnapshot:
			if err := pe.Decode(&ev); err != nil {
				h.undecoded(&ev, err)
				continue
			}
			joiner.Hold(&ev, poolEvent(&ev, &pe))
			continue
		case kernel.KindPoolPage:
			h.unused(&ev)
			continue
		}
		if joiner.Observe(&ev) || mods.Observe(&ev) {
			continue
		}
		if k == kernel.KindUnknown && ev.IsKernel() && ev.Group == etl.GroupPool {
			h.undecoded(&ev, nil)
		}
	}
	if opts.Progress != nil {
		opts.Progress(r.Stats().BytesRead)
	}
	joiner.Finish()
	mods.Finish()
	res := &Result{File: f, Pool: tracker.Finish(), Modules: mods, Stacks: joiner}
	res.Health = h.finish(f, r, joiner.Stats(), mods.Stats(), &res.Pool.Health)
	return res, nil
}

// poolEvent turns a decoded PoolTrace event into the tracker's input.
func poolEvent(ev *etl.Event, pe *kernel.PoolEvent) pool.Event {
	op, session := pool.OpcodeOp(uint8(pe.Op))
	pid := ev.ProcessID
	if !ev.HasThread() {
		pid = pool.UnknownPID
	}
	return pool.Event{
		Time:      ev.Timestamp,
		Op:        op,
		Session:   session || pe.PoolType.Session(),
		SessionID: pe.SessionID,
		PoolType:  uint32(pe.PoolType),
		Tag:       uint32(pe.Tag),
		Size:      pe.NumberOfBytes,
		Addr:      pe.Entry,
		PID:       pid,
	}
}
