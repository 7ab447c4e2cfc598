package kernel

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/etl"
)

// decodeCase is one whole payload with the values it must decode to. min
// is the length of its fixed part: every shorter prefix must fail with
// ErrShort, every longer one must decode (strings after the fixed part
// are tolerated missing or unterminated).
type decodeCase struct {
	name  string
	ev    *etl.Event
	kind  Kind
	min   int
	check func(t *testing.T, d *Decoded)
}

func decodeCases(t testing.TB) []decodeCase {
	return []decodeCase{
		{
			// syzygy-sawbuck/log_lib__image_data_32_v0.etl, Load record in
			// buffer 2 at offset 3160 (synthetic MOF test data).
			name: "Image v0 32-bit",
			ev: event(etl.KindFullHeader32, ImageGUID, 10, 0, hexDump(t, `
00 00 16 01 00 e0 19 00 43 00 3a 00 5c 00 63 00 6f 00 64 00 65 00 5c 00 73 00 61 00 77 00 62 00
75 00 63 00 6b 00 5c 00 73 00 72 00 63 00 5c 00 73 00 61 00 77 00 62 00 75 00 63 00 6b 00 5c 00
44 00 65 00 62 00 75 00 67 00 5c 00 74 00 65 00 73 00 74 00 5f 00 70 00 72 00 6f 00 67 00 72 00
61 00 6d 00 2e 00 65 00 78 00 65 00 00 00`)),
			kind: KindImageLoad, min: 8,
			check: func(t *testing.T, d *Decoded) {
				im := d.Image
				assert.Equal(t, uint64(0x01160000), im.ImageBase)
				assert.Equal(t, uint64(0x19E000), im.ImageSize)
				assert.False(t, im.HasProcessID)
				assert.Equal(t, `C:\code\sawbuck\src\sawbuck\Debug\test_program.exe`, im.FileName.String())
				assert.Equal(t, 110, im.Used)
			},
		},
		{
			name: "Image v1 64-bit",
			ev: event(etl.KindSystem64, ImageGUID, 2, 1,
				le(uint64(0x7FF812340000), uint64(0x2000), uint32(1234), utf16z(`C:\a.dll`))),
			kind: KindImageUnload, min: 20,
			check: func(t *testing.T, d *Decoded) {
				im := d.Image
				assert.Equal(t, uint8(2), im.Op)
				assert.Equal(t, uint64(0x7FF812340000), im.ImageBase)
				assert.Equal(t, uint64(0x2000), im.ImageSize)
				assert.True(t, im.HasProcessID)
				assert.Equal(t, uint32(1234), im.ProcessID)
				assert.Equal(t, `C:\a.dll`, im.FileName.String())
			},
		},
		{
			name: "Image v2 32-bit",
			ev: event(etl.KindSystem32, ImageGUID, 4, 2, le(uint32(0x80400000), uint32(0x200000), uint32(4),
				uint32(0xABCD), uint32(0x5010AE7A), uint32(0xFFFFFFFF), uint32(0x80400000),
				make([]byte, 16), utf16z(`\SystemRoot\system32\ntkrnlpa.exe`))),
			kind: KindImageDCEnd, min: 44,
			check: func(t *testing.T, d *Decoded) {
				im := d.Image
				assert.Equal(t, uint64(0x80400000), im.ImageBase)
				assert.Equal(t, uint64(0x200000), im.ImageSize)
				assert.Equal(t, uint32(4), im.ProcessID)
				assert.Equal(t, uint32(0xABCD), im.Checksum)
				assert.Equal(t, uint32(0x5010AE7A), im.TimeDateStamp)
				assert.Equal(t, uint8(0), im.SignatureLevel, "v2 has a reserved word there")
				assert.Equal(t, uint64(0x80400000), im.DefaultBase)
				assert.Equal(t, "ntkrnlpa.exe", im.FileName.Base().String())
				assert.Equal(t, 44+2*34, im.Used)
			},
		},
		{
			name: "Image v3 64-bit (TV5)",
			ev: event(etl.KindPerfInfo64, ImageGUID, 3, 3,
				append(hexDump(t, tv5)[0x10:0x48:0x48], utf16z(tv5FileName)...)),
			kind: KindImageDCStart, min: 56,
			check: func(t *testing.T, d *Decoded) {
				assert.Equal(t, uint64(0x77620000), d.Image.ImageBase)
				assert.Equal(t, tv5FileName, d.Image.FileName.String())
			},
		},
		{
			// ShutdownPerfDiagLogger.etl, buffer 40, offset 43296.
			name: "KernelBase 64-bit",
			ev:   event(etl.KindPerfInfo64, ImageGUID, 33, 2, hexDump(t, `00 b0 4a 42 02 f8 ff ff`)),
			kind: KindImageKernelBase, min: 8,
			check: func(t *testing.T, d *Decoded) {
				assert.Equal(t, uint64(0xFFFFF802424AB000), d.KernelBase.ImageBase)
			},
		},
		{
			name: "KernelBase 32-bit",
			ev:   event(etl.KindPerfInfo32, ImageGUID, 33, 2, le(uint32(0x82000000))),
			kind: KindImageKernelBase, min: 4,
			check: func(t *testing.T, d *Decoded) {
				assert.Equal(t, uint64(0x82000000), d.KernelBase.ImageBase)
			},
		},
		{
			name: "ImageID 64-bit (TV9)",
			ev:   eventFromRecord(t, hexDump(t, tv9ImageID)),
			kind: KindImageID, min: 24,
			check: func(t *testing.T, d *Decoded) {
				assert.Equal(t, "ntdll.dll", d.ImageID.OriginalFileName.String())
			},
		},
		{
			name: "ImageID 32-bit",
			ev: event(etl.KindFullHeader32, ImageIDGUID, 0, 2,
				le(uint32(0x77710000), uint32(0x157000), uint32(88), uint32(0x5010AE7A), utf16z("ntdll.dll"))),
			kind: KindImageID, min: 16,
			check: func(t *testing.T, d *Decoded) {
				id := d.ImageID
				assert.Equal(t, uint64(0x77710000), id.ImageBase)
				assert.Equal(t, uint64(0x157000), id.ImageSize)
				assert.Equal(t, uint32(88), id.ProcessID)
				assert.Equal(t, uint32(0x5010AE7A), id.TimeDateStamp)
				assert.Equal(t, "ntdll.dll", id.OriginalFileName.String())
			},
		},
		{
			// net.4.5.2.x64.etl, a None event of process 724 (header pid 724).
			name: "ImageID None 64-bit",
			ev:   event(etl.KindFullHeader64, ImageIDGUID, 32, 2, hexDump(t, `00 00 c5 cc f9 07 00 00 d4 02 00 00`)),
			kind: KindImageIDNone, min: 12,
			check: func(t *testing.T, d *Decoded) {
				assert.Equal(t, uint64(0x7F9CCC50000), d.DbgID.ImageBase)
				assert.Equal(t, uint32(724), d.DbgID.ProcessID)
				assert.False(t, d.DbgID.HasPDB)
				assert.Equal(t, 12, d.DbgID.Used)
			},
		},
		{
			name: "DbgID_RSDS 64-bit (TV9)",
			ev:   eventFromRecord(t, hexDump(t, tv9RSDS)),
			kind: KindDbgIDRSDS, min: 32,
			check: func(t *testing.T, d *Decoded) {
				assert.Equal(t, "wntdll.pdb", d.DbgID.PDBFileName.String())
			},
		},
		{
			name: "DbgID_ILRSDS 32-bit",
			ev: event(etl.KindFullHeader32, ImageIDGUID, 37, 2, le(uint32(0x6F000000), uint32(3988),
				hexDump(t, `d6 2c e9 a4 16 b9 1f 47 b0 aa ac 54 eb 10 af 9f`), uint32(1), []byte("E:\\A\\x.ni.pdb\x00"))),
			kind: KindDbgIDILRSDS, min: 28,
			check: func(t *testing.T, d *Decoded) {
				g := d.DbgID
				assert.Equal(t, uint8(37), g.Op)
				assert.Equal(t, uint64(0x6F000000), g.ImageBase)
				assert.Equal(t, uint32(3988), g.ProcessID)
				assert.Equal(t, "a4e92cd6-b916-471f-b0aa-ac54eb10af9f", g.GUID.String())
				assert.Equal(t, uint32(1), g.Age)
				assert.Equal(t, `E:\A\x.ni.pdb`, g.PDBFileName.String())
				assert.Equal(t, "x.ni.pdb", g.PDBFileName.Base().String())
			},
		},
		{
			// The first 32 bytes are those of the FileVersion record of
			// ntdll.dll in net.4.5.2.x64.etl; the rest is built.
			name: "FileVersion",
			ev: event(etl.KindFullHeader64, ImageIDGUID, 64, 0, le(uint32(0x157000), uint32(0x5010AE7A),
				utf16z("ntdll.dll"), utf16z("NT Layer DLL"), utf16z("6.2.9200.16384"), utf16z("6.2.9200.16384"),
				utf16z("0409"), utf16z("Microsoft® Windows® Operating System"), utf16z("Microsoft Corporation"),
				utf16z("6.2.9200.16384"), utf16z(""), utf16raw("prog"))),
			kind: KindImageFileVersion, min: 8,
			check: func(t *testing.T, d *Decoded) {
				v := d.FileVersion
				assert.Equal(t, uint32(0x157000), v.ImageSize)
				assert.Equal(t, uint32(0x5010AE7A), v.TimeDateStamp)
				assert.Equal(t, "ntdll.dll", v.OrigFileName.String())
				assert.Equal(t, "NT Layer DLL", v.FileDescription.String())
				assert.Equal(t, "6.2.9200.16384", v.FileVersion.String())
				assert.Equal(t, "6.2.9200.16384", v.BinFileVersion.String())
				assert.Equal(t, "0409", v.VerLanguage.String())
				assert.Equal(t, "Microsoft® Windows® Operating System", v.ProductName.String())
				assert.Equal(t, "Microsoft Corporation", v.CompanyName.String())
				assert.Equal(t, "6.2.9200.16384", v.ProductVersion.String())
				assert.True(t, v.FileID.IsEmpty())
				assert.Equal(t, "prog", v.ProgramID.String(), "unterminated last string")
			},
		},
		{
			name: "Process v4 End 64-bit (TV6)",
			ev: func() *etl.Event {
				rec := append(hexDump(t, tv6), "SecurityHealthSystray.exe\x00"...)
				rec = append(append(rec, utf16z(tv6CommandLine)...), 0, 0, 0, 0)
				return eventFromRecord(t, rec)
			}(),
			kind: KindProcessEnd, min: 0x50,
			check: func(t *testing.T, d *Decoded) {
				assert.Equal(t, "SecurityHealthSystray.exe", d.Process.ImageFileName.String())
			},
		},
		{
			// ShutdownPerfDiagLogger.etl: a v5 Defunct svchost.exe, session
			// 0, S-1-5-20, with ExitTime after the strings.
			name: "Process v5 Defunct 64-bit",
			ev: event(etl.KindPerfInfo64, ProcessGUID, 39, 5, hexDump(t, `
00 13 58 88 86 ca ff ff f0 01 00 00 58 02 00 00 00 00 00 00 00 00 00 00 00 a0 25 3c 00 00 00 00
00 00 00 00 60 d5 9c fc 88 b4 ff ff 00 00 00 00 00 00 00 00 01 01 00 00 00 00 00 05 14 00 00 00
73 76 63 68 6f 73 74 2e 65 78 65 00 00 00 00 00 00 00 67 fc 25 ba 5a ee d5 01`)),
			kind: KindProcessDefunct, min: 64,
			check: func(t *testing.T, d *Decoded) {
				p := d.Process
				assert.Equal(t, uint64(0xFFFFCA8688581300), p.UniqueProcessKey)
				assert.Equal(t, uint32(0x1F0), p.ProcessID)
				assert.Equal(t, uint32(0x258), p.ParentID)
				assert.Equal(t, uint64(0x3C25A000), p.DirectoryTableBase)
				assert.Equal(t, "S-1-5-20", p.UserSID.String())
				assert.Equal(t, "svchost.exe", p.ImageFileName.String())
				assert.True(t, p.CommandLine.IsEmpty())
				assert.Equal(t, int64(0x01D5EE5ABA25FC67), p.ExitTime)
				assert.Equal(t, 90, p.Used)
			},
		},
		{
			name: "Process v3 Start 32-bit",
			ev: event(etl.KindSystem32, ProcessGUID, 1, 3, le(uint32(0x89ABC000), uint32(0x6F0), uint32(0x3DC),
				uint32(1), uint32(0x103), uint32(0x7E000),
				uint32(0xE1234567), uint32(0), // TOKEN_USER: pointer, attributes
				hexDump(t, `01 05 00 00 00 00 00 05 15 00 00 00 96 2c ec 2c 68 fd 31 06 f1 dc a4 d3 e8 03 00 00`),
				[]byte("notepad.exe\x00"), utf16z(`notepad.exe C:\x.txt`))),
			kind: KindProcessStart, min: 24 + 8 + 28,
			check: func(t *testing.T, d *Decoded) {
				p := d.Process
				assert.Equal(t, uint64(0x89ABC000), p.UniqueProcessKey)
				assert.Equal(t, uint32(0x6F0), p.ProcessID)
				assert.Equal(t, uint32(0x3DC), p.ParentID)
				assert.Equal(t, uint32(1), p.SessionID)
				assert.Equal(t, int32(0x103), p.ExitStatus)
				assert.Equal(t, uint64(0x7E000), p.DirectoryTableBase)
				assert.Equal(t, "S-1-5-21-753675414-103939432-3550797041-1000", p.UserSID.String())
				assert.Equal(t, "notepad.exe", p.ImageFileName.String())
				assert.Equal(t, `notepad.exe C:\x.txt`, p.CommandLine.String())
			},
		},
		{
			// ShutdownPerfDiagLogger.etl, buffer 1, offset 50584: v3 with
			// the Windows 10 ThreadName.
			name: "Thread v3 DCStart 64-bit",
			ev: event(etl.KindSystem64, ThreadGUID, 3, 3, hexDump(t, `
ac 01 00 00 30 02 00 00 00 00 c3 f6 80 f5 ff ff 00 90 c2 f6 80 f5 ff ff 00 00 e0 1c b9 00 00 00
00 80 df 1c b9 00 00 00 03 00 00 00 00 00 00 00 c0 32 9c 90 f9 7f 00 00 00 b0 ba 1c b9 00 00 00
00 00 00 00 10 05 02 00 57 00 69 00 6e 00 33 00 32 00 6b 00 20 00 52 00 61 00 77 00 20 00 49 00
6e 00 70 00 75 00 74 00 20 00 54 00 68 00 72 00 65 00 61 00 64 00 00 00`)),
			kind: KindThreadDCStart, min: 72,
			check: func(t *testing.T, d *Decoded) {
				th := d.Thread
				assert.Equal(t, uint32(0x1AC), th.ProcessID)
				assert.Equal(t, uint32(0x230), th.ThreadID)
				assert.Equal(t, uint64(0xFFFFF580F6C30000), th.StackBase)
				assert.Equal(t, uint64(0xFFFFF580F6C29000), th.StackLimit)
				assert.Equal(t, uint64(0xB91CE00000), th.UserStackBase)
				assert.Equal(t, uint64(0xB91CDF8000), th.UserStackLimit)
				assert.Equal(t, uint64(3), th.Affinity)
				assert.Equal(t, uint64(0), th.StartAddr)
				assert.Equal(t, uint64(0x7FF9909C32C0), th.Win32StartAddr)
				assert.Equal(t, uint64(0xB91CBAB000), th.TebBase)
				assert.Equal(t, uint32(0), th.SubProcessTag)
				assert.Equal(t, uint8(16), th.BasePriority)
				assert.Equal(t, uint8(5), th.PagePriority)
				assert.Equal(t, uint8(2), th.IoPriority)
				assert.Equal(t, uint8(0), th.ThreadFlags)
				assert.Equal(t, "Win32k Raw Input Thread", th.ThreadName.String())
				assert.Equal(t, 120, th.Used)
			},
		},
		{
			name: "Thread v2 End 32-bit",
			ev: event(etl.KindSystem32, ThreadGUID, 2, 2, le(uint32(8), uint32(12), uint32(0xA0000000),
				uint32(0x9FFFD000), uint32(0x130000), uint32(0x12C000), uint32(0x7C810000),
				uint32(0x401000), uint32(0x7FFDF000), uint32(7))),
			kind: KindThreadEnd, min: 40,
			check: func(t *testing.T, d *Decoded) {
				th := d.Thread
				assert.Equal(t, uint32(8), th.ProcessID)
				assert.Equal(t, uint32(12), th.ThreadID)
				assert.Equal(t, uint64(0xA0000000), th.StackBase)
				assert.Equal(t, uint64(0x7C810000), th.StartAddr, "v2 has StartAddr where v3 has Affinity")
				assert.Equal(t, uint64(0), th.Affinity)
				assert.Equal(t, uint64(0x401000), th.Win32StartAddr)
				assert.Equal(t, uint64(0x7FFDF000), th.TebBase)
				assert.Equal(t, uint32(7), th.SubProcessTag)
				assert.True(t, th.ThreadName.IsEmpty())
				assert.Equal(t, 40, th.Used)
			},
		},
		{
			name: "Thread v4 Start 32-bit",
			ev: event(etl.KindSystem32, ThreadGUID, 1, 4, le(uint32(8), uint32(12), make([]byte, 28),
				uint32(0), uint8(8), uint8(5), uint8(2), uint8(0x10), utf16z("worker"))),
			kind: KindThreadStart, min: 44,
			check: func(t *testing.T, d *Decoded) {
				assert.Equal(t, uint8(8), d.Thread.BasePriority)
				assert.Equal(t, uint8(0x10), d.Thread.ThreadFlags)
				assert.Equal(t, "worker", d.Thread.ThreadName.String())
			},
		},
		{
			name: "TraceHeader 32-bit",
			ev:   event(etl.KindSystem32, EventTraceGUID, 0, 2, traceHeader32()),
			kind: KindTraceHeader, min: 0x110,
			check: func(t *testing.T, d *Decoded) {
				h := d.Header
				assert.Equal(t, uint32(0x10000), h.BufferSize)
				assert.Equal(t, [4]byte{6, 1, 1, 5}, h.Version)
				assert.Equal(t, uint32(7601), h.ProviderVersion)
				assert.Equal(t, uint32(2), h.NumberOfProcessors)
				assert.Equal(t, int64(0x01CC08C867FE2B00), h.EndTime)
				assert.Equal(t, uint32(156250), h.TimerResolution)
				assert.Equal(t, uint32(100), h.MaximumFileSize)
				assert.Equal(t, uint32(1), h.LogFileMode)
				assert.Equal(t, uint32(3), h.BuffersWritten)
				assert.Equal(t, uint32(1), h.StartBuffers)
				assert.Equal(t, uint32(4), h.PointerSize)
				assert.Equal(t, uint32(0), h.EventsLost)
				assert.Equal(t, uint32(2394), h.CpuSpeedInMHz)
				assert.Equal(t, int32(-60), h.TimeZoneBias)
				assert.Equal(t, int64(0x01CC08C000000000), h.BootTime)
				assert.Equal(t, int64(10_000_000), h.PerfFreq)
				assert.Equal(t, int64(0x01CC08C867000000), h.StartTime)
				assert.Equal(t, uint32(1), h.ClockType)
				assert.Equal(t, uint32(0), h.BuffersLost)
				assert.Equal(t, "Relogger", h.LoggerName.String())
				assert.Equal(t, "[multiple files]", h.LogFileName.String())
			},
		},
		{
			name: "TraceExtension (TV2)",
			ev:   eventFromRecord(t, hexDump(t, tv2)[:0x44]),
			kind: KindTraceExtension, min: 32,
			check: func(t *testing.T, d *Decoded) {
				assert.Equal(t, uint32(0x104), d.Extension.GroupMasks[1])
			},
		},
		{
			name: "PartitionInfo",
			ev: event(etl.KindSystem64, EventTraceGUID, 80, 2, le(uint16(2), uint16(0), uint32(1), uint64(0x1234),
				hexDump(t, `d7 75 e6 b3 54 25 18 4f 83 0b 27 62 73 25 60 de`), make([]byte, 16))),
			kind: KindPartitionInfo, min: 48,
			check: func(t *testing.T, d *Decoded) {
				pi := d.Partition
				assert.Equal(t, uint16(2), pi.EventVersion)
				assert.Equal(t, uint32(1), pi.PartitionType)
				assert.Equal(t, int64(0x1234), pi.QpcOffsetFromRoot)
				assert.Equal(t, "b3e675d7-2554-4f18-830b-2762732560de", pi.PartitionID.String())
				assert.True(t, pi.ParentID.IsZero())
			},
		},
		{
			name: "StackKeyRef 32-bit",
			ev:   event(etl.KindPerfInfo32, StackWalkGUID, 38, 2, le(uint64(0x1122334455), uint32(9), uint32(10), uint32(0x8A001230))),
			kind: KindStackKeyRef, min: 20,
			check: func(t *testing.T, d *Decoded) {
				r := d.KeyRef
				assert.Equal(t, int64(0x1122334455), r.EventTimeStamp)
				assert.Equal(t, uint32(9), r.ProcessID)
				assert.Equal(t, uint32(10), r.ThreadID)
				assert.Equal(t, uint64(0x8A001230), r.Key)
				assert.True(t, r.User)
			},
		},
		{
			name: "Stack 32-bit",
			ev: event(etl.KindPerfInfo32, StackWalkGUID, 32, 2, le(uint64(77), uint32(4), uint32(8),
				uint32(0x80501234), uint32(0x80502000), uint32(0x7C901000), uint8(0xEE))), // a stray byte
			kind: KindStack, min: 16,
			check: func(t *testing.T, d *Decoded) {
				s := d.Stack
				assert.Equal(t, int64(77), s.EventTimeStamp)
				require.Equal(t, 3, s.NumFrames())
				assert.Equal(t, []uint64{0x80501234, 0x80502000, 0x7C901000}, s.AppendFrames(nil))
				assert.True(t, IsKernelAddress(s.Frame(0), 4))
				assert.False(t, IsKernelAddress(s.Frame(2), 4))
				assert.Equal(t, 28, s.Used, "a partial pointer is not a frame")
			},
		},
		{
			name: "StackKeyDef 32-bit user",
			ev:   event(etl.KindPerfInfo32, StackWalkGUID, 36, 2, le(uint32(0x8A001230), uint32(0x7C901000), uint32(0x401000))),
			kind: KindStackKeyDef, min: 4,
			check: func(t *testing.T, d *Decoded) {
				k := d.KeyDef
				assert.Equal(t, uint8(36), k.Op)
				assert.Equal(t, uint64(0x8A001230), k.Key)
				assert.Equal(t, 2, k.NumFrames())
				assert.False(t, k.Kernel(), "the outermost frame is a user address")
			},
		},
	}
}

