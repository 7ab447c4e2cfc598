package stacks

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/etl/kernel"
)

// benchStream generates a pool trace in memory, event by event, reusing
// its events and payloads, so that a benchmark measures the Joiner alone.
// Each allocation (SYSTEM64 header, held) is followed by its kernel part,
// an unrelated event, and its user part a little later: Stack events with
// 16 kernel frames (one of 64 stacks) and 8 user frames (one of 8) in the
// inline form; StackKeyKernel and StackKeyUser references in the keyed
// form, whose keys are evicted (KeyDelete) every 1000 allocations and
// defined again by their next eviction.
type benchStream struct {
	keyed bool
	n     int // allocations so far
	step  int
	ts    int64

	alloc, kpart, noise, upart, def etl.Event
	kstacks, ustacks                [][]byte
	kref, uref, defPayload          []byte
}

func newBenchStream(keyed bool) *benchStream {
	pool := kernel.PoolGUID
	sw := kernel.StackWalkGUID
	s := &benchStream{keyed: keyed}
	s.alloc = etl.Event{Kind: etl.KindSystem64, Provider: pool, HookID: hookPoolAlloc, Opcode: 32, Version: 2, Payload: poolPayload("Toke", 1664)}
	s.noise = etl.Event{Kind: etl.KindSystem64, Provider: kernel.ThreadGUID, HookID: hookCSwitch, Opcode: 36, Version: 2, ThreadID: 1, ProcessID: 1, Payload: make([]byte, 24)}
	s.kpart = etl.Event{Kind: etl.KindPerfInfo64, Provider: sw, Opcode: 32, Version: 2, ThreadID: noThread, ProcessID: noThread}
	s.upart = s.kpart
	s.def = etl.Event{Kind: etl.KindPerfInfo64, Provider: sw, Opcode: 35, Version: 2, ThreadID: noThread, ProcessID: noThread}
	stack := func(base uint64, n int) []byte {
		p := make([]byte, 16, 16+8*n)
		for i := range n {
			p = binary.LittleEndian.AppendUint64(p, base+uint64(0x100*i))
		}
		return p
	}
	for i := range 64 {
		s.kstacks = append(s.kstacks, stack(0xfffff80000100000+uint64(i)<<20, 16))
	}
	for i := range 8 {
		s.ustacks = append(s.ustacks, stack(0x7ff600000000+uint64(i)<<20, 8))
	}
	s.kref = make([]byte, 24)
	s.uref = make([]byte, 24)
	s.defPayload = make([]byte, 8, 8+8*16)
	for i := range 16 {
		s.defPayload = binary.LittleEndian.AppendUint64(s.defPayload, 0xfffff80000100000+uint64(0x100*i))
	}
	if keyed {
		s.kpart.Opcode, s.upart.Opcode = 37, 38
	}
	return s
}

// bytesPerEvent is about what one event of the stream takes in a file.
func (s *benchStream) bytesPerEvent() int64 {
	n := 0x20 + len(s.alloc.Payload) + 0x20 + len(s.noise.Payload)
	if s.keyed {
		n += 2 * (0x10 + 24)
	} else {
		n += 0x10 + len(s.kstacks[0]) + 0x10 + len(s.ustacks[0])
	}
	return int64(n / 4)
}

func putRef(p []byte, ts int64, pid, tid uint32) {
	binary.LittleEndian.PutUint64(p, uint64(ts))
	binary.LittleEndian.PutUint32(p[8:], pid)
	binary.LittleEndian.PutUint32(p[12:], tid)
}

// next returns the next event and whether it is held.
func (s *benchStream) next() (*etl.Event, bool) {
	k := s.n
	tid := uint32(100 + k%32)
	pid := uint32(500 + k%4)
	at := s.ts
	s.step++
	switch s.step {
	case 1:
		s.alloc.Timestamp, s.alloc.ThreadID, s.alloc.ProcessID = at, tid, pid
		return &s.alloc, true
	case 2:
		s.kpart.Timestamp = at
		if s.keyed {
			putRef(s.kref, at, pid, tid)
			binary.LittleEndian.PutUint64(s.kref[16:], 0xfffffa8000000000+uint64(k%64)<<8)
			s.kpart.Payload = s.kref
		} else {
			p := s.kstacks[k%64]
			putRef(p, at, pid, tid)
			s.kpart.Payload = p
		}
		return &s.kpart, false
	case 3:
		s.noise.Timestamp = at + 3
		return &s.noise, false
	default:
		s.upart.Timestamp = at + 7
		if s.keyed {
			putRef(s.uref, at, pid, tid)
			binary.LittleEndian.PutUint64(s.uref[16:], 0xfffffa8000000000+uint64(k%8)<<8)
			s.upart.Payload = s.uref
		} else {
			p := s.ustacks[k%8]
			putRef(p, at, pid, tid)
			s.upart.Payload = p
		}
		s.step = 0
		s.n++
		s.ts += 10
		if s.keyed && s.n%1000 == 0 {
			// Evict one kernel key: its next use is a new lifetime.
			binary.LittleEndian.PutUint64(s.defPayload, 0xfffffa8000000000+uint64(s.n/1000%64)<<8)
			s.def.Timestamp = at + 8
			s.def.Payload = s.defPayload
			return &s.def, false
		}
		return &s.upart, false
	}
}

func benchmarkJoiner(b *testing.B, keyed bool) {
	s := newBenchStream(keyed)
	delivered := 0
	// A 1 ms window (10,000 ticks: 1,000 allocations held).
	j := NewJoiner(Options{Window: 10_000}, func(int, Ref) { delivered++ })
	feed := func(n int) {
		for range n {
			ev, held := s.next()
			if held {
				j.Hold(ev, 0)
			} else {
				j.Observe(ev)
			}
		}
	}
	feed(200_000) // steady state: window, tables and maps at their size
	b.SetBytes(s.bytesPerEvent())
	b.ReportAllocs()
	b.ResetTimer()
	feed(b.N)
	b.StopTimer()
	j.Finish()
	if st := j.Stats(); st.Unmatched != 0 || st.LateUser != 0 || delivered == 0 {
		b.Fatalf("stream did not join: %+v", st)
	}
}

// BenchmarkJoinerInline: Stack events with frames. Allocates nothing per
// event in steady state.
func BenchmarkJoinerInline(b *testing.B) { benchmarkJoiner(b, false) }

// BenchmarkJoinerKeys: key references, with a key evicted every 1000
// allocations; each eviction starts a new key use (a few bytes), so
// allocation rounds to zero per event.
func BenchmarkJoinerKeys(b *testing.B) { benchmarkJoiner(b, true) }

// BenchmarkJoinerCorpus reads the real trace and joins its stacks, the
// reader included; MB/s is of the file.
func BenchmarkJoinerCorpus(b *testing.B) {
	path := corpusFile(b)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		f, err := etl.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		j := NewJoiner(Options{}, func(struct{}, Ref) {})
		m := NewModules()
		r := f.NewReader(etl.OrderTime)
		var ev etl.Event
		for {
			if err := r.Next(&ev); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				b.Fatal(err)
			}
			m.Observe(&ev)
			if ev.Provider == kernel.StackWalkGUID || ev.Kind == etl.KindFullHeader64 {
				j.Observe(&ev)
			} else {
				j.Hold(&ev, struct{}{})
			}
		}
		j.Finish()
		m.Finish()
		f.Close()
	}
}
