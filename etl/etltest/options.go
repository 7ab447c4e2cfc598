package etltest

import (
	"errors"
	"fmt"
	"time"

	"github.com/poolprof/poolprof/etl"
)

// Options describe the session that "wrote" the file: everything that ends up
// in the logfile header (TRACE_LOGFILE_HEADER) and in the buffer headers.
//
// The zero value of every field means "the default", so Options{} gives a
// small, plausible 64-bit raw kernel-logger file. Defaults are fixed values
// rather than anything taken from the running machine, so that the same
// recipe always produces the same bytes and fixtures can be committed.
type Options struct {
	// PointerSize is 4 or 8 (default 8). It picks the header record kind
	// (SYSTEM32 or SYSTEM64) and with it the 32- or 64-bit layout of
	// TRACE_LOGFILE_HEADER, and the PointerSize field.
	PointerSize int

	// CPUs is the number of processors (default 1, at most 2048 because the
	// buffer header's processor index has 11 bits). Records are added to
	// CPU 0..CPUs-1; each CPU owns its own chain of buffers.
	CPUs int

	// BufferSize is the session's logical buffer size in bytes (default
	// 64 KiB). It must be a multiple of 8 so that a record can fill a buffer
	// exactly, and large enough to hold the logfile header record.
	// Uncompressed buffers occupy exactly this many bytes in the file.
	BufferSize int

	// Compressed makes every data buffer XPRESS-compressed (BufferFlag 0x40)
	// and adds EVENT_TRACE_COMPRESSED_MODE|EVENT_TRACE_RELOG_MODE to
	// LogFileMode, as a relogger does. The header buffer stays raw and, as in
	// relogged files, is trimmed to its data rounded up to 512 bytes.
	Compressed bool

	// ClockType is the session clock (TRACE_LOGFILE_HEADER.ReservedFlags).
	// Zero means etl.ClockQPC; etl.ClockSystemTime and etl.ClockCPUCycle
	// are the other choices. (A file with clock type 0 cannot be built: it
	// is indistinguishable from "unset" here and Windows does not write it.)
	ClockType etl.ClockType

	// PerfFreq is the QPC frequency (default 10 MHz, as in every sample).
	PerfFreq int64

	// CPUSpeedMHz is CpuSpeedInMHz (default 3000); it is the tick rate of
	// the cycle-counter clock.
	CPUSpeedMHz uint32

	// StartTime is the wall-clock time of the header event's timestamp
	// (default DefaultStartTime). Stored as a FILETIME, so it keeps 100 ns
	// resolution.
	StartTime time.Time

	// EndTime is written as EndTime. Zero means: StartTime plus the span
	// from the header event to the latest record timestamp added.
	EndTime time.Time

	// BootTime defaults to one hour before StartTime.
	BootTime time.Time

	// OSMajor, OSMinor and OSBuild are the Windows version (default
	// 10.0 build 19045): Version bytes 0-1 and ProviderVersion.
	OSMajor, OSMinor uint8
	OSBuild          uint32

	// FormatMajor and FormatMinor are the trace format, Version bytes 2-3.
	// Both zero means 1.5 for raw files and 2.0 for compressed (relogged)
	// ones, which is what Windows 10 writes.
	FormatMajor, FormatMinor uint8

	// LoggerName and LogFileName are the two strings after the fixed
	// header (defaults DefaultLoggerName, DefaultLogFileName).
	LoggerName  string
	LogFileName string

	// LoggerNameField and LogFileNameField are the values written in the
	// two pointer-sized LoggerName/LogFileName slots of the fixed header.
	// They are not pointers in files: raw Windows 10 files hold small
	// integers there (5 and 7 in the dissect sample), relogged files 0.
	LoggerNameField, LogFileNameField uint64

	EventsLost  uint32
	BuffersLost uint32

	// TimerResolution in 100 ns units (default 156250, 15.625 ms).
	TimerResolution uint32
	// MaximumFileSize in MB; 0 is written as 0.
	MaximumFileSize uint32

	// LogFileMode holds the EVENT_TRACE_* mode bits. Zero means
	// etl.ModeSequential. Compressed adds its bits on top.
	LogFileMode uint32

	// StartBuffers defaults to 1, the value observed in every sample.
	StartBuffers uint32

	// LoggerID is ClientContext.LoggerId of every buffer (0 in relogged
	// files, a small session number otherwise). Zero is written as 0.
	LoggerID uint16

	// TimeZone is written as TRACE_LOGFILE_HEADER.TimeZone.
	TimeZone TimeZone

	// HeaderRecord holds the header fields of the logfile header event
	// that do not come from the options above; its Timestamp is T0, the
	// raw timestamp that StartTime anchors.
	HeaderRecord HeaderRecord
}

// HeaderRecord is the part of the logfile header event's SYSTEM_TRACE_HEADER
// a test may want to choose. All zero by default.
type HeaderRecord struct {
	// Timestamp is T0: the raw timestamp of the header event, which
	// StartTime corresponds to. Readers convert event timestamps with
	// StartTime + (ts - T0) * scale.
	Timestamp  int64
	ThreadID   uint32
	ProcessID  uint32
	KernelTime uint32
	UserTime   uint32
}

