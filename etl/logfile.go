package etl

import (
	"encoding/binary"
	"time"
	"unicode/utf16"
)

// LogfileHeader holds TRACE_LOGFILE_HEADER, the payload of the EventTrace
// header event that opens every ETL file.
type LogfileHeader struct {
	// BufferSize is the session's logical buffer size in bytes. Buffers in
	// compressed or relogged files occupy less on disk.
	BufferSize uint32
	// OSMajor and OSMinor are the Windows version (e.g. 10.0); FormatMajor
	// and FormatMinor the trace format (1.5 raw, 2.0 relogged).
	OSMajor, OSMinor         uint8
	FormatMajor, FormatMinor uint8
	// OSBuild is the Windows build number (ProviderVersion).
	OSBuild         uint32
	NumProcessors   uint32
	EndTime         int64  // FILETIME, when the file was closed; not an upper bound on event times
	TimerResolution uint32 // 100 ns units
	MaximumFileSize uint32 // MB
	LogFileMode     uint32 // EVENT_TRACE_* mode bits
	BuffersWritten  uint32
	StartBuffers    uint32
	// PointerSize is the logger's pointer size, 4 or 8.
	PointerSize uint32
	EventsLost  uint32
	CPUSpeedMHz uint32
	// TimeZoneBias is the UTC bias in minutes (local = UTC - bias).
	TimeZoneBias int32
	BootTime     int64 // FILETIME
	PerfFreq     int64 // QPC frequency
	StartTime    int64 // FILETIME of the header event's raw timestamp
	ClockType    ClockType
	BuffersLost  uint32
	LoggerName   string
	LogFileName  string
}

// Log file mode bits (EVENT_TRACE_*_MODE) that change how a file reads.
const (
	ModeSequential         uint32 = 0x00000001
	ModeCircular           uint32 = 0x00000002
	ModeRealTime           uint32 = 0x00000100
	ModeRelog              uint32 = 0x00010000
	ModeSystemLogger       uint32 = 0x02000000
	ModeCompressed         uint32 = 0x04000000
	ModeIndependentSession uint32 = 0x08000000
)

// Circular reports whether the session wrote a circular log, whose buffers
// of one processor may wrap.
func (h *LogfileHeader) Circular() bool { return h.LogFileMode&ModeCircular != 0 }

// Start returns StartTime as a time.Time.
func (h *LogfileHeader) Start() time.Time { return FiletimeToTime(h.StartTime) }

// End returns EndTime as a time.Time.
func (h *LogfileHeader) End() time.Time { return FiletimeToTime(h.EndTime) }

// Boot returns BootTime as a time.Time.
func (h *LogfileHeader) Boot() time.Time { return FiletimeToTime(h.BootTime) }

// logfileFixedSize is the size of TRACE_LOGFILE_HEADER before the two
// strings, by pointer size.
func logfileFixedSize(ptr int) int {
	if ptr == 4 {
		return 0x110
	}
	return 0x118
}

// parseLogfileHeader decodes the payload of the EventTrace header event;
// ptr is the pointer size of the record that carries it. It reports false
// when the payload is too short.
func parseLogfileHeader(p []byte, ptr int) (LogfileHeader, bool) {
	var h LogfileHeader
	fixed := logfileFixedSize(ptr)
	if len(p) < fixed {
		return h, false
	}
	le := binary.LittleEndian
	h.BufferSize = le.Uint32(p[0x00:])
	h.OSMajor, h.OSMinor, h.FormatMajor, h.FormatMinor = p[0x04], p[0x05], p[0x06], p[0x07]
	h.OSBuild = le.Uint32(p[0x08:])
	h.NumProcessors = le.Uint32(p[0x0C:])
	h.EndTime = int64(le.Uint64(p[0x10:]))
	h.TimerResolution = le.Uint32(p[0x18:])
	h.MaximumFileSize = le.Uint32(p[0x1C:])
	h.LogFileMode = le.Uint32(p[0x20:])
	h.BuffersWritten = le.Uint32(p[0x24:])
	h.StartBuffers = le.Uint32(p[0x28:])
	h.PointerSize = le.Uint32(p[0x2C:])
	h.EventsLost = le.Uint32(p[0x30:])
	h.CPUSpeedMHz = le.Uint32(p[0x34:])
	// The two pointer-sized name fields at 0x38 are not pointers in files
	// and are skipped; everything after them shifts with the pointer size.
	tz := 0x38 + 2*ptr
	h.TimeZoneBias = int32(le.Uint32(p[tz:]))
	rest := tz + 172 + 4 // RTL_TIME_ZONE_INFORMATION (172 bytes), then padding to 8
	h.BootTime = int64(le.Uint64(p[rest:]))
	h.PerfFreq = int64(le.Uint64(p[rest+8:]))
	h.StartTime = int64(le.Uint64(p[rest+16:]))
	h.ClockType = ClockType(le.Uint32(p[rest+24:]))
	h.BuffersLost = le.Uint32(p[rest+28:])
	names := p[fixed:]
	var n int
	h.LoggerName, n = utf16String(names)
	h.LogFileName, _ = utf16String(names[n:])
	return h, true
}

// utf16String decodes a NUL-terminated UTF-16LE string at the start of b
// and returns it with the number of bytes consumed (terminator included).
// A missing terminator ends the string at the end of b.
func utf16String(b []byte) (string, int) {
	var u []uint16
	i := 0
	for ; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			return string(utf16.Decode(u)), i + 2
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u)), len(b)
}
