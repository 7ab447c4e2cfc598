package stacks

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/etl/etltest"
	"github.com/poolprof/poolprof/etl/kernel"
)

// Hook ids of the kernel events the synthetic traces use
// (docs/etl-format.md §3.11, §4.1–§4.3).
const (
	hookPoolAlloc   = 0x0E20
	hookStack       = 0x1820
	hookKeyDelete   = 0x1823
	hookKeyRundown  = 0x1824
	hookKeyKernel   = 0x1825
	hookKeyUser     = 0x1826
	hookImageLoad   = 0x030A
	hookImageUnload = 0x1402
	hookImageDCS    = 0x1403
	hookCSwitch     = 0x0524
)

// Addresses of the synthetic stacks: kernel frames in system space, user
// frames below it.
const (
	k1 = 0xfffff80000101000 + iota
	k2
	k3
	k4
)

const (
	u1 = 0x00007ff600001000 + iota
	u2
	u3
	u4
)

// trace builds a synthetic kernel trace with etltest.
type trace struct {
	t *testing.T
	b *etltest.Builder
}

func newTrace(t *testing.T, cpus int) *trace {
	b, err := etltest.New(etltest.Options{CPUs: cpus, BufferSize: 16 << 10})
	require.NoError(t, err)
	return &trace{t, b}
}

// ts is the raw timestamp d after the start (QPC at 10 MHz: 100 ns ticks).
func (tr *trace) ts(d time.Duration) int64 { return tr.b.Timestamp(d) }

func (tr *trace) add(cpu int, r etltest.Record) {
	tr.t.Helper()
	_, err := tr.b.Add(cpu, r)
	require.NoError(tr.t, err)
}

// alloc adds a pool allocation with a SYSTEM header (thread and process).
func (tr *trace) alloc(cpu int, ts int64, pid, tid uint32, size uint64) {
	tr.add(cpu, etltest.Record{Kind: etl.KindSystem64, HookID: hookPoolAlloc, Version: 2,
		ThreadID: tid, ProcessID: pid, Timestamp: ts, Payload: poolPayload("Toke", size)})
}

// allocPerfInfo adds a pool allocation with a PERFINFO header (no thread).
func (tr *trace) allocPerfInfo(cpu int, ts int64, size uint64) {
	tr.add(cpu, etltest.Record{Kind: etl.KindPerfInfo64, HookID: hookPoolAlloc, Version: 2,
		Timestamp: ts, Payload: poolPayload("Toke", size)})
}

// noise adds an event nobody holds (a context switch) that moves the clock.
func (tr *trace) noise(cpu int, ts int64) {
	tr.add(cpu, etltest.Record{Kind: etl.KindSystem64, HookID: hookCSwitch, Version: 2,
		ThreadID: 1, ProcessID: 1, Timestamp: ts, Payload: make([]byte, 24)})
}

// stack adds a Stack event for the event at eventTS of thread tid.
func (tr *trace) stack(cpu int, ts, eventTS int64, pid, tid uint32, frames ...uint64) {
	p := binary.LittleEndian.AppendUint64(nil, uint64(eventTS))
	p = binary.LittleEndian.AppendUint32(p, pid)
	p = binary.LittleEndian.AppendUint32(p, tid)
	for _, f := range frames {
		p = binary.LittleEndian.AppendUint64(p, f)
	}
	tr.add(cpu, etltest.Record{Kind: etl.KindPerfInfo64, HookID: hookStack, Version: 2, Timestamp: ts, Payload: p})
}

// keyRef adds a StackKeyKernel (user false) or StackKeyUser reference.
func (tr *trace) keyRef(cpu int, ts, eventTS int64, pid, tid uint32, user bool, key uint64) {
	p := binary.LittleEndian.AppendUint64(nil, uint64(eventTS))
	p = binary.LittleEndian.AppendUint32(p, pid)
	p = binary.LittleEndian.AppendUint32(p, tid)
	p = binary.LittleEndian.AppendUint64(p, key)
	hook := uint16(hookKeyKernel)
	if user {
		hook = hookKeyUser
	}
	tr.add(cpu, etltest.Record{Kind: etl.KindPerfInfo64, HookID: hook, Version: 2, Timestamp: ts, Payload: p})
}

// keyDef adds a key definition (KeyDelete or KeyRundown).
func (tr *trace) keyDef(cpu int, hook uint16, ts int64, key uint64, frames ...uint64) {
	p := binary.LittleEndian.AppendUint64(nil, key)
	for _, f := range frames {
		p = binary.LittleEndian.AppendUint64(p, f)
	}
	tr.add(cpu, etltest.Record{Kind: etl.KindPerfInfo64, HookID: hook, Version: 2, Timestamp: ts, Payload: p})
}

