package kernel

import "github.com/poolprof/poolprof/etl"

// Image is an Image Load (10, usually logged as hook 0x030A), Unload (2),
// DCStart (3) or DCEnd (4) event: one module mapped into a process, or
// into system space for drivers.
//
//	field                     64-bit  32-bit  versions
//	ImageBase                 0       0       all
//	ImageSize                 8       4       all (SIZE_T)
//	ProcessId                 16      8       ≥ 1
//	ImageChecksum             20      12      ≥ 2
//	TimeDateStamp             24      16      ≥ 2
//	SignatureLevel/Type (v3)  28      20      ≥ 2 (v2: reserved u32)
//	DefaultBase               32      24      ≥ 2
//	Reserved1..4              40      28      ≥ 2
//	FileName                  56      44      ≥ 2 (v0: 8/16, v1: 12/20)
type Image struct {
	Op        uint8 // 10, 2, 3 or 4
	ImageBase uint64
	ImageSize uint64
	// ProcessID is the process the image is mapped into; use it rather
	// than the header's, which for DCStart, DCEnd and Unload is not the
	// owner. Version 0 has none (HasProcessID false).
	ProcessID    uint32
	HasProcessID bool
	// TimeDateStamp is the PE header's; 0 on some systems (Windows 8),
	// where the ImageID event of the same timestamp has it.
	TimeDateStamp  uint32
	Checksum       uint32
	SignatureLevel uint8 // v3+
	SignatureType  uint8 // v3+
	DefaultBase    uint64
	// FileName is the NT path, e.g. \Device\HarddiskVolume3\Windows\System32\ntdll.dll.
	FileName Str

	Used int // payload bytes the fields above cover
}

// Decode fills im from an Image Load, Unload, DCStart or DCEnd event of
// version 0 to 3 (newer versions decode with the v3 layout). On error im
// is undefined.
func (im *Image) Decode(ev *etl.Event) error {
	k, l, err := resolve(ev, KindImageLoad, KindImageDCEnd)
	if err != nil {
		return err
	}
	c := newCursor(ev.Payload, ev.Kind.PointerSize())
	*im = Image{Op: ev.Opcode}
	im.ImageBase = c.pointer("ImageBase")
	im.ImageSize = c.pointer("ImageSize")
	if l >= layoutImageV1 {
		im.ProcessID = c.u32("ProcessId")
		im.HasProcessID = true
	}
	if l >= layoutImageV2 {
		im.Checksum = c.u32("ImageChecksum")
		im.TimeDateStamp = c.u32("TimeDateStamp")
		if ev.Version >= 3 {
			im.SignatureLevel = c.u8("SignatureLevel")
			im.SignatureType = c.u8("SignatureType")
			c.skip(2, "Reserved0")
		} else {
			c.skip(4, "Reserved0")
		}
		im.DefaultBase = c.pointer("DefaultBase")
		c.skip(16, "Reserved1-4")
	}
	im.FileName = c.wstr()
	im.Used = c.off
	return c.err(ev, k)
}

// KernelBase is the Image KernelBase event (opcode 33): the load address
// of the kernel image.
type KernelBase struct {
	ImageBase uint64
	Used      int // payload bytes the fields above cover
}

// Decode fills b from an Image opcode 33 event. On error b is undefined.
func (b *KernelBase) Decode(ev *etl.Event) error {
	k, _, err := resolve(ev, KindImageKernelBase, KindImageKernelBase)
	if err != nil {
		return err
	}
	c := newCursor(ev.Payload, ev.Kind.PointerSize())
	*b = KernelBase{ImageBase: c.pointer("ImageBase")}
	b.Used = c.off
	return c.err(ev, k)
}
