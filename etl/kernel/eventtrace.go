package kernel

import "github.com/poolprof/poolprof/etl"

// TraceHeader is the EventTrace Header event (opcode 0), whose payload is
// TRACE_LOGFILE_HEADER. The etl package decodes the first one itself to
// set up the file; this light decoder is for the header events a merged
// file repeats and for tools that show them. Only the first Header of a
// file defines the time base.
type TraceHeader struct {
	BufferSize         uint32
	Version            [4]byte // OS major, minor; trace format (e.g. 1.5 raw, 2.0 relogged)
	ProviderVersion    uint32  // OS build number
	NumberOfProcessors uint32
	EndTime            int64 // FILETIME; not an upper bound on event times in merged files
	TimerResolution    uint32
	MaximumFileSize    uint32
	LogFileMode        uint32
	BuffersWritten     uint32
	StartBuffers       uint32
	PointerSize        uint32
	EventsLost         uint32
	CpuSpeedInMHz      uint32
	TimeZoneBias       int32 // minutes, UTC = local + bias
	BootTime           int64 // FILETIME
	PerfFreq           int64
	StartTime          int64  // FILETIME of the header event's own timestamp
	ClockType          uint32 // ReservedFlags: 1 QPC, 2 system time, 3 CPU cycles
	BuffersLost        uint32
	LoggerName         Str
	LogFileName        Str

	Used int // payload bytes the fields above cover
}

// Decode fills h from an EventTrace opcode 0 event. The layout follows the
// record's pointer size (fixed part 0x118 bytes for 64-bit, 0x110 for
// 32-bit). On error h is undefined.
func (h *TraceHeader) Decode(ev *etl.Event) error {
	k, _, err := resolve(ev, KindTraceHeader, KindTraceHeader)
	if err != nil {
		return err
	}
	c := newCursor(ev.Payload, ev.Kind.PointerSize())
	*h = TraceHeader{}
	h.BufferSize = c.u32("BufferSize")
	if v := c.take(4, "Version"); v != nil {
		h.Version = [4]byte(v)
	}
	h.ProviderVersion = c.u32("ProviderVersion")
	h.NumberOfProcessors = c.u32("NumberOfProcessors")
	h.EndTime = int64(c.u64("EndTime"))
	h.TimerResolution = c.u32("TimerResolution")
	h.MaximumFileSize = c.u32("MaximumFileSize")
	h.LogFileMode = c.u32("LogFileMode")
	h.BuffersWritten = c.u32("BuffersWritten")
	h.StartBuffers = c.u32("StartBuffers")
	h.PointerSize = c.u32("PointerSize")
	h.EventsLost = c.u32("EventsLost")
	h.CpuSpeedInMHz = c.u32("CpuSpeedInMHz")
	// LoggerName and LogFileName hold small integers in files, not
	// pointers; the strings follow the fixed part.
	c.skip(2*c.ptr, "LoggerName/LogFileName")
	h.TimeZoneBias = int32(c.u32("TimeZone"))
	c.skip(172-4+4, "TimeZone") // rest of RTL_TIME_ZONE_INFORMATION + 4 bytes padding
	h.BootTime = int64(c.u64("BootTime"))
	h.PerfFreq = int64(c.u64("PerfFreq"))
	h.StartTime = int64(c.u64("StartTime"))
	h.ClockType = c.u32("ReservedFlags")
	h.BuffersLost = c.u32("BuffersLost")
	h.LoggerName = c.wstr()
	h.LogFileName = c.wstr()
	h.Used = c.off
	return c.err(ev, k)
}

// Kernel trace flags (EVENT_TRACE_FLAG_* and ntwmi.h PERF_*) as they
// appear in TraceExtension group masks: the top three bits select the
// mask, the other 29 are bits within it.
const (
	FlagProcess   uint32 = 0x00000001 // EVENT_TRACE_FLAG_PROCESS
	FlagThread    uint32 = 0x00000002 // EVENT_TRACE_FLAG_THREAD
	FlagImageLoad uint32 = 0x00000004 // EVENT_TRACE_FLAG_IMAGE_LOAD (PERF_LOADER)
	FlagMemory    uint32 = 0x20000001 // PERF_MEMORY
	FlagProfile   uint32 = 0x20000002 // PERF_PROFILE
	FlagPool      uint32 = 0x20000040 // PERF_POOL: PoolTrace events
	FlagPoolTrace uint32 = 0x20000041 // PERF_POOLTRACE = PERF_POOL | PERF_MEMORY
)

// TraceExtension is the EventTrace Extension (opcode 5) or EndExtension
// (32) event: the kernel group masks in force, which tell whether the
// trace could hold pool events at all.
type TraceExtension struct {
	GroupMasks [8]uint32
	// KernelEventVersion is absent (HasKernelEventVersion false) from
	// older 32-byte records.
	KernelEventVersion    uint32
	HasKernelEventVersion bool

	Used int // payload bytes the fields above cover
}

// Decode fills x from an EventTrace opcode 5 or 32 event. On error x is
// undefined.
func (x *TraceExtension) Decode(ev *etl.Event) error {
	k, _, err := resolve(ev, KindTraceExtension, KindTraceEndExtension)
	if err != nil {
		return err
	}
	c := newCursor(ev.Payload, ev.Kind.PointerSize())
	*x = TraceExtension{}
	for i := range x.GroupMasks {
		x.GroupMasks[i] = c.u32("GroupMask")
	}
	if c.remaining() >= 4 {
		x.KernelEventVersion = c.u32("KernelEventVersion")
		x.HasKernelEventVersion = true
	}
	x.Used = c.off
	return c.err(ev, k)
}

// Enabled reports whether every bit of flag (one of the Flag constants) is
// set in its group mask.
func (x *TraceExtension) Enabled(flag uint32) bool {
	bits := flag & 0x1FFFFFFF
	return x.GroupMasks[flag>>29]&bits == bits
}

// PartitionInfo is the EventTrace PartitionInfoExtension event (opcode
// 80), which places the trace's host or container partition.
type PartitionInfo struct {
	EventVersion      uint16
	PartitionType     uint32
	QpcOffsetFromRoot int64
	PartitionID       etl.GUID
	ParentID          etl.GUID

	Used int // payload bytes the fields above cover
}

// Decode fills pi from an EventTrace opcode 80 event. On error pi is
// undefined.
func (pi *PartitionInfo) Decode(ev *etl.Event) error {
	k, _, err := resolve(ev, KindPartitionInfo, KindPartitionInfo)
	if err != nil {
		return err
	}
	c := newCursor(ev.Payload, ev.Kind.PointerSize())
	*pi = PartitionInfo{}
	pi.EventVersion = c.u16("EventVersion")
	c.skip(2, "Reserved")
	pi.PartitionType = c.u32("PartitionType")
	pi.QpcOffsetFromRoot = int64(c.u64("QpcOffsetFromRoot"))
	pi.PartitionID = c.guid("PartitionId")
	pi.ParentID = c.guid("ParentId")
	pi.Used = c.off
	return c.err(ev, k)
}
