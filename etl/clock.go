package etl

import (
	"math/bits"
	"strconv"
	"time"
)

// ClockType is the session clock that raw timestamps count in
// (TRACE_LOGFILE_HEADER.ReservedFlags).
type ClockType uint32

// Clock types.
const (
	ClockRaw        ClockType = 0 // treated as QPC when PerfFreq is set
	ClockQPC        ClockType = 1 // QueryPerformanceCounter ticks at PerfFreq
	ClockSystemTime ClockType = 2 // 100 ns FILETIME units
	ClockCPUCycle   ClockType = 3 // CPU cycles at CpuSpeedInMHz
)

func (c ClockType) String() string {
	switch c {
	case ClockRaw:
		return "raw"
	case ClockQPC:
		return "QPC"
	case ClockSystemTime:
		return "system time"
	case ClockCPUCycle:
		return "CPU cycles"
	}
	return "clock " + strconv.Itoa(int(c))
}

// filetimeUnixOffset is the number of 100 ns intervals from 1601-01-01 to
// 1970-01-01.
const filetimeUnixOffset = 116444736000000000

// FiletimeToTime converts a Windows FILETIME (100 ns since 1601, UTC).
func FiletimeToTime(ft int64) time.Time {
	d := ft - filetimeUnixOffset
	sec, rem := d/10_000_000, d%10_000_000
	if rem < 0 {
		sec--
		rem += 10_000_000
	}
	return time.Unix(sec, rem*100).UTC()
}

// TimeToFiletime converts t to a Windows FILETIME.
func TimeToFiletime(t time.Time) int64 {
	return t.Unix()*10_000_000 + int64(t.Nanosecond())/100 + filetimeUnixOffset
}

// timeBase converts raw timestamps to FILETIME: the anchor pairs the
// header event's raw timestamp with the header's StartTime.
type timeBase struct {
	anchorRaw int64  // T0, raw timestamp of the logfile header event
	anchorFT  int64  // StartTime
	num, den  uint64 // FILETIME ticks per raw tick = num/den
}

func newTimeBase(h *LogfileHeader, anchorRaw int64) timeBase {
	return timeBase{anchorRaw: anchorRaw, anchorFT: h.StartTime, num: 10_000_000, den: uint64(h.TicksPerSecond())}
}

// TicksPerSecond is the rate of the raw timestamps: PerfFreq for the QPC
// clock (and for the raw clock when PerfFreq is set), 10 MHz for system
// time, CpuSpeedInMHz for CPU cycles. It is 10 MHz when the header does
// not say, so that a damaged header still yields usable times.
func (h *LogfileHeader) TicksPerSecond() int64 {
	switch {
	case h.ClockType == ClockSystemTime:
		return 10_000_000
	case h.ClockType == ClockCPUCycle && h.CPUSpeedMHz != 0:
		return int64(h.CPUSpeedMHz) * 1_000_000
	case h.PerfFreq > 0:
		return h.PerfFreq
	}
	return 10_000_000
}

// filetime returns the FILETIME of raw timestamp ts, with a 128-bit
// intermediate product so that long traces at high clock rates do not
// overflow or drift.
func (tb timeBase) filetime(ts int64) int64 {
	d := ts - tb.anchorRaw
	neg := d < 0
	u := uint64(d)
	if neg {
		u = uint64(-d)
	}
	hi, lo := bits.Mul64(u, tb.num)
	var q uint64
	if hi >= tb.den {
		q = 1<<63 - 1 // saturate: no real trace gets here
	} else {
		q, _ = bits.Div64(hi, lo, tb.den)
		if q > 1<<62 {
			q = 1 << 62
		}
	}
	if neg {
		return tb.anchorFT - int64(q)
	}
	return tb.anchorFT + int64(q)
}