// traceHeader32 builds a 32-bit TRACE_LOGFILE_HEADER with its strings.
func traceHeader32() []byte {
	b := le(uint32(0x10000), []byte{6, 1, 1, 5}, uint32(7601), uint32(2), uint64(0x01CC08C867FE2B00),
		uint32(156250), uint32(100), uint32(1), uint32(3), uint32(1), uint32(4), uint32(0), uint32(2394),
		uint32(5), uint32(7), // LoggerName, LogFileName: not pointers
		uint32(0xFFFFFFC4), make([]byte, 168), // TimeZone: Bias −60, rest
		uint32(0), // padding
		uint64(0x01CC08C000000000), uint64(10_000_000), uint64(0x01CC08C867000000), uint32(1), uint32(0))
	if len(b) != 0x110 {
		panic("traceHeader32: fixed part is not 0x110 bytes")
	}
	return le(b, utf16z("Relogger"), utf16z("[multiple files]"))
}

func TestDecoders(t *testing.T) {
	for _, tc := range decodeCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.kind, Lookup(tc.ev))
			var d Decoded
			require.NoError(t, d.Decode(tc.ev))
			require.Equal(t, tc.kind, d.Kind)
			tc.check(t, &d)

			full := tc.ev.Payload
			defer func() { tc.ev.Payload = full }()
			for n := 0; n <= len(full); n++ {
				tc.ev.Payload = full[:n]
				err := d.Decode(tc.ev)
				if n >= tc.min {
					assert.NoError(t, err, "prefix of %d bytes", n)
					continue
				}
				var de *DecodeError
				if assert.ErrorAs(t, err, &de, "prefix of %d bytes", n) {
					assert.ErrorIs(t, err, ErrShort)
					assert.Equal(t, tc.kind, de.Kind)
					assert.Equal(t, n, de.PayloadLen)
					assert.Greater(t, de.Need, n)
					assert.LessOrEqual(t, de.Need, tc.min)
					assert.NotEmpty(t, de.Field)
				}
			}
		})
	}
}

