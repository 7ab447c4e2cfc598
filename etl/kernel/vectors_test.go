package kernel

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/etl"
)

// The records below are the test vectors of docs/etl-format.md §6, copied
// byte for byte; where the doc elides the tail of a record, the tail is
// rebuilt from the values the doc states, and the record's own size field
// proves the rebuilt length.

// TV2: SYSTEM64 EventTrace Extension (fox-it/dissect.etl
// tests/test_system_header.py). The listing's last 4 bytes are alignment
// padding after the 0x44-byte record.
const tv2 = `
02 00 02 c0 44 00 05 00 b4 00 00 00 04 00 00 00
8f 8c 29 00 00 00 00 00 01 00 00 00 00 00 00 00
07 03 00 00 04 01 00 00 00 00 00 00 00 00 00 00
00 00 02 00 00 00 00 00 00 00 00 00 00 00 00 00
50 00 00 00 00 00 00 00`

func TestTV2Extension(t *testing.T) {
	rec := hexDump(t, tv2)[:0x44]
	ev := eventFromRecord(t, rec)
	require.Equal(t, KindTraceExtension, Lookup(ev))

	var x TraceExtension
	require.NoError(t, x.Decode(ev))
	assert.Equal(t, [8]uint32{0x307, 0x104, 0, 0, 0x20000, 0, 0, 0}, x.GroupMasks)
	assert.True(t, x.HasKernelEventVersion)
	assert.Equal(t, uint32(0x50), x.KernelEventVersion)
	assert.Equal(t, 0x24, x.Used)
	assert.True(t, x.Enabled(FlagProcess))
	assert.True(t, x.Enabled(FlagThread))
	assert.True(t, x.Enabled(FlagImageLoad))
	assert.False(t, x.Enabled(FlagPool), "GroupMask2 0x104 lacks PERF_POOL 0x40")
	assert.False(t, x.Enabled(FlagProfile))
}

// TV5: Image DCStart v3, PERFINFO64 (airbus-cert/etl-parser
// ShutdownPerfDiagLogger.etl, buffer at 0x10000, record at buffer offset
// 0x3358). The doc lists the record up to the first two characters of the
// file name.
const tv5 = `
0000: 03 00 11 c0 ae 00 03 14 bd 05 79 bb 44 00 00 00
0010: 00 00 62 77 00 00 00 00 00 a0 19 00 00 00 00 00
0020: 04 00 00 00 10 ff 19 00 00 00 00 00 0c 02 00 00
0030: 00 00 62 77 00 00 00 00 00 00 00 00 00 00 00 00
0040: 00 00 00 00 00 00 00 00 5c 00 44 00 …`

const tv5FileName = `\Device\HarddiskVolume3\Windows\SysWOW64\ntdll.dll`

func TestTV5ImageDCStart(t *testing.T) {
	head := hexDump(t, tv5)
	rec := append(head[:0x48:0x48], utf16z(tv5FileName)...)
	ev := eventFromRecord(t, rec)
	assert.Equal(t, etl.KindPerfInfo64, ev.Kind)
	assert.Equal(t, uint16(0x1403), ev.HookID)
	assert.Equal(t, int64(0x44BB7905BD), ev.Timestamp)
	require.Equal(t, KindImageDCStart, Lookup(ev))

	var im Image
	require.NoError(t, im.Decode(ev))
	assert.Equal(t, uint8(3), im.Op)
	assert.Equal(t, uint64(0x77620000), im.ImageBase)
	assert.Equal(t, uint64(0x19A000), im.ImageSize)
	assert.True(t, im.HasProcessID)
	assert.Equal(t, uint32(4), im.ProcessID)
	assert.Equal(t, uint32(0x19FF10), im.Checksum)
	assert.Equal(t, uint32(0), im.TimeDateStamp)
	assert.Equal(t, uint8(0x0C), im.SignatureLevel)
	assert.Equal(t, uint8(0x02), im.SignatureType)
	assert.Equal(t, uint64(0x77620000), im.DefaultBase)
	assert.Equal(t, tv5FileName, im.FileName.String())
	assert.True(t, im.FileName.Equal(tv5FileName))
	assert.Equal(t, "ntdll.dll", im.FileName.Base().String())
	assert.Equal(t, len(ev.Payload), im.Used, "the file name ends the payload")

	// Version 2 has the same bytes but no signature fields.
	ev.Version = 2
	require.NoError(t, im.Decode(ev))
	assert.Equal(t, uint8(0), im.SignatureLevel)
	assert.Equal(t, uint64(0x77620000), im.DefaultBase)
	assert.Equal(t, tv5FileName, im.FileName.String())
}

