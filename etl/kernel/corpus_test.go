package kernel

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/internal/corpus"
)

// The real corpus lives beside the checkout (../shared/testdata/etl, see its
// README). Each X.etl has X.etl.dissect.jsonl.gz, a dump by an independent
// parser with the first 64 payload bytes of every event.
//
// Until the etl reader exists these tests take payloads from the dumps.
// For files whose buffers are stored uncompressed at multiples of the
// buffer size, the whole payload is read from the .etl at the dump's
// (buffer, offset), and used only when its header kind and first 64 bytes
// agree with the dump; for the others (compressed files) only the 64-byte
// prefix is decoded. corpus_reader_test.go holds the full-payload tests
// that will run through etl.Open.
// dumpRecord is one line of a dissect dump.
type dumpRecord struct {
	I        int     `json:"i"`
	Buf      int     `json:"buf"`
	Off      int     `json:"off"`
	HTC      uint8   `json:"htc"`
	TsRaw    int64   `json:"ts_raw"`
	Provider string  `json:"provider"`
	Group    *uint8  `json:"group"`
	Opcode   uint8   `json:"opcode"`
	Version  uint16  `json:"version"`
	PID      *uint32 `json:"pid"`
	TID      *uint32 `json:"tid"`
	Size     int     `json:"size"`
	Plen     int     `json:"plen"`
	Payload  string  `json:"payload"`
}

// corpusEvent is a dumped event rebuilt as the reader will report it.
type corpusEvent struct {
	dump dumpRecord
	ev   etl.Event
	full bool // ev.Payload is the whole payload, not the 64-byte prefix
}

// sawbuck64 reports the syzygy test files whose generator logged 64-bit
// payload layouts from a 32-bit process: their records are FULL_HEADER32
// (and the logfile header says PointerSize 4) but the payloads are 64-bit,
// so the header kind gives the wrong pointer size. The tests correct the
// kind; a real trace cannot be told apart this way.
func sawbuck64(name string) bool {
	return strings.HasPrefix(name, "syzygy-sawbuck/") && strings.Contains(name, "_64_")
}

// corpusCache keeps each file's events for the tests that share them.
var corpusCache sync.Map // path → []corpusEvent

func loadCorpus(t *testing.T, path string) []corpusEvent {
	t.Helper()
	if v, ok := corpusCache.Load(path); ok {
		return v.([]corpusEvent)
	}
	name := corpus.Name(path)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(data), 4)
	bufSize := int(binary.LittleEndian.Uint32(data))

	sc := corpus.Dump(t, path)

	var out []corpusEvent
	for sc.Scan() {
		var d dumpRecord
		require.NoError(t, json.Unmarshal(sc.Bytes(), &d))
		prefix, err := hex.DecodeString(d.Payload)
		require.NoError(t, err)
		provider, err := etl.ParseGUID(d.Provider)
		require.NoError(t, err)
		ce := corpusEvent{dump: d, ev: etl.Event{
			Kind: etl.HeaderKind(d.HTC), Provider: provider, Opcode: d.Opcode, Version: d.Version,
			Timestamp: d.TsRaw, Size: d.Size, Buffer: d.Buf, Offset: d.Off,
			ProcessID: 0xFFFFFFFF, ThreadID: 0xFFFFFFFF, Payload: prefix,
		}}
		if d.PID != nil {
			ce.ev.ProcessID = *d.PID
		}
		if d.TID != nil {
			ce.ev.ThreadID = *d.TID
		}
		// The whole payload, when the record sits where an uncompressed
		// file puts it.
		rec := d.Buf*bufSize + 0x48 + d.Off
		if bufSize > 0 && rec+d.Size <= len(data) && d.Plen <= d.Size && data[rec+2] == d.HTC {
			p := data[rec+d.Size-d.Plen : rec+d.Size]
			if bytes.HasPrefix(p, prefix) && len(prefix) == min(64, d.Plen) {
				ce.ev.Payload, ce.full = p, true
			}
		}
		if sawbuck64(name) && ce.ev.Kind == etl.KindFullHeader32 {
			ce.ev.Kind = etl.KindFullHeader64
		}
		out = append(out, ce)
	}
	require.NoError(t, sc.Err())
	corpusCache.Store(path, out)
	return out
}

