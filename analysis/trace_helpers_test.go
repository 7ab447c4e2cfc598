package analysis_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/analysis"
	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/etl/etltest"
	"github.com/poolprof/poolprof/pool"
)

// Hook ids of the PERFINFO records the small traces here are made of.
const (
	hookPoolAlloc = 0x0E20 // PoolTrace, opcode 32
	hookStack     = 0x1820 // StackWalk Stack, opcode 32
)

// pagedAlloc is a 64-bit PERFINFO PoolAlloc record: size bytes of paged
// pool with tag at addr (§4.1 of etl-format.md).
func pagedAlloc(t *testing.T, ts int64, tag string, size, addr uint64) etltest.Record {
	t.Helper()
	tg, err := pool.ParseTag(tag)
	require.NoError(t, err)
	p := make([]byte, 24)
	binary.LittleEndian.PutUint32(p[0:], 1) // PagedPool
	binary.LittleEndian.PutUint32(p[4:], tg)
	binary.LittleEndian.PutUint64(p[8:], size)
	binary.LittleEndian.PutUint64(p[16:], addr)
	return etltest.Record{Kind: etl.KindPerfInfo64, HookID: hookPoolAlloc, Version: 2, Timestamp: ts, Payload: p}
}

// stackOf is a 64-bit StackWalk Stack record for the event at ts on
// thread tid of process pid, frames innermost first.
func stackOf(ts int64, pid, tid uint32, frames ...uint64) etltest.Record {
	p := binary.LittleEndian.AppendUint64(nil, uint64(ts))
	p = binary.LittleEndian.AppendUint32(p, pid)
	p = binary.LittleEndian.AppendUint32(p, tid)
	for _, f := range frames {
		p = binary.LittleEndian.AppendUint64(p, f)
	}
	return etltest.Record{Kind: etl.KindPerfInfo64, HookID: hookStack, Version: 2, Timestamp: ts, Payload: p}
}

// analyze writes the trace b holds and runs the analysis on it.
func analyze(t *testing.T, b *etltest.Builder, opts analysis.Options) *analysis.Result {
	t.Helper()
	data, err := b.Bytes()
	require.NoError(t, err)
	f, err := etl.NewFile(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	res, err := analysis.Run(f, opts)
	require.NoError(t, err)
	return res
}
