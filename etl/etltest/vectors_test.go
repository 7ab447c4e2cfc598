package etltest_test

import (
	"encoding/hex"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/etl/etltest"
)

// Byte-level checks against the test vectors of docs/etl-format.md §6,
// which were read from public sample files. Each test builds the record
// from its decoded field values and expects the published bytes.

// unhex decodes a hex dump, ignoring whitespace.
func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	require.NoError(t, err)
	return b
}

func utf16z(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u)+2)
	for i, c := range u {
		le.PutUint16(b[2*i:], c)
	}
	return b
}

// tv2Extension is the EventTrace Extension record of TV2, as a Record.
func tv2Extension() etltest.Record {
	payload := make([]byte, 0x24)
	le.PutUint32(payload[0x00:], 0x00000307) // GroupMask1
	le.PutUint32(payload[0x04:], 0x00000104) // GroupMask2
	le.PutUint32(payload[0x10:], 0x00020000) // GroupMask5
	le.PutUint32(payload[0x20:], 0x50)       // KernelEventVersion
	return etltest.Record{
		Kind: etl.KindSystem64, HookID: 0x0005, Version: 2,
		ThreadID: 0xB4, ProcessID: 4, Timestamp: 0x298C8F, KernelTime: 1,
		Payload: payload,
	}
}