// TV6: Process End v4, SYSTEM64 (same file, buffer at 0x60000, record at
// buffer offset 0x7FB0). The doc lists the first 0x70 of 0xF0 bytes, up to
// the end of the SID, and names the strings that follow.
const tv6 = `
0000: 04 00 02 c0 f0 00 02 03 80 1a 00 00 7c 1a 00 00
0010: 45 9b 7c bb 44 00 00 00 03 00 00 00 00 00 00 00
0020: c0 93 b6 88 86 ca ff ff 7c 1a 00 00 10 0f 00 00
0030: 01 00 00 00 04 00 01 40 00 a0 f5 26 00 00 00 00
0040: 00 00 00 00 60 4b d4 fc 88 b4 ff ff 00 00 00 00
0050: 88 b4 ff ff 01 05 00 00 00 00 00 05 15 00 00 00
0060: 68 a3 6e f7 81 27 d6 49 cd 5f d1 66 e8 03 00 00`

// The command line as the record holds it (read from the file; note the
// trailing space).
const tv6CommandLine = `"C:\Windows\System32\SecurityHealthSystray.exe" `

func TestTV6ProcessEnd(t *testing.T) {
	rec := hexDump(t, tv6)
	rec = append(rec, "SecurityHealthSystray.exe\x00"...)
	rec = append(rec, utf16z(tv6CommandLine)...)
	rec = append(rec, 0, 0, 0, 0) // empty PackageFullName and ApplicationId
	ev := eventFromRecord(t, rec)
	assert.Equal(t, uint32(0x1A80), ev.ThreadID)
	assert.Equal(t, uint32(0x1A7C), ev.ProcessID)
	require.Equal(t, KindProcessEnd, Lookup(ev))

	var p Process
	require.NoError(t, p.Decode(ev))
	assert.Equal(t, uint8(2), p.Op)
	assert.Equal(t, uint64(0xFFFFCA8688B693C0), p.UniqueProcessKey)
	assert.Equal(t, uint32(0x1A7C), p.ProcessID)
	assert.Equal(t, uint32(0xF10), p.ParentID)
	assert.Equal(t, uint32(1), p.SessionID)
	assert.Equal(t, int32(0x40010004), p.ExitStatus)
	assert.Equal(t, uint64(0x26F5A000), p.DirectoryTableBase)
	assert.Equal(t, uint32(0), p.Flags)
	assert.Equal(t, "S-1-5-21-4151223144-1238771585-1724997581-1000", p.UserSID.String())
	assert.Equal(t, "SecurityHealthSystray.exe", p.ImageFileName.String())
	assert.Equal(t, tv6CommandLine, p.CommandLine.String())
	assert.True(t, p.PackageFullName.IsEmpty())
	assert.True(t, p.ApplicationID.IsEmpty())
	assert.Equal(t, int64(0), p.ExitTime)
	assert.Equal(t, len(ev.Payload), p.Used)
}

// TV8: StackWalk key events, PERFINFO64 (perfview net.4.5.2.x64.etl,
// decompressed buffer 17), and the start of a KeyDelete record.
const (
	tv8KeyKernel = `
02 00 11 c0 28 00 25 18 01 42 d1 73 00 00 00 00
67 41 d1 73 00 00 00 00 94 0f 00 00 c4 0e 00 00
90 ed 43 03 83 fa ff ff`
	tv8KeyUser = `
02 00 11 c0 28 00 26 18 ae 1e d3 73 00 00 00 00
67 41 d1 73 00 00 00 00 94 0f 00 00 c4 0e 00 00
90 fd 43 03 83 fa ff ff`
	tv8KeyDeleteStart = `02 00 11 c0 b8 00 23 18 ba b1 fa 74 00 00 00 00 10 db 3e 03 83 fa ff ff 8b 6d 29 05 80 f8 ff ff …`
)