// TestCorpusTraceHeaders decodes the logfile header event of every file:
// the first record of buffer 0, which is never compressed.
func TestCorpusTraceHeaders(t *testing.T) {
	// Facts from the corpus README and docs/etl-format.md §2.
	type facts struct {
		logger, logFile string
		build           uint32
		mode            uint32
		ptr             uint32
		bufSize         uint32
		osVersion       [2]byte
	}
	want := map[string]facts{
		"airbus-etl-parser/ShutdownPerfDiagLogger.etl":                             {logger: "PerfDiag Logger", build: 18362, mode: 0x02000080, ptr: 8, osVersion: [2]byte{10, 0}},
		"perfview/net.4.5.2.x64.etl__net.4.5.2.x64.etl":                            {logger: "Relogger", logFile: "[multiple files]", build: 9200, mode: 0x04010001, ptr: 8, osVersion: [2]byte{6, 2}},
		"airbus-etl-parser/AMSITrace.etl":                                          {logger: "AMSITraceSession"},
		"airbus-etl-parser/lxcore_kernel.etl":                                      {bufSize: 8 << 10},
		"sonde/test.etl":                                                           {build: 29559, bufSize: 128 << 10},
		"perfview/smallEtlFile.etl":                                                {ptr: 4},
		"microsoft-Tx/WsRm01.etl":                                                  {logger: "winrm_trace", build: 7910},
		"syzygy-sawbuck/viewer__test_data_32_v0.etl":                               {build: 6001, osVersion: [2]byte{6, 0}},
		"perfview/SelfDescribingSingleEvent.etl":                                   {logger: "Relogger", logFile: "[multiple files]"},
		"syzygy-sawbuck/log_lib__process_data_64_v3.etl":                           {ptr: 4},
		"perfview/diaghub-dotnetcore3.1-win-x64-diagsession__diaghub.kernel.1.etl": {logFile: "ReloggedFile.ETL"},
	}
	seen := 0
	for _, path := range corpus.Files(t) {
		name := corpus.Name(path)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			rec := data[0x48:]
			ev := eventFromRecord(t, rec[:binary.LittleEndian.Uint16(rec[4:])])
			require.Equal(t, KindTraceHeader, Lookup(ev))
			var h TraceHeader
			require.NoError(t, h.Decode(ev))
			assert.Equal(t, len(ev.Payload), h.Used, "the log file name ends the payload")
			assert.Equal(t, uint32(ev.PointerSize()), h.PointerSize, "header kind and PointerSize field agree")
			assert.NotZero(t, h.NumberOfProcessors)
			// Not always 10 MHz: the Windows 7 and Vista files have 2.1–14.3 MHz.
			assert.Positive(t, h.PerfFreq)
			assert.Equal(t, uint32(1), h.ClockType, "QPC")
			assert.False(t, h.LogFileName.IsEmpty())
			w, ok := want[name]
			if !ok {
				return
			}
			seen++
			if w.logger != "" {
				assert.Equal(t, w.logger, h.LoggerName.String())
			}
			if w.logFile != "" {
				assert.Equal(t, w.logFile, h.LogFileName.String())
			}
			if w.build != 0 {
				assert.Equal(t, w.build, h.ProviderVersion)
			}
			if w.mode != 0 {
				assert.Equal(t, w.mode, h.LogFileMode)
			}
			if w.ptr != 0 {
				assert.Equal(t, w.ptr, h.PointerSize)
			}
			if w.bufSize != 0 {
				assert.Equal(t, w.bufSize, h.BufferSize)
			}
			if w.osVersion != [2]byte{} {
				assert.Equal(t, w.osVersion[:], h.Version[:2])
			}
		})
	}
	assert.Equal(t, len(want), seen, "every file with known facts was found")
}

// TestCorpusDecode decodes every event of a known kind in every file.
// Whole payloads must decode and their known fields must reach exactly to
// the end of the payload (strings end the records); prefixes must decode
// unless the fixed part of the event is longer than 64 bytes.
func TestCorpusDecode(t *testing.T) {
	total := map[Kind]int{}
	wholes := 0
	for _, path := range corpus.Files(t) {
		name := corpus.Name(path)
		t.Run(name, func(t *testing.T) {
			var d Decoded
			for _, ce := range loadCorpus(t, path) {
				ev := &ce.ev
				k, decodable := Identify(ev.Provider, ev.Opcode, ev.Version)
				if k == KindUnknown {
					continue
				}
				require.True(t, decodable, "event %d: %v v%d has no layout", ce.dump.I, k, ev.Version)
				err := d.Decode(ev)
				if !ce.full {
					if ce.dump.Plen > 64 && errors.Is(err, ErrShort) {
						continue // e.g. the logfile header: fixed part beyond the prefix
					}
					require.NoError(t, err, "event %d (prefix)", ce.dump.I)
					total[k]++
					continue
				}
				require.NoError(t, err, "event %d", ce.dump.I)
				total[k]++
				wholes++
				checkWhole(t, ev, ce.dump.I, &d)
			}
		})
	}
	for k, n := range total {
		t.Logf("%-18v %6d events", k, n)
	}
	t.Logf("%d decoded from whole payloads", wholes)
	if !t.Failed() {
		// The corpus has these kinds; losing them means the table broke.
		for _, k := range []Kind{KindImageLoad, KindImageUnload, KindImageDCStart, KindImageDCEnd,
			KindImageKernelBase, KindImageID, KindImageIDNone, KindDbgIDRSDS, KindDbgIDILRSDS,
			KindImageFileVersion, KindProcessStart, KindProcessEnd, KindProcessDCStart,
			KindProcessDCEnd, KindProcessDefunct, KindThreadStart, KindThreadEnd, KindThreadDCStart,
			KindThreadDCEnd, KindStack, KindStackKeyDef, KindStackKeyRef, KindTraceExtension,
			KindTraceEndExtension, KindPartitionInfo} {
			assert.NotZero(t, total[k], "%v", k)
		}
	}
}