// TV2: SYSTEM64 header + EventTrace Extension (dissect test_system_header.py).
func TestVectorTV2SystemExtension(t *testing.T) {
	want := unhex(t, `
		02 00 02 c0 44 00 05 00 b4 00 00 00 04 00 00 00
		8f 8c 29 00 00 00 00 00 01 00 00 00 00 00 00 00
		07 03 00 00 04 01 00 00 00 00 00 00 00 00 00 00
		00 00 02 00 00 00 00 00 00 00 00 00 00 00 00 00
		50 00 00 00`)
	got, err := tv2Extension().Bytes()
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

// TV4: EVENT_HEADER64 with two extended items (dissect test_event_header.py).
// The builder sets the EXTENDED_INFO flag, pads each item to 8 bytes with
// zeros and sets Linkage on the first item only.
func TestVectorTV4EventHeader(t *testing.T) {
	full := unhex(t, `
		12 01 13 c0 01 00 00 00 e8 02 00 00 e4 02 00 00
		2b 15 41 0b 00 00 00 00 a7 ce dd b8 20 b5 09 49
		bc eb e0 17 0c 9f 0e 99 00 00 00 0b 05 00 00 00
		00 00 00 00 00 20 00 00 11 00 00 00 02 00 00 00
		00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
		48 00 0c 00 01 00 3d 00 3d 00 4d 69 63 72 6f 73
		6f 66 74 2e 57 69 6e 64 6f 77 73 2e 53 65 72 76
		69 63 65 43 6f 6e 74 72 6f 6c 4d 61 6e 61 67 65
		72 00 13 00 01 1a 73 50 4f cf 89 82 47 b3 e0 dc
		e8 c9 04 76 ba 00 00 00 38 00 0b 00 00 00 2c 00
		2c 00 00 53 65 72 76 69 63 65 48 6f 73 74 53 74
		61 72 74 65 64 00 53 65 72 76 69 63 65 48 6f 73
		74 4e 61 6d 65 00 01 50 49 44 00 08 00 00 00 00
		43 00 3a 00 5c 00 57 00 69 00 6e 00 64 00 6f 00
		77 00 73 00 5c 00 73 00 79 00 73 00 74 00 65 00
		6d 00 33 00 32 00 5c 00 73 00 70 00 70 00 73 00
		76 00 63 00 2e 00 65 00 78 00 65 00 00 00 f4 01
		00 00 00 00 00 00 00 00`)
	require.Len(t, full, 0x118)
	want := full[:0x112] // the rest is alignment padding

	traits := full[0x58 : 0x58+0x3D]
	schema := full[0xA0 : 0xA0+0x2C]
	user := append(utf16z(`C:\Windows\system32\sppsvc.exe`), 0xF4, 0x01, 0x00, 0x00)
	r := etltest.Record{
		Kind:       etl.KindEventHeader64,
		ThreadID:   0x2E8,
		ProcessID:  0x2E4,
		Timestamp:  0x0B41152B,
		Provider:   etl.MustParseGUID("b8ddcea7-b520-4909-bceb-e0170c9f0e99"),
		Channel:    11,
		Level:      5,
		Keywords:   0x0000200000000000,
		KernelTime: 0x11,
		UserTime:   2,
		Ext: []etl.ExtItem{
			{Type: etl.ExtProvTraits, Data: traits},
			{Type: etl.ExtEventSchemaTL, Data: schema},
		},
		Payload: user,
	}
	got, err := r.Bytes()
	require.NoError(t, err)
	assert.Equal(t, want, got)

	// In a buffer the record is followed by its zero padding.
	b, err := etltest.New(etltest.Options{})
	require.NoError(t, err)
	ref, err := b.Add(0, r)
	require.NoError(t, err)
	file, err := b.Bytes()
	require.NoError(t, err)
	off, err := b.FileOffset(ref)
	require.NoError(t, err)
	assert.Equal(t, full, file[off:off+0x118])
}

// TV5: Image DCStart v3, PERFINFO64 (airbus ShutdownPerfDiagLogger.etl).
func TestVectorTV5PerfInfoImage(t *testing.T) {
	head := unhex(t, `
		03 00 11 c0 ae 00 03 14 bd 05 79 bb 44 00 00 00
		00 00 62 77 00 00 00 00 00 a0 19 00 00 00 00 00
		04 00 00 00 10 ff 19 00 00 00 00 00 0c 02 00 00
		00 00 62 77 00 00 00 00 00 00 00 00 00 00 00 00
		00 00 00 00 00 00 00 00`)
	name := utf16z(`\Device\HarddiskVolume3\Windows\SysWOW64\ntdll.dll`)
	want := append(append([]byte(nil), head...), name...)
	require.Len(t, want, 0xAE)

	payload := make([]byte, 0x38)
	le.PutUint64(payload[0x00:], 0x77620000) // ImageBase
	le.PutUint64(payload[0x08:], 0x19A000)   // ImageSize
	le.PutUint32(payload[0x10:], 4)          // ProcessId
	le.PutUint32(payload[0x14:], 0x19FF10)   // ImageChecksum
	payload[0x1C] = 0x0C                     // SignatureLevel
	payload[0x1D] = 0x02                     // SignatureType
	le.PutUint64(payload[0x20:], 0x77620000) // DefaultBase
	got, err := etltest.Record{
		Kind: etl.KindPerfInfo64, HookID: 0x1403, Version: 3,
		Timestamp: 0x44BB7905BD,
		ThreadID:  123, // PERFINFO has no thread id: ignored
		Payload:   append(payload, name...),
	}.Bytes()
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

// TV8: StackWalk key records, PERFINFO64 (perfview net.4.5.2.x64.etl).
func TestVectorTV8StackKey(t *testing.T) {
	want := unhex(t, `
		02 00 11 c0 28 00 25 18 01 42 d1 73 00 00 00 00
		67 41 d1 73 00 00 00 00 94 0f 00 00 c4 0e 00 00
		90 ed 43 03 83 fa ff ff`)
	payload := make([]byte, 0x18)
	le.PutUint64(payload[0:], 0x73D14167)          // EventTimeStamp
	le.PutUint32(payload[8:], 0xF94)               // StackProcess
	le.PutUint32(payload[12:], 0xEC4)              // StackThread
	le.PutUint64(payload[16:], 0xFFFFFA830343ED90) // StackKey
	got, err := etltest.Record{
		Kind: etl.KindPerfInfo64, HookID: 0x1825, Version: 2,
		Timestamp: 0x73D14201, Payload: payload,
	}.Bytes()
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

// TV9: KernelTraceControl ImageId and DbgID_RSDS, FULL_HEADER64.
func TestVectorTV9FullHeader(t *testing.T) {
	imageID := unhex(t, `
		5c 00 14 c0 00 00 02 00 ff ff ff ff 04 00 00 00
		73 39 ce 73 00 00 00 00 d7 75 e6 b3 54 25 18 4f
		83 0b 27 62 73 25 60 de 00 00 00 00 00 00 00 00
		00 00 71 77 00 00 00 00 00 70 15 00 00 00 00 00
		04 00 00 00 7a ae 10 50 6e 00 74 00 64 00 6c 00
		6c 00 2e 00 64 00 6c 00 6c 00 00 00`)
	rsds := unhex(t, `
		5b 00 14 c0 24 00 02 00 ff ff ff ff 04 00 00 00
		73 39 ce 73 00 00 00 00 d7 75 e6 b3 54 25 18 4f
		83 0b 27 62 73 25 60 de 00 00 00 00 00 00 00 00
		00 00 71 77 00 00 00 00 04 00 00 00 df d8 83 ec
		59 55 e0 46 b6 30 13 3e bd 97 92 66 02 00 00 00
		77 6e 74 64 6c 6c 2e 70 64 62 00`)
	class := etl.MustParseGUID("b3e675d7-2554-4f18-830b-2762732560de")

	// ImageId payload: ImageBase, ImageSize, ProcessId, TimeDateStamp, name.
	p1 := make([]byte, 0x18)
	le.PutUint64(p1[0:], 0x77710000)
	le.PutUint64(p1[8:], 0x157000)
	le.PutUint32(p1[16:], 4)
	le.PutUint32(p1[20:], 0x5010AE7A)
	p1 = append(p1, utf16z("ntdll.dll")...)
	got, err := etltest.Record{
		Kind: etl.KindFullHeader64, Opcode: 0, Version: 2, Provider: class,
		ThreadID: 0xFFFFFFFF, ProcessID: 4, Timestamp: 0x73CE3973, Payload: p1,
	}.Bytes()
	require.NoError(t, err)
	assert.Equal(t, imageID, got)

	pdbGUID := etl.MustParseGUID("ec83d8df-5559-46e0-b630-133ebd979266")
	p2 := make([]byte, 0x20)
	le.PutUint64(p2[0:], 0x77710000) // ImageBase
	le.PutUint32(p2[8:], 4)          // ProcessId
	pdbGUID.PutBytes(p2[12:])
	le.PutUint32(p2[28:], 2) // Age
	p2 = append(p2, "wntdll.pdb\x00"...)
	got, err = etltest.Record{
		Kind: etl.KindFullHeader64, Opcode: 0x24, Version: 2, Provider: class,
		ThreadID: 0xFFFFFFFF, ProcessID: 4, Timestamp: 0x73CE3973, Payload: p2,
	}.Bytes()
	require.NoError(t, err)
	assert.Equal(t, rsds, got)
}

// TV1 + TV3 + TV2: the whole valid part of the first buffer of the dissect
// sample (tests/testutils.py FIRST_BUFFER): buffer header, logfile header
// event, Extension and PartitionInfoExtension records, 0x2A8 bytes.
func TestVectorFirstBuffer(t *testing.T) {
	want := unhex(t, `
		00 00 10 00 a8 02 00 00 a8 02 00 00 00 00 00 00
		00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
		00 00 00 00 00 00 00 00 00 00 12 00 03 00 00 00
		a8 02 00 00 21 00 04 00 00 00 00 00 00 00 00 00
		00 00 00 00 00 00 00 00 02 00 02 c0 c8 01 00 00
		b4 00 00 00 04 00 00 00 8f 8c 29 00 00 00 00 00
		01 00 00 00 00 00 00 00 00 00 10 00 0a 00 01 05
		62 4a 00 00 02 00 00 00 25 98 ad 88 b6 0a d7 01
		5a 62 02 00 c8 00 00 00 80 00 00 02 11 00 00 00
		01 00 00 00 08 00 00 00 00 00 00 00 40 08 00 00
		05 00 00 00 00 00 00 00 07 00 00 00 00 00 00 00
		c4 ff ff ff 40 00 74 00 7a 00 72 00 65 00 73 00
		2e 00 64 00 6c 00 6c 00 2c 00 2d 00 33 00 32 00
		32 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
		00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
		00 00 00 00 00 00 0a 00 00 00 05 00 03 00 00 00
		00 00 00 00 00 00 00 00 40 00 74 00 7a 00 72 00
		65 00 73 00 2e 00 64 00 6c 00 6c 00 2c 00 2d 00
		33 00 32 00 31 00 00 00 00 00 00 00 00 00 00 00
		00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
		00 00 00 00 00 00 00 00 00 00 03 00 00 00 05 00
		02 00 00 00 00 00 00 00 c4 ff ff ff 00 00 00 00
		40 97 72 fe b5 0a d7 01 80 96 98 00 00 00 00 00
		c6 a7 85 fe b5 0a d7 01 01 00 00 00 00 00 00 00
		50 00 65 00 72 00 66 00 44 00 69 00 61 00 67 00
		20 00 4c 00 6f 00 67 00 67 00 65 00 72 00 00 00
		43 00 3a 00 5c 00 57 00 69 00 6e 00 64 00 6f 00
		77 00 73 00 5c 00 73 00 79 00 73 00 74 00 65 00
		6d 00 33 00 32 00 5c 00 57 00 44 00 49 00 5c 00
		4c 00 6f 00 67 00 46 00 69 00 6c 00 65 00 73 00
		5c 00 42 00 6f 00 6f 00 74 00 50 00 65 00 72 00
		66 00 44 00 69 00 61 00 67 00 4c 00 6f 00 67 00
		67 00 65 00 72 00 2e 00 65 00 74 00 6c 00 00 00
		02 00 02 c0 44 00 05 00 b4 00 00 00 04 00 00 00
		8f 8c 29 00 00 00 00 00 01 00 00 00 00 00 00 00
		07 03 00 00 04 01 00 00 00 00 00 00 00 00 00 00
		00 00 02 00 00 00 00 00 00 00 00 00 00 00 00 00
		50 00 00 00 00 00 00 00 02 00 02 c0 50 00 50 00
		b4 00 00 00 04 00 00 00 8f 8c 29 00 00 00 00 00
		01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
		00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
		00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
		00 00 00 00 00 00 00 00`)
	require.Len(t, want, 0x2A8)

	opts := etltest.Options{
		PointerSize:      8,
		CPUs:             2,
		BufferSize:       0x100000,
		ClockType:        etl.ClockQPC,
		PerfFreq:         10_000_000,
		CPUSpeedMHz:      2112,
		StartTime:        etl.FiletimeToTime(0x01D70AB5FE85A7C6),
		EndTime:          etl.FiletimeToTime(0x01D70AB688AD9825),
		BootTime:         etl.FiletimeToTime(0x01D70AB5FE729740),
		OSMajor:          10,
		OSBuild:          19042,
		LoggerName:       "PerfDiag Logger",
		LogFileName:      `C:\Windows\system32\WDI\LogFiles\BootPerfDiagLogger.etl`,
		LoggerNameField:  5,
		LogFileNameField: 7,
		TimerResolution:  156250,
		MaximumFileSize:  200,
		LogFileMode:      0x02000080,
		LoggerID:         0x12,
		TimeZone: etltest.TimeZone{
			Bias:         -60,
			StandardName: "@tzres.dll,-322",
			StandardDate: etltest.SystemTime{Month: 10, Day: 5, Hour: 3},
			DaylightName: "@tzres.dll,-321",
			DaylightDate: etltest.SystemTime{Month: 3, Day: 5, Hour: 2},
			DaylightBias: -60,
		},
		HeaderRecord: etltest.HeaderRecord{Timestamp: 0x298C8F, ThreadID: 0xB4, ProcessID: 4, KernelTime: 1},
	}
	b, err := etltest.New(opts)
	require.NoError(t, err)
	_, err = b.Add(etltest.HeaderBuffer, tv2Extension())
	require.NoError(t, err)
	_, err = b.Add(etltest.HeaderBuffer, etltest.Record{
		Kind: etl.KindSystem64, HookID: 0x0050, Version: 2, // PartitionInfoExtension
		ThreadID: 0xB4, ProcessID: 4, Timestamp: 0x298C8F, KernelTime: 1,
		Payload: make([]byte, 0x30),
	})
	require.NoError(t, err)
	// The sample file had 17 buffers: 16 more, one record each.
	for i := range 16 {
		_, err := b.Add(i%2, etltest.Record{Kind: etl.KindSystem64, HookID: 0x0502, Version: 3, Timestamp: 0x298C90 + int64(i)})
		require.NoError(t, err)
		require.NoError(t, b.Flush(i%2))
	}
	file, err := b.Bytes()
	require.NoError(t, err)
	assert.Equal(t, want, file[:0x2A8])
	requireFiller(t, walk(t, file)[0])
	assert.Len(t, b.Buffers(), 17)
}
