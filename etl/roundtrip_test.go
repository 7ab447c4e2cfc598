package etl_test

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/etl/etltest"
)

// decodedKinds are the header kinds the reader decodes field by field.
var decodedKinds = []etl.HeaderKind{
	etl.KindSystem32, etl.KindSystem64, etl.KindCompact32, etl.KindCompact64,
	etl.KindPerfInfo32, etl.KindPerfInfo64, etl.KindFullHeader32, etl.KindFullHeader64,
	etl.KindInstance32, etl.KindInstance64, etl.KindEventHeader32, etl.KindEventHeader64,
	etl.KindMessage,
}

var testProvider = etl.MustParseGUID("8e805eb3-6a8f-4a1e-90fa-a831d94e54a1")

// sampleRecord makes a record of kind k whose every header field is set,
// so that a field read from the wrong place shows.
func sampleRecord(rng *rand.Rand, k etl.HeaderKind, ts int64) etltest.Record {
	payload := make([]byte, rng.IntN(200))
	for i := range payload {
		payload[i] = byte(rng.Uint32())
	}
	r := etltest.Record{
		Kind: k, Timestamp: ts, Payload: payload,
		ThreadID: rng.Uint32N(1 << 16), ProcessID: rng.Uint32N(1 << 16),
	}
	switch k {
	case etl.KindSystem32, etl.KindSystem64, etl.KindCompact32, etl.KindCompact64, etl.KindPerfInfo32, etl.KindPerfInfo64:
		r.HookID = uint16(rng.IntN(0x1F))<<8 | uint16(rng.IntN(256))
		r.Version = uint16(rng.IntN(6))
		if rng.IntN(4) == 0 { // PEBS index and two PMC counters
			r.Version |= 0x8000 | 2<<8
			r.PEBS = []byte{1, 2, 3, 4, 5, 6, 7, 8}
			r.PMC = bytes.Repeat([]byte{0xAB}, 16)
		}
		if k == etl.KindSystem32 || k == etl.KindSystem64 {
			r.KernelTime, r.UserTime = rng.Uint32(), rng.Uint32()
		}
	case etl.KindFullHeader32, etl.KindFullHeader64, etl.KindInstance32, etl.KindInstance64:
		r.Provider = testProvider
		r.Opcode, r.Level, r.Version = uint8(rng.IntN(256)), uint8(rng.IntN(6)), uint16(rng.IntN(5))
		r.KernelTime, r.UserTime = rng.Uint32(), rng.Uint32()
		r.InstanceID, r.ParentInstanceID = rng.Uint32(), rng.Uint32()
		if k == etl.KindInstance32 || k == etl.KindInstance64 {
			r.ParentGUID = etl.ProviderPool
		}
	case etl.KindEventHeader32, etl.KindEventHeader64:
		r.Provider = testProvider
		r.ID, r.Version, r.Channel, r.Level, r.Opcode = uint16(rng.IntN(1000)), uint16(rng.IntN(4)), 11, 4, uint8(rng.IntN(60))
		r.Task, r.Keywords, r.EventProperty = uint16(rng.IntN(100)), rng.Uint64(), 8
		r.KernelTime, r.UserTime = rng.Uint32(), rng.Uint32()
		r.ActivityID = etl.ProviderImage
		if rng.IntN(2) == 0 {
			r.Ext = []etl.ExtItem{
				{Type: etl.ExtStackTrace64, Data: make([]byte, 8+8*rng.IntN(10))},
				{Type: etl.ExtTerminalSession, Data: []byte{3, 0, 0, 0}},
			}
		}
	case etl.KindMessage:
		r.MessageNumber = uint16(rng.IntN(100))
		r.MessageFlags = 0x01 | 0x02 | 0x08 | 0x20 // sequence, GUID, timestamp, thread/process
		r.Sequence = rng.Uint32()
		r.Provider = testProvider
	}
	return r
}