// events closes the trace and reads it back in time order.
func (tr *trace) events() []*etl.Event {
	tr.t.Helper()
	data, err := tr.b.Bytes()
	require.NoError(tr.t, err)
	f, err := etl.NewFile(bytes.NewReader(data), int64(len(data)))
	require.NoError(tr.t, err)
	r := f.NewReader(etl.OrderTime)
	var out []*etl.Event
	var ev etl.Event
	for {
		err := r.Next(&ev)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(tr.t, err)
		if ev.IsKernel() && ev.HookID == 0 {
			continue // the logfile header
		}
		out = append(out, ev.Clone())
	}
	require.Zero(tr.t, r.Stats().OutOfOrder)
	return out
}

// got is one delivered held event.
type got struct {
	ts  int64
	ref Ref
}

// join runs a Joiner over events, holding pool allocations and EVENT_HEADER
// events, and returns what it delivered, in order.
func join(t *testing.T, events []*etl.Event, opts Options) ([]got, *Joiner[int64]) {
	t.Helper()
	var out []got
	j := NewJoiner(opts, func(ts int64, ref Ref) { out = append(out, got{ts, ref}) })
	for _, ev := range events {
		if kernel.Lookup(ev) == kernel.KindPoolAlloc || ev.Kind == etl.KindEventHeader64 {
			j.Hold(ev, ev.Timestamp)
		} else {
			j.Observe(ev)
		}
	}
	j.Finish()
	return out, j
}

func poolPayload(tag string, size uint64) []byte {
	p := binary.LittleEndian.AppendUint32(nil, 1) // PagedPool
	p = append(p, tag...)
	p = binary.LittleEndian.AppendUint64(p, size)
	return binary.LittleEndian.AppendUint64(p, 0xffffc00012340000)
}

func wstr(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return append(b, 0, 0)
}

// imagePayload is an Image event, version 3, 64-bit (§4.3).
func imagePayload(base, size uint64, pid, tds uint32, path string) []byte {
	p := binary.LittleEndian.AppendUint64(nil, base)
	p = binary.LittleEndian.AppendUint64(p, size)
	p = binary.LittleEndian.AppendUint32(p, pid)
	p = binary.LittleEndian.AppendUint32(p, 0x1234) // checksum
	p = binary.LittleEndian.AppendUint32(p, tds)
	p = binary.LittleEndian.AppendUint32(p, 0) // signature level and type, reserved
	p = binary.LittleEndian.AppendUint64(p, base)
	p = append(p, make([]byte, 16)...)
	return append(p, wstr(path)...)
}

// imageIDPayload is a KernelTraceControl ImageID event, 64-bit (§4.4.1).
func imageIDPayload(base, size uint64, pid, tds uint32, name string) []byte {
	p := binary.LittleEndian.AppendUint64(nil, base)
	p = binary.LittleEndian.AppendUint64(p, size)
	p = binary.LittleEndian.AppendUint32(p, pid)
	p = binary.LittleEndian.AppendUint32(p, tds)
	return append(p, wstr(name)...)
}

// dbgIDPayload is a DbgID_RSDS event, 64-bit.
func dbgIDPayload(base uint64, pid uint32, guid etl.GUID, age uint32, pdb string) []byte {
	p := binary.LittleEndian.AppendUint64(nil, base)
	p = binary.LittleEndian.AppendUint32(p, pid)
	var g [16]byte
	guid.PutBytes(g[:])
	p = append(p, g[:]...)
	p = binary.LittleEndian.AppendUint32(p, age)
	p = append(p, pdb...)
	return append(p, 0)
}

func (tr *trace) image(cpu int, hook uint16, ts int64, base, size uint64, pid uint32, path string) {
	tr.add(cpu, etltest.Record{Kind: etl.KindSystem64, HookID: hook, Version: 3,
		ThreadID: 8, ProcessID: pid, Timestamp: ts, Payload: imagePayload(base, size, pid, 0, path)})
}

func (tr *trace) imageID(cpu int, ts int64, base, size uint64, pid, tds uint32, name string) {
	tr.add(cpu, etltest.Record{Kind: etl.KindFullHeader64, Provider: kernel.ImageIDGUID, Opcode: 0, Version: 2,
		ThreadID: noThread, ProcessID: pid, Timestamp: ts, Payload: imageIDPayload(base, size, pid, tds, name)})
}

func (tr *trace) dbgID(cpu int, ts int64, base uint64, pid uint32, guid etl.GUID, age uint32, pdb string) {
	tr.add(cpu, etltest.Record{Kind: etl.KindFullHeader64, Provider: kernel.ImageIDGUID, Opcode: 36, Version: 2,
		ThreadID: noThread, ProcessID: pid, Timestamp: ts, Payload: dbgIDPayload(base, pid, guid, age, pdb)})
}
