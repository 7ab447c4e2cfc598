package etltest

import (
	"math"
	"math/bits"
	"time"

	"github.com/poolprof/poolprof/etl"
)

// The session clock. Record timestamps are raw ticks of the clock named by
// Options.ClockType; the header event's timestamp T0 is the tick that
// StartTime corresponds to. Tests usually think in "so long after the start"
// and let Builder.Timestamp turn that into ticks, so that a test written for
// one clock type reads the same for another.

// filetimeUnixOffset is the number of 100 ns intervals from 1601-01-01 to
// 1970-01-01.
const filetimeUnixOffset = 116444736000000000

// filetime converts t to a Windows FILETIME (100 ns units since 1601, UTC).
func filetime(t time.Time) int64 {
	return t.Unix()*10_000_000 + int64(t.Nanosecond())/100 + filetimeUnixOffset
}

// ticksPerSecond is the rate of the session clock.
func (o *Options) ticksPerSecond() uint64 {
	switch o.ClockType {
	case etl.ClockSystemTime:
		return 10_000_000
	case etl.ClockCPUCycle:
		return uint64(o.CPUSpeedMHz) * 1_000_000
	}
	return uint64(o.PerfFreq)
}

// ticks converts a duration to session clock ticks, rounding toward zero.
func (o *Options) ticks(d time.Duration) int64 {
	return mulDiv(int64(d), o.ticksPerSecond(), 1_000_000_000)
}

// filetimeOf is the FILETIME of raw timestamp ts: the conversion every
// reader performs, StartTime + (ts - T0) * 10^7 / rate.
func (o *Options) filetimeOf(ts int64) int64 {
	return filetime(o.StartTime) + mulDiv(ts-o.HeaderRecord.Timestamp, 10_000_000, o.ticksPerSecond())
}

// mulDiv returns v*num/den with a 128-bit intermediate, rounding toward
// zero and saturating at the int64 range.
func mulDiv(v int64, num, den uint64) int64 {
	if den == 0 {
		return 0
	}
	neg := v < 0
	u := uint64(v)
	if neg {
		u = -u
	}
	hi, lo := bits.Mul64(u, num)
	if hi >= den {
		if neg {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, den)
	if q > math.MaxInt64 {
		q = math.MaxInt64
	}
	if neg {
		return -int64(q)
	}
	return int64(q)
}