// checkEvent compares an event read back with the record that was written.
func checkEvent(t *testing.T, want *etltest.Record, ev *etl.Event) {
	t.Helper()
	assert.Equal(t, want.Kind, ev.Kind)
	assert.Equal(t, want.Timestamp, ev.Timestamp)
	assert.Equal(t, want.Payload, ev.Payload[:len(ev.Payload):len(ev.Payload)])
	switch want.Kind {
	case etl.KindSystem32, etl.KindSystem64, etl.KindCompact32, etl.KindCompact64, etl.KindPerfInfo32, etl.KindPerfInfo64:
		assert.Equal(t, want.HookID, ev.HookID)
		assert.Equal(t, uint8(want.HookID>>8), ev.Group)
		assert.Equal(t, uint8(want.HookID), ev.Opcode)
		assert.Equal(t, want.Version&0xFF, ev.Version)
		assert.Equal(t, want.PEBS, []byte(ev.PEBS))
		assert.Equal(t, want.PMC, []byte(ev.PMC))
		wantProvider, _ := etl.KernelGroupGUID(uint8(want.HookID >> 8))
		if want.HookID == 0x030A {
			wantProvider = etl.ProviderImage
		}
		assert.Equal(t, wantProvider, ev.Provider)
		if want.Kind == etl.KindPerfInfo32 || want.Kind == etl.KindPerfInfo64 {
			assert.False(t, ev.HasThread())
			assert.Equal(t, ^uint32(0), ev.ThreadID)
		} else {
			assert.Equal(t, want.ThreadID, ev.ThreadID)
			assert.Equal(t, want.ProcessID, ev.ProcessID)
		}
		if want.Kind == etl.KindSystem32 || want.Kind == etl.KindSystem64 {
			assert.Equal(t, want.KernelTime, ev.KernelTime)
			assert.Equal(t, want.UserTime, ev.UserTime)
		}
	case etl.KindFullHeader32, etl.KindFullHeader64, etl.KindInstance32, etl.KindInstance64:
		assert.Equal(t, want.Provider, ev.Provider)
		assert.Equal(t, want.Opcode, ev.Opcode)
		assert.Equal(t, want.Level, ev.Level)
		assert.Equal(t, want.Version, ev.Version)
		assert.Equal(t, want.ThreadID, ev.ThreadID)
		assert.Equal(t, want.ProcessID, ev.ProcessID)
		assert.Equal(t, want.KernelTime, ev.KernelTime)
		if want.Kind == etl.KindInstance32 || want.Kind == etl.KindInstance64 {
			assert.Equal(t, want.InstanceID, ev.InstanceID)
			assert.Equal(t, want.ParentInstanceID, ev.ParentInstanceID)
			assert.Equal(t, want.ParentGUID, ev.ParentGUID)
		}
	case etl.KindEventHeader32, etl.KindEventHeader64:
		assert.Equal(t, want.Provider, ev.Provider)
		assert.Equal(t, want.ID, ev.ID)
		assert.Equal(t, want.Version, ev.Version)
		assert.Equal(t, want.Channel, ev.Channel)
		assert.Equal(t, want.Level, ev.Level)
		assert.Equal(t, want.Opcode, ev.Opcode)
		assert.Equal(t, want.Task, ev.Task)
		assert.Equal(t, want.Keywords, ev.Keywords)
		assert.Equal(t, want.EventProperty, ev.EventProperty)
		assert.Equal(t, want.ActivityID, ev.ActivityID)
		assert.Equal(t, want.ThreadID, ev.ThreadID)
		assert.Equal(t, want.ProcessID, ev.ProcessID)
		var got []etl.ExtItem
		ev.ExtendedItems(func(it etl.ExtItem) bool {
			got = append(got, etl.ExtItem{Type: it.Type, Data: slices.Clone(it.Data)})
			return true
		})
		if len(want.Ext) == 0 {
			assert.Empty(t, got)
		} else {
			assert.Equal(t, want.Ext, got)
		}
	case etl.KindMessage:
		assert.Equal(t, want.MessageNumber, ev.MessageNumber)
		assert.Equal(t, want.MessageFlags, ev.MessageFlags)
		assert.Equal(t, want.Sequence, ev.Sequence)
		assert.Equal(t, want.Provider, ev.Provider)
		assert.Equal(t, want.ThreadID, ev.ThreadID)
		assert.Equal(t, want.ProcessID, ev.ProcessID)
	}
}