func TestTV8StackKeys(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rec     string
		ts      int64
		key     uint64
		user    bool
		opcode  uint8
		wantErr bool
	}{
		{"kernel", tv8KeyKernel, 0x73D14201, 0xFFFFFA830343ED90, false, 37, false},
		{"user", tv8KeyUser, 0x73D31EAE, 0xFFFFFA830343FD90, true, 38, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := eventFromRecord(t, hexDump(t, tc.rec))
			assert.Equal(t, tc.ts, ev.Timestamp, "record timestamp")
			assert.Equal(t, tc.opcode, ev.Opcode)
			require.Equal(t, KindStackKeyRef, Lookup(ev))
			var r StackKeyRef
			require.NoError(t, r.Decode(ev))
			assert.Equal(t, int64(0x73D14167), r.EventTimeStamp, "both parts belong to one event")
			assert.Equal(t, uint32(0xF94), r.ProcessID)
			assert.Equal(t, uint32(0xEC4), r.ThreadID)
			assert.Equal(t, tc.key, r.Key)
			assert.Equal(t, tc.user, r.User)
			assert.Equal(t, 24, r.Used)
		})
	}

	t.Run("KeyDelete", func(t *testing.T) {
		// The doc gives the header and the first 16 payload bytes of a
		// 0xB8-byte record: build the event from them directly.
		b := hexDump(t, tv8KeyDeleteStart)
		assert.Equal(t, uint16(0xB8), uint16(b[4])|uint16(b[5])<<8)
		ev := event(etl.KindPerfInfo64, StackWalkGUID, b[6], 2, b[0x10:])
		require.Equal(t, uint8(35), ev.Opcode)
		require.Equal(t, KindStackKeyDef, Lookup(ev))
		var d StackKeyDef
		require.NoError(t, d.Decode(ev))
		assert.Equal(t, uint8(35), d.Op)
		assert.Equal(t, uint64(0xFFFFFA83033EDB10), d.Key)
		require.Equal(t, 1, d.NumFrames())
		assert.Equal(t, uint64(0xFFFFF88005296D8B), d.Frame(0))
		assert.True(t, d.Kernel())
		// The whole record's payload, 0xA8 bytes, is 21 pointers: the key
		// and 20 frames.
		full := append(append([]byte(nil), ev.Payload...), make([]byte, 0xA8-len(ev.Payload))...)
		ev.Payload = full
		require.NoError(t, d.Decode(ev))
		assert.Equal(t, 20, d.NumFrames())
	})

	t.Run("Stack", func(t *testing.T) {
		// TV8's Stack record (size 0x30, hook 0x1820), which follows the
		// SampledProfile with timestamp 0x73CE6E0F; the doc describes it,
		// and its payload is taken from the reference dump
		// (net.4.5.2.x64.etl.dissect.jsonl.gz, buffer 4, offset 6776).
		payload := hexDump(t, "0f 6e ce 73 00 00 00 00 94 0f 00 00 c4 0e 00 00 03 30 d0 ff ff ff ff ff 37 ae 5d 21 00 f8 ff ff")
		ev := event(etl.KindPerfInfo64, StackWalkGUID, 32, 2, payload)
		require.Equal(t, KindStack, Lookup(ev))
		var s Stack
		require.NoError(t, s.Decode(ev))
		assert.Equal(t, int64(0x73CE6E0F), s.EventTimeStamp)
		assert.Equal(t, uint32(0xF94), s.ProcessID)
		assert.Equal(t, uint32(0xEC4), s.ThreadID)
		require.Equal(t, 2, s.NumFrames())
		// Frame 0 is the sampled instruction pointer: the SampledProfile
		// record it belongs to begins 03 30 d0 ff ff ff ff ff.
		assert.Equal(t, uint64(0xFFFFFFFFFFD03003), s.Frame(0))
		assert.Equal(t, uint64(0xFFFFF800215DAE37), s.Frame(1))
		assert.Equal(t, []uint64{0xFFFFFFFFFFD03003, 0xFFFFF800215DAE37}, s.AppendFrames(nil))
		assert.Equal(t, 8, s.PointerSize())
		assert.Equal(t, 32, s.Used)
	})
}

