package kernel

import (
	"testing"

	"github.com/poolprof/poolprof/etl"
)

// The hot path decodes every event of a trace with millions of pool
// events: decoders, the table and the allocation-free string helpers must
// not allocate.
func TestDecodersDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	pool := event(etl.KindPerfInfo64, PoolGUID, 33, 2, le(uint32(1), uint32(0x656b6f54), uint64(1664), uint64(0xFFFFA88012345670), uint32(2)))
	cases := append(decodeCases(t), decodeCase{name: "PoolEvent", ev: pool})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var d Decoded
			if n := testing.AllocsPerRun(100, func() {
				if d.Decode(tc.ev) != nil {
					panic("decode failed")
				}
			}); n != 0 {
				t.Errorf("Decoded.Decode: %v allocations per event", n)
			}
		})
	}

	typed := map[string]func() error{}
	var (
		pe PoolEvent
		st Stack
		kd StackKeyDef
		kr StackKeyRef
		im Image
		kb KernelBase
		id ImageID
		dg DbgID
		fv FileVersion
		pr Process
		th Thread
		hd TraceHeader
		ex TraceExtension
		pi PartitionInfo
	)
	byKind := map[Kind]func(ev *etl.Event) error{
		KindPoolAlloc: pe.Decode, KindStack: st.Decode, KindStackKeyDef: kd.Decode, KindStackKeyRef: kr.Decode,
		KindImageLoad: im.Decode, KindImageUnload: im.Decode, KindImageDCStart: im.Decode, KindImageDCEnd: im.Decode,
		KindImageKernelBase: kb.Decode, KindImageID: id.Decode, KindImageIDNone: dg.Decode,
		KindDbgIDRSDS: dg.Decode, KindDbgIDILRSDS: dg.Decode, KindImageFileVersion: fv.Decode,
		KindProcessStart: pr.Decode, KindProcessEnd: pr.Decode, KindProcessDefunct: pr.Decode,
		KindThreadStart: th.Decode, KindThreadEnd: th.Decode, KindThreadDCStart: th.Decode,
		KindTraceHeader: hd.Decode, KindTraceExtension: ex.Decode, KindPartitionInfo: pi.Decode,
	}
	for _, tc := range cases {
		dec := byKind[Lookup(tc.ev)]
		if dec == nil {
			t.Fatalf("%s: no typed decoder listed for %v", tc.name, Lookup(tc.ev))
		}
		ev := tc.ev
		typed[tc.name] = func() error { return dec(ev) }
	}
	for name, f := range typed {
		if n := testing.AllocsPerRun(100, func() {
			if f() != nil {
				panic("decode failed")
			}
		}); n != 0 {
			t.Errorf("%s: typed Decode makes %v allocations per event", name, n)
		}
	}

	ev := pool
	if n := testing.AllocsPerRun(100, func() { _ = Lookup(ev) }); n != 0 {
		t.Errorf("Lookup: %v allocations", n)
	}
}

func TestHelpersDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	var im Image
	if err := im.Decode(event(etl.KindPerfInfo64, ImageGUID, 3, 3,
		append(hexDump(t, tv5)[0x10:0x48:0x48], utf16z(tv5FileName)...))); err != nil {
		t.Fatal(err)
	}
	var p Process
	rec := append(hexDump(t, tv6), "SecurityHealthSystray.exe\x00"...)
	rec = append(append(rec, utf16z(tv6CommandLine)...), 0, 0, 0, 0)
	if err := p.Decode(eventFromRecord(t, rec)); err != nil {
		t.Fatal(err)
	}
	var s Stack
	if err := s.Decode(event(etl.KindPerfInfo64, StackWalkGUID, 32, 2, le(uint64(1), uint32(2), uint32(3), uint64(4), uint64(5)))); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 256)
	frames := make([]uint64, 0, 8)
	tag := Tag(0x00414243)
	for name, f := range map[string]func(){
		"Str.Append":      func() { buf = im.FileName.Append(buf[:0]) },
		"Str.Equal":       func() { _ = im.FileName.Equal(tv5FileName) },
		"Str.EqualFold":   func() { _ = im.FileName.Base().EqualFold("NTDLL.DLL") },
		"narrow Append":   func() { buf = p.ImageFileName.Append(buf[:0]) },
		"SID.Append":      func() { buf = p.UserSID.Append(buf[:0]) },
		"Tag.Append":      func() { buf = tag.Append(buf[:0]) },
		"AppendFrames":    func() { frames = s.AppendFrames(frames[:0]) },
		"Frame/NumFrames": func() { _ = s.Frame(s.NumFrames() - 1) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations", name, n)
		}
	}
}

func BenchmarkDecodePool(b *testing.B) {
	ev := event(etl.KindPerfInfo64, PoolGUID, 32, 2, le(uint32(1), uint32(0x656b6f54), uint64(1664), uint64(0xFFFFA88012345670)))
	var p PoolEvent
	b.ReportAllocs()
	b.SetBytes(int64(len(ev.Payload)))
	for b.Loop() {
		if err := p.Decode(ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeAny(b *testing.B) {
	cases := decodeCases(b)
	var d Decoded
	b.ReportAllocs()
	for b.Loop() {
		for _, tc := range cases {
			if err := d.Decode(tc.ev); err != nil {
				b.Fatal(err)
			}
		}
	}
}