// written is a record as the builder placed it.
type written struct {
	rec   etltest.Record
	place etltest.Placement
}

// buildTrace writes n records of the given kinds over cpus processors with
// timestamps that interleave across processors, and returns the file and
// what was written where.
func buildTrace(t testing.TB, opts etltest.Options, kinds []etl.HeaderKind, n int, seed uint64) ([]byte, []written) {
	rng := rand.New(rand.NewPCG(seed, 1))
	b, err := etltest.New(opts)
	require.NoError(t, err)
	cpus := b.Options().CPUs
	refs := make([]etltest.Ref, 0, n)
	recs := make([]etltest.Record, 0, n)
	clock := make([]int64, cpus)
	for i := range n {
		cpu := rng.IntN(cpus)
		clock[cpu] += 1 + int64(rng.IntN(50)) // per CPU, time never goes back
		r := sampleRecord(rng, kinds[i%len(kinds)], b.Timestamp(time.Millisecond)+clock[cpu])
		ref, err := b.Add(cpu, r)
		require.NoError(t, err)
		refs, recs = append(refs, ref), append(recs, r)
	}
	data, err := b.Bytes()
	require.NoError(t, err)
	out := make([]written, n)
	for i := range n {
		p, err := b.Placement(refs[i])
		require.NoError(t, err)
		out[i] = written{recs[i], p}
	}
	return data, out
}

// TestRoundTrip writes files of every header kind, pointer size and
// compression with etltest and reads them back exactly, in both orders.
func TestRoundTrip(t *testing.T) {
	for _, k := range decodedKinds {
		for _, ptr := range []int{4, 8} {
			for _, compressed := range []bool{false, true} {
				name := fmt.Sprintf("%s/ptr%d/compressed=%v", k, ptr, compressed)
				t.Run(name, func(t *testing.T) {
					opts := etltest.Options{PointerSize: ptr, CPUs: 3, BufferSize: 4096, Compressed: compressed}
					data, recs := buildTrace(t, opts, []etl.HeaderKind{k}, 300, uint64(k)*10+uint64(ptr))
					f, err := etl.NewFile(bytes.NewReader(data), int64(len(data)))
					require.NoError(t, err)
					assert.Equal(t, ptr, f.HeaderPointerSize)
					assert.Equal(t, uint32(len(f.Buffers())), f.Header.BuffersWritten)

					byPlace := map[etltest.Placement]*etltest.Record{}
					for i := range recs {
						byPlace[recs[i].place] = &recs[i].rec
					}
					fileOrder := f.NewReader(etl.OrderFile)
					var got []etltest.Placement
					for ev, err := range fileOrder.All() {
						require.NoError(t, err)
						if ev.Buffer == 0 {
							continue // the logfile header event
						}
						p := etltest.Placement{Buffer: ev.Buffer, Offset: ev.Offset}
						want, ok := byPlace[p]
						require.True(t, ok, "event at %+v was not written", p)
						checkEvent(t, want, ev)
						got = append(got, p)
					}
					assert.Len(t, got, len(recs))
					assert.Empty(t, fileOrder.Problems())

					// In time order: all events, sorted by timestamp, equal
					// timestamps in file order.
					sorted := slices.Clone(recs)
					slices.SortStableFunc(sorted, func(a, b written) int {
						if c := cmp.Compare(a.rec.Timestamp, b.rec.Timestamp); c != 0 {
							return c
						}
						if a.place.Buffer != b.place.Buffer {
							return a.place.Buffer - b.place.Buffer
						}
						return a.place.Offset - b.place.Offset
					})
					i := 0
					for ev, err := range f.Events() {
						require.NoError(t, err)
						if ev.Buffer == 0 {
							continue
						}
						require.Less(t, i, len(sorted))
						assert.Equal(t, sorted[i].place, etltest.Placement{Buffer: ev.Buffer, Offset: ev.Offset}, "event %d", i)
						i++
					}
					assert.Equal(t, len(sorted), i)
				})
			}
		}
	}
}