// Records with a zero TOKEN_USER pointer and a SID after it exist (the
// syzygy MOF test data): the zero word must not be taken for a null SID.
func TestProcessZeroPointerSID(t *testing.T) {
	// syzygy-sawbuck/log_lib__process_data_32_v3.etl, DCEnd of Idle.
	ev := event(etl.KindFullHeader32, ProcessGUID, 4, 3, hexDump(t, `
00 00 00 00 00 00 00 00 00 00 00 00 ff ff ff ff 03 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00
01 01 00 00 00 00 00 05 12 00 00 00 49 64 6c 65 00 00 00`))
	var p Process
	require.NoError(t, p.Decode(ev))
	assert.Equal(t, uint32(0), p.ProcessID)
	assert.Equal(t, uint32(0xFFFFFFFF), p.SessionID)
	assert.Equal(t, int32(0x103), p.ExitStatus, "STILL_ACTIVE")
	assert.Equal(t, "S-1-5-18", p.UserSID.String())
	assert.Equal(t, "Idle", p.ImageFileName.String())
	assert.True(t, p.CommandLine.IsEmpty())
	assert.Equal(t, 51, p.Used)
}

// A null SID is one zero word; the image name follows it directly.
func TestProcessNullSID(t *testing.T) {
	for _, p := range []int{4, 8} {
		payload := le(ptr(p, 0xFFFFE00012340000), uint32(100), uint32(4), uint32(0), uint32(0), ptr(p, 0x1AA000),
			uint32(0), uint32(0), []byte("a.exe\x00"), utf16z("a"), utf16z(""), utf16z(""))
		ev := event(kind(p, etl.KindSystem64, etl.KindSystem32), ProcessGUID, 1, 4, payload)
		var pr Process
		require.NoError(t, pr.Decode(ev))
		assert.Empty(t, pr.UserSID)
		assert.Empty(t, pr.UserSID.String())
		assert.Equal(t, "a.exe", pr.ImageFileName.String())
		assert.Equal(t, "a", pr.CommandLine.String())
		assert.Equal(t, len(payload), pr.Used)
	}
}

