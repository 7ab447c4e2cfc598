package stacks

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/etl/etltest"
	"github.com/poolprof/poolprof/etl/kernel"
)

// A WOW64 event (EVENT_HEADER32) with 32-bit stack items, and items too
// short to hold what their type says, which are ignored.
func TestJoinEventHeader32Items(t *testing.T) {
	prov := etl.MustParseGUID("edd08927-9cc4-4e65-b970-c2560fb5c289")
	tr := newTrace(t, 1)
	a, b, c := tr.ts(1*ms), tr.ts(2*ms), tr.ts(3*ms)
	trace := make([]byte, 8)
	for _, f := range []uint32{0x80001000, 0x80002000, 0x00401000} {
		trace = binary.LittleEndian.AppendUint32(trace, f)
	}
	tr.add(0, etltest.Record{Kind: etl.KindEventHeader32, Provider: prov, ThreadID: 100, ProcessID: 500, Timestamp: a,
		Ext: []etl.ExtItem{{Type: etl.ExtStackTrace32, Data: trace}, {Type: etl.ExtStackTrace32, Data: trace}}})
	key := binary.LittleEndian.AppendUint32(make([]byte, 8), 0x8a001000)
	key = append(key, 0, 0, 0, 0)
	tr.add(0, etltest.Record{Kind: etl.KindEventHeader32, Provider: prov, ThreadID: 100, ProcessID: 500, Timestamp: b,
		Ext: []etl.ExtItem{{Type: etl.ExtStackKey32, Data: key}, {Type: etl.ExtStackKey32, Data: key}}})
	tr.add(0, etltest.Record{Kind: etl.KindEventHeader32, Provider: prov, ThreadID: 100, ProcessID: 500, Timestamp: c,
		Ext: []etl.ExtItem{{Type: etl.ExtStackTrace64, Data: make([]byte, 4)}, {Type: etl.ExtStackKey64, Data: make([]byte, 12)}, {Type: etl.ExtStackTrace32, Data: make([]byte, 8)}}})
	p := binary.LittleEndian.AppendUint32(nil, 0x8a001000)
	p = binary.LittleEndian.AppendUint32(p, 0x80003000)
	tr.add(0, etltest.Record{Kind: etl.KindPerfInfo32, HookID: hookKeyRundown, Version: 2, Timestamp: tr.ts(4 * ms), Payload: p})
	events := tr.events()
	var out []got
	j := NewJoiner(Options{}, func(ts int64, ref Ref) { out = append(out, got{ts, ref}) })
	for _, ev := range events {
		if ev.Kind == etl.KindEventHeader32 {
			j.Hold(ev, ev.Timestamp)
		} else {
			j.Observe(ev)
		}
	}
	j.Finish()
	require.Len(t, out, 3)
	assert.Equal(t, []uint64{0x80001000, 0x80002000, 0x00401000}, j.Resolve(out[0].ref))
	assert.Equal(t, []uint64{0x80003000}, j.Resolve(out[1].ref))
	assert.Zero(t, out[2].ref)
	s := j.Stats()
	assert.Equal(t, int64(1), s.ExtStacks)
	assert.Equal(t, int64(1), s.ExtKeys)
	assert.Equal(t, int64(5), s.ExtIgnored, "a second trace, a second key, three too short")
	assert.Zero(t, s.Duplicates)
}

// Damaged StackWalk events are counted and skipped; an empty Stack event
// is counted.
func TestJoinDamagedStackWalk(t *testing.T) {
	tr := newTrace(t, 1)
	a := tr.ts(1 * ms)
	tr.alloc(0, a, 500, 100, 1)
	for _, hook := range []uint16{hookStack, hookKeyKernel, hookKeyUser, hookKeyDelete} {
		tr.add(0, etltest.Record{Kind: etl.KindPerfInfo64, HookID: hook, Version: 2, Timestamp: a, Payload: make([]byte, 4)})
	}
	tr.stack(0, a, a, 500, 100) // no frames
	tr.add(0, etltest.Record{Kind: etl.KindPerfInfo64, HookID: 0x1840, Version: 2, Timestamp: a, Payload: make([]byte, 4)})
	out, j := join(t, tr.events(), Options{})
	require.Len(t, out, 1)
	assert.Zero(t, out[0].ref)
	s := j.Stats()
	assert.Equal(t, int64(4), s.BadEvents)
	assert.Equal(t, int64(1), s.EmptyStacks)
}

// FuzzJoiner feeds StackWalk and held events with arbitrary payloads,
// timestamps, threads and processors: the Joiner must neither panic nor
// lose a held event, and must keep its accounting.
func FuzzJoiner(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23})
	f.Add(make([]byte, 300))
	f.Fuzz(func(t *testing.T, data []byte) {
		held := 0
		delivered := 0
		j := NewJoiner(Options{Window: 50}, func(int, Ref) { delivered++ })
		var ev etl.Event
		ops := []uint8{32, 34, 35, 36, 37, 38}
		for len(data) >= 4 {
			op, ts, tid, n := data[0], int64(data[1]%64), uint32(data[2]%4), int(data[3])
			data = data[4:]
			n = min(n, len(data))
			payload := data[:n]
			data = data[n:]
			ev = etl.Event{Kind: etl.KindPerfInfo64, Timestamp: ts, Processor: uint16(op & 1), ThreadID: noThread, Payload: payload}
			if op&0x80 != 0 {
				ev.Kind, ev.ThreadID, ev.ProcessID = etl.KindSystem64, tid, 500
				if op&0x40 != 0 {
					ev.Kind = etl.KindEventHeader64
					ev.Extended = binary.LittleEndian.AppendUint16(nil, uint16(8+len(payload)+7)&^7)
					ev.Extended = binary.LittleEndian.AppendUint16(ev.Extended, uint16(5+op%2+(op>>2&1)*12))
					ev.Extended = binary.LittleEndian.AppendUint16(ev.Extended, 0)
					ev.Extended = binary.LittleEndian.AppendUint16(ev.Extended, uint16(len(payload)))
					ev.Extended = append(ev.Extended, payload...)
					ev.Extended = append(ev.Extended, make([]byte, 7)...)
				}
				j.Hold(&ev, held)
				held++
				continue
			}
			ev.Provider, ev.Opcode = kernel.StackWalkGUID, ops[int(op)%len(ops)]
			j.Observe(&ev)
		}
		j.Finish()
		s := j.Stats()
		if delivered != held || s.Delivered != int64(held) {
			t.Fatalf("held %d, delivered %d", held, delivered)
		}
		parts := s.JoinedInline + s.JoinedByKey + s.Unmatched + s.Duplicates + s.LateKernel + s.LateUser + s.EmptyStacks
		if parts != s.StackEvents+s.KeyRefEvents {
			t.Fatalf("accounting: %+v", s)
		}
		for r := range j.NumRefs() {
			j.Resolve(Ref(r))
		}
	})
}
