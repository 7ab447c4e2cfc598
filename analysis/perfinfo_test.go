package analysis_test

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/analysis"
	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/etl/etltest"
	"github.com/poolprof/poolprof/pool"
	"github.com/poolprof/poolprof/pool/pprof"
)

// TestPerfInfoPoolEventsLearnTheirProcess: pool events logged with
// PERFINFO headers carry no process id; the Stack event that follows names
// it (StackProcess), so process filters and labels still work.
func TestPerfInfoPoolEventsLearnTheirProcess(t *testing.T) {
	b, err := etltest.New(etltest.Options{CPUs: 2})
	require.NoError(t, err)
	add := func(cpu int, ts int64, pid, tid uint32, addr uint64) {
		_, err := b.Add(cpu, pagedAlloc(t, ts, "Toke", 1664, addr))
		require.NoError(t, err)
		_, err = b.Add(cpu, stackOf(ts, pid, tid, 0xfffff80000001234, 0xfffff80000005678))
		require.NoError(t, err)
	}
	add(0, 1000, 712, 99, 0xffffa00000001000)
	add(1, 1000, 4, 8, 0xffffa00000002000) // same instant, other processor
	add(0, 2000, 712, 99, 0xffffa00000003000)
	res := analyze(t, b, analysis.Options{Pool: pool.Options{Filter: pool.Filter{PIDs: []uint32{712}}}})
	require.Len(t, res.Pool.Outstanding, 2)
	for _, a := range res.Pool.Outstanding {
		assert.Equal(t, uint32(712), a.PID)
		assert.NotZero(t, a.Stack, "the stack joined by processor")
	}
	require.Len(t, res.Pool.Rows, 1)
	assert.Equal(t, uint64(2), res.Pool.Rows[0].AIFOCount)
	assert.Equal(t, uint64(2*1664), res.Pool.Rows[0].AIFOBytes)
}

// TestAllocatorFramesDropsOnlyTheLeaf: without names only the innermost
// frame, which a pool event always has inside the allocator, is hidden;
// callers stay even when every stack shares them.
func TestAllocatorFramesDropsOnlyTheLeaf(t *testing.T) {
	nt := &pprof.Module{Name: "ntkrnlmp.exe", Start: 0x1000, Limit: 0x100000}
	stack := []pprof.Frame{{Address: 0x1100, Module: nt}, {Address: 0x2200, Module: nt}, {Address: 0x3300, Module: nt}}
	other := []pprof.Frame{{Address: 0x1100, Module: nt}, {Address: 0x2200, Module: nt}, {Address: 0x4400, Module: nt}}
	named := []pprof.Frame{{Address: 0x1180, Module: nt, Function: "ExAllocatePool2"}, {Address: 0x2200, Module: nt}}
	lone := []pprof.Frame{{Address: 0x5500, Module: nt}}
	samples := []pprof.Sample{{Frames: stack}, {Frames: stack}, {Frames: other}, {Frames: named}, {Frames: lone}}
	assert.Equal(t, pprof.AllocatorFrames+`|ntkrnlmp\.exe\+0x100`, analysis.AllocatorFrames(samples))
}

func TestOffsetSaturates(t *testing.T) {
	open := func(freq int64) *etl.File {
		b, err := etltest.New(etltest.Options{PerfFreq: freq, HeaderRecord: etltest.HeaderRecord{Timestamp: 500}})
		require.NoError(t, err)
		data, err := b.Bytes()
		require.NoError(t, err)
		f, err := etl.NewFile(bytes.NewReader(data), int64(len(data)))
		require.NoError(t, err)
		return f
	}
	f := open(3_579_545)
	assert.Equal(t, int64(500+3_579_545*90+3_579_545/2), analysis.Offset(f, 90*time.Second+500*time.Millisecond))
	assert.Equal(t, int64(33_015_475_257_663_328+500), analysis.Offset(f, time.Duration(math.MaxInt64)), "292 years at 3.58 MHz still fits")
	hostile := open(1 << 62) // a damaged header's clock rate
	assert.Equal(t, int64(math.MaxInt64), analysis.Offset(hostile, 90*time.Second), "saturates instead of wrapping")
}
