package symbols

import (
	"errors"
	"flag"
	"testing"
)

// FuzzOpenPDB feeds arbitrary bytes to OpenPDB. Besides not panicking,
// it checks: an error comes with a nil *PDB and is a *FormatError or
// *UnsupportedError; a loaded PDB's procedures resolve to themselves;
// every successful lookup, and every inline frame, is consistent with
// its address.
//
// The seeds are the fixtures re-packed with 512-byte blocks and without
// the streams the reader ignores (a few KiB each): the fuzzer's
// minimization of 100 KiB inputs takes minutes per new input. Plain
// "go test" also runs the fixtures as they are.
func FuzzOpenPDB(f *testing.F) {
	if fz := flag.Lookup("test.fuzz"); fz == nil || fz.Value.String() == "" {
		for _, name := range fixtureNames {
			f.Add(readFixture(f, name))
		}
	}
	for _, name := range []string{"x64-full", "x64-publics", "x86-full", "x64-inline"} {
		small, _ := testMSF{blockSize: 512, streams: minimalStreams(f, name)}.write(f)
		f.Add(small)
	}
	f.Add([]byte("Microsoft MSFZ Container\r\n\x1aALD\x00\x00"))

	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := open(b)
		if err != nil {
			if p != nil {
				t.Fatal("non-nil *PDB with an error")
			}
			var fe *FormatError
			var ue *UnsupportedError
			if !errors.As(err, &fe) && !errors.As(err, &ue) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			_ = err.Error()
			return
		}
		omap := p.HasOMAP()
		for s := range p.Procedures() {
			if omap || s.Size == 0 {
				continue
			}
			got, ok := p.Lookup(s.RVA)
			if !ok || got.RVA != s.RVA || got.Offset != 0 || got.Kind != Procedure {
				t.Fatalf("procedure %q at %#x looks up as %+v, %v", s.Name, s.RVA, got, ok)
			}
		}
		n := 0
		for s := range p.Publics() {
			if n++; n > 64 {
				break
			}
			for _, d := range []uint32{0, 1, 0x40} {
				got, ok := p.Lookup(s.RVA + d)
				if ok && !omap && got.RVA+got.Offset != s.RVA+d {
					t.Fatalf("Lookup(%#x) = %+v: RVA+Offset is off", s.RVA+d, got)
				}
			}
		}
		var chain [maxInlineDepth]Symbol
		for rva := uint32(0); rva < 0x6000; rva += 0x33 {
			got, ok := p.Lookup(rva)
			if ok && !omap && got.RVA+got.Offset != rva {
				t.Fatalf("Lookup(%#x) = %+v: RVA+Offset is off", rva, got)
			}
			inl := p.LookupInlined(rva, chain[:0])
			if len(inl) > maxInlineDepth {
				t.Fatalf("LookupInlined(%#x): %d frames", rva, len(inl))
			}
			for _, s := range inl {
				if s.Kind != Inlined || s.Offset >= s.Size || (!omap && s.RVA+s.Offset != rva) {
					t.Fatalf("LookupInlined(%#x) = %+v", rva, inl)
				}
			}
		}
		_ = p.Sections()
		_ = p.Modules()
	})
}