// TimeZone is RTL_TIME_ZONE_INFORMATION as it is embedded in the logfile
// header (172 bytes). Names longer than 31 UTF-16 units are truncated.
type TimeZone struct {
	Bias         int32 // minutes; UTC = local + Bias
	StandardName string
	StandardDate SystemTime
	StandardBias int32
	DaylightName string
	DaylightDate SystemTime
	DaylightBias int32
}

// SystemTime is the Windows SYSTEMTIME structure (eight u16). In a time
// zone it describes a transition rule, not a date.
type SystemTime struct {
	Year, Month, DayOfWeek, Day, Hour, Minute, Second, Milliseconds uint16
}

// Defaults used for zero Options fields.
var (
	// DefaultStartTime is an arbitrary fixed instant, so that output does
	// not depend on the clock of the machine running the test.
	DefaultStartTime = time.Date(2024, time.March, 5, 10, 20, 30, 0, time.UTC)
)

// Defaults used for zero Options fields.
const (
	DefaultPointerSize     = 8
	DefaultCPUs            = 1
	DefaultBufferSize      = 64 << 10
	DefaultPerfFreq        = 10_000_000
	DefaultCPUSpeedMHz     = 3000
	DefaultOSBuild         = 19045
	DefaultTimerResolution = 156250
	DefaultLoggerName      = "NT Kernel Logger"
	DefaultLogFileName     = `C:\Windows\Temp\poolprof.etl`

	// MaxCPUs is the largest processor count the buffer header can name
	// (ETW_PROCESSOR_INDEX_MASK is 0x07FF).
	MaxCPUs = 0x800
)

// withDefaults returns a copy of o with every zero field replaced by its
// default, or an error for values no Windows writer produces.
func (o Options) withDefaults() (Options, error) {
	if o.PointerSize == 0 {
		o.PointerSize = DefaultPointerSize
	}
	if o.PointerSize != 4 && o.PointerSize != 8 {
		return o, fmt.Errorf("etltest: pointer size %d, want 4 or 8", o.PointerSize)
	}
	if o.CPUs == 0 {
		o.CPUs = DefaultCPUs
	}
	if o.CPUs < 0 || o.CPUs > MaxCPUs {
		return o, fmt.Errorf("etltest: %d CPUs, want 1..%d", o.CPUs, MaxCPUs)
	}
	if o.BufferSize == 0 {
		o.BufferSize = DefaultBufferSize
	}
	if o.BufferSize <= BufferHeaderSize || o.BufferSize%8 != 0 || int64(o.BufferSize) > 1<<31 {
		return o, fmt.Errorf("etltest: buffer size %#x, want a multiple of 8 above %#x", o.BufferSize, BufferHeaderSize)
	}
	switch o.ClockType {
	case 0:
		o.ClockType = etl.ClockQPC
	case etl.ClockQPC, etl.ClockSystemTime, etl.ClockCPUCycle:
	default:
		return o, fmt.Errorf("etltest: clock type %d, want 1, 2 or 3", o.ClockType)
	}
	if o.PerfFreq == 0 {
		o.PerfFreq = DefaultPerfFreq
	}
	if o.PerfFreq < 0 {
		return o, errors.New("etltest: negative PerfFreq")
	}
	if o.CPUSpeedMHz == 0 {
		o.CPUSpeedMHz = DefaultCPUSpeedMHz
	}
	if o.StartTime.IsZero() {
		o.StartTime = DefaultStartTime
	}
	if o.BootTime.IsZero() {
		o.BootTime = o.StartTime.Add(-time.Hour)
	}
	if o.OSMajor == 0 && o.OSMinor == 0 {
		o.OSMajor = 10
	}
	if o.OSBuild == 0 {
		o.OSBuild = DefaultOSBuild
	}
	if o.FormatMajor == 0 && o.FormatMinor == 0 {
		o.FormatMajor, o.FormatMinor = 1, 5
		if o.Compressed {
			o.FormatMajor, o.FormatMinor = 2, 0
		}
	}
	if o.LoggerName == "" {
		o.LoggerName = DefaultLoggerName
	}
	if o.LogFileName == "" {
		o.LogFileName = DefaultLogFileName
	}
	if o.TimerResolution == 0 {
		o.TimerResolution = DefaultTimerResolution
	}
	if o.LogFileMode == 0 {
		o.LogFileMode = etl.ModeSequential
	}
	if o.Compressed {
		o.LogFileMode |= etl.ModeCompressed | etl.ModeRelog
	}
	if o.StartBuffers == 0 {
		o.StartBuffers = 1
	}
	return o, nil
}

// headerKind is the kind of the logfile header record: the pointer size of
// the logger decides it.
func (o *Options) headerKind() etl.HeaderKind {
	if o.PointerSize == 4 {
		return etl.KindSystem32
	}
	return etl.KindSystem64
}