// TestLogfileHeaderRoundTrip checks every header field that etltest can
// set, for both pointer sizes, and the clock conversion for every clock.
func TestLogfileHeaderRoundTrip(t *testing.T) {
	start := time.Date(2026, 3, 27, 3, 57, 1, 644634300, time.UTC)
	for _, ptr := range []int{4, 8} {
		for _, clock := range []etl.ClockType{etl.ClockQPC, etl.ClockSystemTime, etl.ClockCPUCycle} {
			t.Run(fmt.Sprintf("ptr%d/%s", ptr, clock), func(t *testing.T) {
				opts := etltest.Options{
					PointerSize: ptr, CPUs: 6, BufferSize: 8192, ClockType: clock,
					PerfFreq: 3_000_000, CPUSpeedMHz: 2112, StartTime: start,
					BootTime: start.Add(-time.Hour), OSMajor: 10, OSBuild: 19042,
					LoggerName: "PerfDiag Logger", LogFileName: `C:\Windows\system32\WDI\LogFiles\x.etl`,
					EventsLost: 3, BuffersLost: 2, TimerResolution: 156250, LogFileMode: 0x02000080,
					HeaderRecord: etltest.HeaderRecord{Timestamp: 123456789},
				}
				b, err := etltest.New(opts)
				require.NoError(t, err)
				ts := b.Timestamp(90 * time.Second)
				_, err = b.Add(2, etltest.Record{Kind: etl.KindSystem64, HookID: 0x0E20, Timestamp: ts})
				require.NoError(t, err)
				data, err := b.Bytes()
				require.NoError(t, err)
				f, err := etl.NewFile(bytes.NewReader(data), int64(len(data)))
				require.NoError(t, err)
				h := f.Header
				assert.Equal(t, uint32(8192), h.BufferSize)
				assert.Equal(t, uint8(10), h.OSMajor)
				assert.Equal(t, uint32(19042), h.OSBuild)
				assert.Equal(t, uint32(6), h.NumProcessors)
				assert.Equal(t, uint32(ptr), h.PointerSize)
				assert.Equal(t, clock, h.ClockType)
				assert.Equal(t, uint32(2112), h.CPUSpeedMHz)
				assert.Equal(t, "PerfDiag Logger", h.LoggerName)
				assert.Equal(t, `C:\Windows\system32\WDI\LogFiles\x.etl`, h.LogFileName)
				assert.Equal(t, uint32(3), h.EventsLost)
				assert.Equal(t, uint32(2), h.BuffersLost)
				assert.Equal(t, uint32(156250), h.TimerResolution)
				assert.Equal(t, uint32(0x02000080), h.LogFileMode)
				assert.Equal(t, start, h.Start())
				assert.Equal(t, start.Add(-time.Hour), h.Boot())
				assert.Equal(t, start, f.Time(123456789), "the header event is StartTime")
				assert.Equal(t, start.Add(90*time.Second), f.Time(ts))
			})
		}
	}
}

func TestTicksPerSecond(t *testing.T) {
	assert.Equal(t, int64(3_579_545), (&etl.LogfileHeader{ClockType: etl.ClockQPC, PerfFreq: 3_579_545}).TicksPerSecond())
	assert.Equal(t, int64(10_000_000), (&etl.LogfileHeader{ClockType: etl.ClockSystemTime, PerfFreq: 3_579_545}).TicksPerSecond())
	assert.Equal(t, int64(2_400_000_000), (&etl.LogfileHeader{ClockType: etl.ClockCPUCycle, CPUSpeedMHz: 2400}).TicksPerSecond())
	assert.Equal(t, int64(10_000_000), (&etl.LogfileHeader{}).TicksPerSecond(), "a header that does not say")
}