// TV9: KernelTraceControl ImageId and DbgID_RSDS, FULL_HEADER64 (perfview
// net.4.5.2.x64.etl, buffer 1).
const (
	tv9ImageID = `
5c 00 14 c0 00 00 02 00 ff ff ff ff 04 00 00 00
73 39 ce 73 00 00 00 00 d7 75 e6 b3 54 25 18 4f
83 0b 27 62 73 25 60 de 00 00 00 00 00 00 00 00
00 00 71 77 00 00 00 00 00 70 15 00 00 00 00 00
04 00 00 00 7a ae 10 50 6e 00 74 00 64 00 6c 00
6c 00 2e 00 64 00 6c 00 6c 00 00 00`
	tv9RSDS = `
5b 00 14 c0 24 00 02 00 ff ff ff ff 04 00 00 00
73 39 ce 73 00 00 00 00 d7 75 e6 b3 54 25 18 4f
83 0b 27 62 73 25 60 de 00 00 00 00 00 00 00 00
00 00 71 77 00 00 00 00 04 00 00 00 df d8 83 ec
59 55 e0 46 b6 30 13 3e bd 97 92 66 02 00 00 00
77 6e 74 64 6c 6c 2e 70 64 62 00`
)

func TestTV9ImageID(t *testing.T) {
	ev := eventFromRecord(t, hexDump(t, tv9ImageID))
	assert.Equal(t, etl.KindFullHeader64, ev.Kind)
	assert.Equal(t, ImageIDGUID, ev.Provider)
	assert.Equal(t, uint16(2), ev.Version)
	assert.Equal(t, uint32(0xFFFFFFFF), ev.ThreadID)
	assert.Equal(t, uint32(4), ev.ProcessID)
	assert.Equal(t, int64(0x73CE3973), ev.Timestamp)
	require.Equal(t, KindImageID, Lookup(ev))

	var id ImageID
	require.NoError(t, id.Decode(ev))
	assert.Equal(t, uint64(0x77710000), id.ImageBase)
	assert.Equal(t, uint64(0x157000), id.ImageSize)
	assert.Equal(t, uint32(4), id.ProcessID)
	assert.Equal(t, uint32(0x5010AE7A), id.TimeDateStamp)
	assert.Equal(t, "ntdll.dll", id.OriginalFileName.String())
	assert.True(t, id.OriginalFileName.EqualFold("NTDLL.DLL"))
	assert.Equal(t, len(ev.Payload), id.Used)
}

func TestTV9DbgIDRSDS(t *testing.T) {
	ev := eventFromRecord(t, hexDump(t, tv9RSDS))
	assert.Equal(t, uint8(0x24), ev.Opcode)
	assert.Equal(t, int64(0x73CE3973), ev.Timestamp, "same timestamp as the ImageId and the Image DCStart")
	require.Equal(t, KindDbgIDRSDS, Lookup(ev))

	var d DbgID
	require.NoError(t, d.Decode(ev))
	assert.Equal(t, uint8(36), d.Op)
	assert.Equal(t, uint64(0x77710000), d.ImageBase)
	assert.Equal(t, uint32(4), d.ProcessID)
	assert.True(t, d.HasPDB)
	assert.Equal(t, "ec83d8df-5559-46e0-b630-133ebd979266", d.GUID.String())
	assert.Equal(t, uint32(2), d.Age)
	assert.Equal(t, "wntdll.pdb", d.PDBFileName.String())
	assert.Equal(t, len(ev.Payload), d.Used)
}