// checkWhole checks the invariants of an event decoded from its whole
// payload.
func checkWhole(t *testing.T, ev *etl.Event, i int, d *Decoded) {
	t.Helper()
	n := len(ev.Payload)
	used := map[Kind]int{}
	switch d.Kind {
	case KindImageLoad, KindImageUnload, KindImageDCStart, KindImageDCEnd:
		name := d.Image.FileName.String()
		assert.True(t, strings.HasPrefix(name, `\`) || strings.HasPrefix(name[1:], `:\`), "event %d: file name %q", i, name)
		used[d.Kind] = d.Image.Used
	case KindProcessStart, KindProcessEnd, KindProcessDCStart, KindProcessDCEnd, KindProcessDefunct:
		assert.False(t, d.Process.ImageFileName.IsEmpty(), "event %d", i)
		if len(d.Process.UserSID) > 0 {
			assert.True(t, strings.HasPrefix(d.Process.UserSID.String(), "S-1-"), "event %d", i)
		}
		if d.Kind == KindProcessDefunct && ev.Version >= 5 {
			assert.NotZero(t, d.Process.ExitTime, "event %d", i)
		}
		used[d.Kind] = d.Process.Used
	case KindThreadStart, KindThreadEnd, KindThreadDCStart, KindThreadDCEnd:
		used[d.Kind] = d.Thread.Used
	case KindImageKernelBase:
		assert.True(t, IsKernelAddress(d.KernelBase.ImageBase, 8), "event %d", i)
		used[d.Kind] = d.KernelBase.Used
	case KindTraceExtension, KindTraceEndExtension:
		used[d.Kind] = d.Extension.Used
	case KindPartitionInfo:
		used[d.Kind] = d.Partition.Used
	case KindTraceHeader:
		used[d.Kind] = d.Header.Used
	}
	if u, ok := used[d.Kind]; ok {
		assert.Equal(t, n, u, "event %d (%v v%d): known fields end before the payload does", i, d.Kind, ev.Version)
	}
}

// TestCorpusCrossChecks checks decoded values against other events of the
// same file, which an independent parser wrote down.
func TestCorpusCrossChecks(t *testing.T) {
	perfInfoGUID := etl.MustParseGUID("ce1dbfb4-137e-4da6-87b0-3f59aa102cbc")
	for _, path := range corpus.Files(t) {
		name := corpus.Name(path)
		t.Run(name, func(t *testing.T) {
			events := loadCorpus(t, path)
			type imageKey struct {
				ts   int64
				base uint64
			}
			images := map[imageKey]uint32{}  // → ProcessID
			samples := map[[2]int64]uint64{} // (timestamp, thread) → sampled IP
			defs := map[uint64]bool{}
			var d Decoded
			for _, ce := range events {
				ev := &ce.ev
				if ev.Provider == perfInfoGUID && ev.Opcode == 46 && len(ev.Payload) >= 12 {
					samples[[2]int64{ev.Timestamp, int64(binary.LittleEndian.Uint32(ev.Payload[8:]))}] = binary.LittleEndian.Uint64(ev.Payload)
				}
				if d.Decode(ev) != nil {
					continue
				}
				switch d.Kind {
				case KindImageLoad, KindImageUnload, KindImageDCStart, KindImageDCEnd:
					images[imageKey{ev.Timestamp, d.Image.ImageBase}] = d.Image.ProcessID
				case KindStackKeyDef:
					defs[d.KeyDef.Key] = true
				}
			}
			counts := map[string]int{}
			for _, ce := range events {
				ev := &ce.ev
				if d.Decode(ev) != nil {
					continue
				}
				hasIDs := ce.dump.PID != nil
				switch d.Kind {
				case KindImageLoad:
					// A load runs in the loading process.
					if hasIDs && d.Image.HasProcessID && ev.Kind != etl.KindFullHeader32 && ev.Kind != etl.KindFullHeader64 {
						assert.Equal(t, ev.ProcessID, d.Image.ProcessID, "event %d", ce.dump.I)
						counts["image load pid"]++
					}
				case KindProcessEnd:
					if hasIDs && ev.Kind.IsKernel() {
						assert.Equal(t, ev.ProcessID, d.Process.ProcessID, "event %d", ce.dump.I)
						counts["process end pid"]++
					}
				case KindThreadEnd:
					if hasIDs && ev.Kind.IsKernel() {
						assert.Equal(t, ev.ProcessID, d.Thread.ProcessID, "event %d", ce.dump.I)
						assert.Equal(t, ev.ThreadID, d.Thread.ThreadID, "event %d", ce.dump.I)
						counts["thread end ids"]++
					}
				case KindImageID:
					// ImageID describes the Image event with its timestamp
					// and base, in the same process (header pid).
					pid, ok := images[imageKey{ev.Timestamp, d.ImageID.ImageBase}]
					assert.True(t, ok, "event %d: no image at 0x%x with timestamp %d", ce.dump.I, d.ImageID.ImageBase, ev.Timestamp)
					assert.Equal(t, pid, d.ImageID.ProcessID, "event %d", ce.dump.I)
					assert.Equal(t, ev.ProcessID, d.ImageID.ProcessID, "event %d", ce.dump.I)
					counts["imageid matches image"]++
				case KindImageIDNone, KindDbgIDRSDS, KindDbgIDILRSDS:
					_, ok := images[imageKey{ev.Timestamp, d.DbgID.ImageBase}]
					assert.True(t, ok, "event %d: no image at 0x%x with timestamp %d", ce.dump.I, d.DbgID.ImageBase, ev.Timestamp)
					assert.Equal(t, ev.ProcessID, d.DbgID.ProcessID, "event %d", ce.dump.I)
					if d.DbgID.HasPDB {
						assert.True(t, strings.HasSuffix(strings.ToLower(d.DbgID.PDBFileName.String()), ".pdb") || ce.dump.Plen > 64,
							"event %d: %q", ce.dump.I, d.DbgID.PDBFileName.String())
						assert.NotZero(t, d.DbgID.Age, "event %d", ce.dump.I)
					}
					counts["dbgid matches image"]++
				case KindStackKeyRef:
					assert.True(t, defs[d.KeyRef.Key], "event %d: key 0x%x never defined", ce.dump.I, d.KeyRef.Key)
					counts["key ref defined"]++
				case KindStack:
					// A kernel-mode stack of a sampled-profile event starts
					// at the sampled instruction pointer.
					if d.Stack.NumFrames() > 0 && IsKernelAddress(d.Stack.Frame(0), d.Stack.PointerSize()) {
						if ip, ok := samples[[2]int64{d.Stack.EventTimeStamp, int64(d.Stack.ThreadID)}]; ok {
							assert.Equal(t, ip, d.Stack.Frame(0), "event %d", ce.dump.I)
							counts["stack frame 0 = sampled ip"]++
						}
					}
				}
			}
			for what, n := range counts {
				t.Logf("%-28s %6d checked", what, n)
			}
			switch name {
			case "perfview/net.4.5.2.x64.etl__net.4.5.2.x64.etl":
				assert.Equal(t, 3590, counts["imageid matches image"])
				assert.Equal(t, 3534+44+12, counts["dbgid matches image"])
				assert.Equal(t, 2061+7046, counts["key ref defined"])
				assert.Equal(t, 128, counts["stack frame 0 = sampled ip"])
			case "airbus-etl-parser/ShutdownPerfDiagLogger.etl":
				assert.Equal(t, 72, counts["image load pid"])
				assert.Equal(t, 60, counts["process end pid"])
				assert.Equal(t, 1032, counts["thread end ids"])
			}
		})
	}
}

// The sawbuck "_64_" files carry 64-bit payloads under FULL_HEADER32
// records. Decoded by the header kind, the file name lands on the
// reserved words and comes out empty; with the kind corrected, every
// name is a path. This is the trap sawbuck64 corrects.
func TestCorpusSawbuckPointerSize(t *testing.T) {
	path := corpus.Path(t, "syzygy-sawbuck/log_lib__image_data_64_v2.etl")
	n := 0
	for _, ce := range loadCorpus(t, path) {
		if Lookup(&ce.ev) != KindImageDCStart {
			continue
		}
		require.True(t, ce.full)
		var im Image
		require.NoError(t, im.Decode(&ce.ev))
		assert.True(t, strings.HasPrefix(im.FileName.String(), `C:\`), im.FileName.String())
		assert.Equal(t, len(ce.ev.Payload), im.Used)

		as32 := ce.ev
		as32.Kind = etl.KindFullHeader32
		require.NoError(t, im.Decode(&as32), "a wrong pointer size cannot be detected")
		assert.True(t, im.FileName.IsEmpty())
		n++
	}
	assert.Equal(t, 24, n)
}
