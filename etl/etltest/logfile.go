package etltest

import (
	"encoding/binary"
	"unicode/utf16"
)

// The logfile header event. An ETL file has no file header of its own: the
// first record of the first buffer is an EventTrace/Header event (hook
// 0x0000, version 2) whose payload is TRACE_LOGFILE_HEADER followed by the
// logger name and the log file name. Its layout depends on the logger's
// pointer size only through the two pointer-sized name slots at 0x38, which
// shift everything after them by 8 bytes in the 64-bit form.

// Offsets inside TRACE_LOGFILE_HEADER that do not depend on pointer size.
const (
	lfBufferSize      = 0x00
	lfVersion         = 0x04
	lfProviderVersion = 0x08
	lfNumProcessors   = 0x0C
	lfEndTime         = 0x10
	lfTimerResolution = 0x18
	lfMaximumFileSize = 0x1C
	lfLogFileMode     = 0x20
	lfBuffersWritten  = 0x24
	lfStartBuffers    = 0x28
	lfPointerSize     = 0x2C
	lfEventsLost      = 0x30
	lfCPUSpeed        = 0x34
	lfLoggerNamePtr   = 0x38

	timeZoneSize   = 172 // RTL_TIME_ZONE_INFORMATION
	timeZoneName   = 32  // WCHAR[32]
	systemTimeSize = 16
)

// HookEventTraceHeader is the hook id of the logfile header event
// (group 0 EventTrace, type 0 Header); HeaderEventVersion its version.
const (
	HookEventTraceHeader = 0x0000
	HeaderEventVersion   = 2
)

// LogfileHeaderSize is the size of TRACE_LOGFILE_HEADER before the two
// strings, for a logger of the given pointer size (0x118 or 0x110).
func LogfileHeaderSize(pointerSize int) int {
	return lfLoggerNamePtr + 2*pointerSize + timeZoneSize + 4 + 32
}

// headerRecord returns the logfile header event for the options, with the
// two values only known at the end of the build.
func headerRecord(o *Options, buffersWritten uint32, endTime int64) Record {
	h := o.HeaderRecord
	return Record{
		Kind:       o.headerKind(),
		HookID:     HookEventTraceHeader,
		Version:    HeaderEventVersion,
		ThreadID:   h.ThreadID,
		ProcessID:  h.ProcessID,
		Timestamp:  h.Timestamp,
		KernelTime: h.KernelTime,
		UserTime:   h.UserTime,
		Payload:    logfilePayload(o, buffersWritten, endTime),
	}
}

// logfilePayload encodes TRACE_LOGFILE_HEADER and the two names.
func logfilePayload(o *Options, buffersWritten uint32, endTime int64) []byte {
	le := binary.LittleEndian
	ptr := o.PointerSize
	fixed := LogfileHeaderSize(ptr)
	logger := utf16z(o.LoggerName)
	file := utf16z(o.LogFileName)
	p := make([]byte, fixed, fixed+len(logger)+len(file))

	le.PutUint32(p[lfBufferSize:], uint32(o.BufferSize))
	p[lfVersion+0] = o.OSMajor
	p[lfVersion+1] = o.OSMinor
	p[lfVersion+2] = o.FormatMajor
	p[lfVersion+3] = o.FormatMinor
	le.PutUint32(p[lfProviderVersion:], o.OSBuild)
	le.PutUint32(p[lfNumProcessors:], uint32(o.CPUs))
	le.PutUint64(p[lfEndTime:], uint64(endTime))
	le.PutUint32(p[lfTimerResolution:], o.TimerResolution)
	le.PutUint32(p[lfMaximumFileSize:], o.MaximumFileSize)
	le.PutUint32(p[lfLogFileMode:], o.LogFileMode)
	le.PutUint32(p[lfBuffersWritten:], buffersWritten)
	le.PutUint32(p[lfStartBuffers:], o.StartBuffers)
	le.PutUint32(p[lfPointerSize:], uint32(ptr))
	le.PutUint32(p[lfEventsLost:], o.EventsLost)
	le.PutUint32(p[lfCPUSpeed:], o.CPUSpeedMHz)
	putPointer(p[lfLoggerNamePtr:], ptr, o.LoggerNameField)
	putPointer(p[lfLoggerNamePtr+ptr:], ptr, o.LogFileNameField)

	tz := lfLoggerNamePtr + 2*ptr
	o.TimeZone.put(p[tz : tz+timeZoneSize])
	// 4 bytes of padding keep BootTime 8-aligned.
	rest := tz + timeZoneSize + 4
	le.PutUint64(p[rest:], uint64(filetime(o.BootTime)))
	le.PutUint64(p[rest+8:], uint64(o.PerfFreq))
	le.PutUint64(p[rest+16:], uint64(filetime(o.StartTime)))
	le.PutUint32(p[rest+24:], uint32(o.ClockType)) // ReservedFlags
	le.PutUint32(p[rest+28:], o.BuffersLost)

	p = append(p, logger...)
	return append(p, file...)
}

// put encodes RTL_TIME_ZONE_INFORMATION into dst (172 bytes).
func (tz *TimeZone) put(dst []byte) {
	le := binary.LittleEndian
	le.PutUint32(dst[0:], uint32(tz.Bias))
	putName(dst[4:4+2*timeZoneName], tz.StandardName)
	o := 4 + 2*timeZoneName
	tz.StandardDate.put(dst[o:])
	le.PutUint32(dst[o+systemTimeSize:], uint32(tz.StandardBias))
	o += systemTimeSize + 4
	putName(dst[o:o+2*timeZoneName], tz.DaylightName)
	o += 2 * timeZoneName
	tz.DaylightDate.put(dst[o:])
	le.PutUint32(dst[o+systemTimeSize:], uint32(tz.DaylightBias))
}

func (st *SystemTime) put(dst []byte) {
	le := binary.LittleEndian
	for i, v := range [...]uint16{st.Year, st.Month, st.DayOfWeek, st.Day, st.Hour, st.Minute, st.Second, st.Milliseconds} {
		le.PutUint16(dst[2*i:], v)
	}
}

// putName writes s as UTF-16LE into the fixed WCHAR array dst, truncated
// so that a terminating NUL always fits; the rest stays zero.
func putName(dst []byte, s string) {
	clear(dst)
	u := utf16.Encode([]rune(s))
	if max := len(dst)/2 - 1; len(u) > max {
		u = u[:max]
	}
	for i, c := range u {
		binary.LittleEndian.PutUint16(dst[2*i:], c)
	}
}

// putPointer writes v as a pointer-sized little-endian value.
func putPointer(dst []byte, ptr int, v uint64) {
	if ptr == 4 {
		binary.LittleEndian.PutUint32(dst, uint32(v))
		return
	}
	binary.LittleEndian.PutUint64(dst, v)
}

// utf16z encodes s as NUL-terminated UTF-16LE.
func utf16z(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u)+2)
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}