func TestProcessMalformedSID(t *testing.T) {
	payload := le(uint64(0xFFFFE00012340000), uint32(100), uint32(4), uint32(0), uint32(0), uint64(0x1AA000),
		uint32(0), uint64(0xFFFFE00099990000), uint64(0), // TOKEN_USER
		[]byte{2, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0}, // revision 2
		[]byte("a.exe\x00"))
	ev := event(etl.KindSystem64, ProcessGUID, 1, 4, payload)
	var p Process
	err := p.Decode(ev)
	var de *DecodeError
	require.ErrorAs(t, err, &de)
	assert.ErrorIs(t, err, ErrMalformed)
	assert.Equal(t, "UserSID", de.Field)
	assert.Equal(t, 36, de.Need, "offset of the field")
	assert.Contains(t, err.Error(), "malformed field: UserSID at payload offset 36")

	payload[36+16+1] = 16 // 16 sub-authorities: more than a SID can have
	payload[36+16] = 1
	assert.ErrorIs(t, p.Decode(ev), ErrMalformed)
}

func TestSIDString(t *testing.T) {
	assert.Equal(t, "S-1-5-18", SID{1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0}.String())
	assert.Equal(t, "S-1-0x123456789abc", SID{1, 0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc}.String())
	assert.Equal(t, "S-1-16-12288", SID{1, 1, 0, 0, 0, 0, 0, 16, 0, 0x30, 0, 0}.String())
	assert.Empty(t, SID{1, 2, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0}.String(), "too short for its count")
}

// A Process v4 record as Windows 8 writes Defunct events (no
// PackageFullName and ApplicationId) decodes with empty strings.
func TestProcessMissingTrailingStrings(t *testing.T) {
	payload := le(uint64(0xFFFFFA83031C4080), uint32(0x268), uint32(0x1C8), uint32(1), uint32(0), uint64(0x541A000),
		uint32(0), uint64(0xFFFFF8A002D968D0), uint64(0x100000000),
		[]byte{1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0}, []byte("winlogon.exe\x00"), uint16(0))
	require.Len(t, payload, 79, "the length of the two Defunct v4 records in net.4.5.2.x64.etl")
	var p Process
	require.NoError(t, p.Decode(event(etl.KindPerfInfo64, ProcessGUID, 39, 4, payload)))
	assert.Equal(t, "winlogon.exe", p.ImageFileName.String())
	assert.True(t, p.PackageFullName.IsEmpty())
	assert.Equal(t, int64(0), p.ExitTime, "v4 has no ExitTime")
	assert.Equal(t, 79, p.Used)
}
