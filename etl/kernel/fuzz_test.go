package kernel

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/poolprof/poolprof/etl"
)

var fuzzProviders = []etl.GUID{PoolGUID, StackWalkGUID, ImageGUID, ImageIDGUID, ProcessGUID, ThreadGUID, EventTraceGUID}

// FuzzDecode runs every decoder over arbitrary payloads, header kinds,
// opcodes and versions: no input may panic, every error must be a
// *DecodeError describing the event, and whatever decodes must stay
// inside its payload.
func FuzzDecode(f *testing.F) {
	for _, tc := range decodeCases(f) {
		pi := 0
		for i, g := range fuzzProviders {
			if g == tc.ev.Provider {
				pi = i
			}
		}
		f.Add(uint8(tc.ev.Kind), uint8(pi), tc.ev.Opcode, tc.ev.Version, tc.ev.Payload)
	}
	f.Fuzz(func(t *testing.T, hk, pi, opcode uint8, version uint16, payload []byte) {
		ev := event(etl.HeaderKind(hk), fuzzProviders[int(pi)%len(fuzzProviders)], opcode, version, payload)
		var d Decoded
		err := d.Decode(ev)
		checkErr(t, ev, err)
		if err == nil {
			checkDecoded(t, ev, &d)
		}
		// Every typed decoder on every event: the wrong ones must refuse.
		for _, dec := range []func(*etl.Event) error{
			(&PoolEvent{}).Decode, (&Stack{}).Decode, (&StackKeyDef{}).Decode, (&StackKeyRef{}).Decode,
			(&Image{}).Decode, (&KernelBase{}).Decode, (&ImageID{}).Decode, (&DbgID{}).Decode,
			(&FileVersion{}).Decode, (&Process{}).Decode, (&Thread{}).Decode, (&TraceHeader{}).Decode,
			(&TraceExtension{}).Decode, (&PartitionInfo{}).Decode,
		} {
			checkErr(t, ev, dec(ev))
		}
	})
}

func checkErr(t *testing.T, ev *etl.Event, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error %v is not a *DecodeError", err)
	}
	if de.PayloadLen != len(ev.Payload) || de.Opcode != ev.Opcode || de.Version != ev.Version || de.Err == nil {
		t.Fatalf("DecodeError does not describe the event: %+v", de)
	}
	if errors.Is(err, ErrShort) && (de.Need <= de.PayloadLen || de.Field == "") {
		t.Fatalf("ErrShort without a field that did not fit: %+v", de)
	}
	if err.Error() == "" {
		t.Fatal("empty error message")
	}
}

func checkDecoded(t *testing.T, ev *etl.Event, d *Decoded) {
	t.Helper()
	n := len(ev.Payload)
	str := func(ss ...Str) {
		for _, s := range ss {
			if len(s.Raw()) > n || !utf8.ValidString(s.String()) {
				t.Fatalf("string %q escapes its payload or is not UTF-8", s.Raw())
			}
		}
	}
	if d.Kind == KindUnknown {
		return
	}
	used := -1
	switch d.Kind {
	case KindPoolAlloc, KindPoolFree, KindPoolPage, KindPoolSnapshot:
		used = d.Pool.Used
		_ = d.Pool.Tag.String() + d.Pool.PoolType.String() + d.Pool.Op.String()
	case KindStack:
		used = d.Stack.Used
		if d.Stack.NumFrames()*d.Stack.PointerSize() > n {
			t.Fatal("frames beyond the payload")
		}
		_ = d.Stack.AppendFrames(nil)
	case KindStackKeyDef:
		used = d.KeyDef.Used
		_ = d.KeyDef.Kernel()
		_ = d.KeyDef.AppendFrames(nil)
	case KindStackKeyRef:
		used = d.KeyRef.Used
	case KindImageLoad, KindImageUnload, KindImageDCStart, KindImageDCEnd:
		used = d.Image.Used
		str(d.Image.FileName, d.Image.FileName.Base())
	case KindImageKernelBase:
		used = d.KernelBase.Used
	case KindImageID:
		used = d.ImageID.Used
		str(d.ImageID.OriginalFileName)
	case KindImageIDNone, KindDbgIDRSDS, KindDbgIDILRSDS:
		used = d.DbgID.Used
		str(d.DbgID.PDBFileName)
	case KindImageFileVersion:
		v := &d.FileVersion
		used = v.Used
		str(v.OrigFileName, v.FileDescription, v.FileVersion, v.BinFileVersion, v.VerLanguage,
			v.ProductName, v.CompanyName, v.ProductVersion, v.FileID, v.ProgramID)
	case KindProcessStart, KindProcessEnd, KindProcessDCStart, KindProcessDCEnd, KindProcessDefunct:
		p := &d.Process
		used = p.Used
		str(p.ImageFileName, p.CommandLine, p.PackageFullName, p.ApplicationID)
		_ = p.UserSID.String()
	case KindThreadStart, KindThreadEnd, KindThreadDCStart, KindThreadDCEnd:
		used = d.Thread.Used
		str(d.Thread.ThreadName)
	case KindTraceHeader:
		used = d.Header.Used
		str(d.Header.LoggerName, d.Header.LogFileName)
	case KindTraceExtension, KindTraceEndExtension:
		used = d.Extension.Used
		_ = d.Extension.Enabled(FlagPool)
	case KindPartitionInfo:
		used = d.Partition.Used
	}
	if used < 0 || used > n {
		t.Fatalf("%v: Used %d outside a payload of %d bytes", d.Kind, used, n)
	}
}
