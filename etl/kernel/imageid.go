package kernel

import "github.com/poolprof/poolprof/etl"

// The KernelTraceControl ImageID events are written when a trace is merged
// (xperf, WPR, PerfView), as FULL_HEADER records whose header GUID is the
// ImageID class. Each carries the raw timestamp of the Image Load or
// DCStart event it describes, before or after it; match them on timestamp
// and ImageBase. Raw kernel files have none.

// ImageID is the ImageID "Info" event (opcode 0).
//
//	field             64-bit  32-bit
//	ImageBase         0       0       pointer
//	ImageSize         8       4       SIZE_T
//	ProcessId         16      8       u32
//	TimeDateStamp     20      12      u32
//	OriginalFileName  24      16      wstr
type ImageID struct {
	ImageBase     uint64
	ImageSize     uint64
	ProcessID     uint32
	TimeDateStamp uint32
	// OriginalFileName is the name in the image's version resource, e.g.
	// "ntkrnlmp.exe" for ntoskrnl.exe: the module name WPA shows.
	OriginalFileName Str

	Used int // payload bytes the fields above cover
}

// Decode fills id from an ImageID opcode 0 event. On error id is undefined.
func (id *ImageID) Decode(ev *etl.Event) error {
	k, _, err := resolve(ev, KindImageID, KindImageID)
	if err != nil {
		return err
	}
	c := newCursor(ev.Payload, ev.Kind.PointerSize())
	*id = ImageID{}
	id.ImageBase = c.pointer("ImageBase")
	id.ImageSize = c.pointer("ImageSize")
	id.ProcessID = c.u32("ProcessId")
	id.TimeDateStamp = c.u32("TimeDateStamp")
	id.OriginalFileName = c.wstr()
	id.Used = c.off
	return c.err(ev, k)
}

// DbgID is the debug identity of an image: DbgID_RSDS (opcode 36), the
// PDB of a native image; DbgID_ILRSDS (37), the IL PDB of an NGEN image;
// or None (32), an image without a debug record, which carries only
// ImageBase and ProcessID.
//
//	field        64-bit  32-bit
//	ImageBase    0       0       pointer
//	ProcessId    8       4       u32
//	GuidSig      12      8       GUID      (36, 37)
//	Age          28      24      u32       (36, 37)
//	PdbFileName  32      28      astr      (36, 37)
//
// (PdbFileName, GUID, Age) is the key a symbol server files the PDB under.
type DbgID struct {
	Op          uint8 // 32, 36 or 37
	ImageBase   uint64
	ProcessID   uint32
	HasPDB      bool // false for None (32)
	GUID        etl.GUID
	Age         uint32
	PDBFileName Str

	Used int // payload bytes the fields above cover
}

// Decode fills d from an ImageID opcode 32, 36 or 37 event. On error d is
// undefined.
func (d *DbgID) Decode(ev *etl.Event) error {
	k, l, err := resolve(ev, KindImageIDNone, KindDbgIDILRSDS)
	if err != nil {
		return err
	}
	c := newCursor(ev.Payload, ev.Kind.PointerSize())
	*d = DbgID{Op: ev.Opcode}
	d.ImageBase = c.pointer("ImageBase")
	d.ProcessID = c.u32("ProcessId")
	if l == layoutDbgIDRSDS {
		d.HasPDB = true
		d.GUID = c.guid("GuidSig")
		d.Age = c.u32("Age")
		d.PDBFileName = c.astr()
	}
	d.Used = c.off
	return c.err(ev, k)
}

// FileVersion is the ImageID FileVersion event (opcode 64): fields of the
// image's version resource. It carries no ImageBase; match it to its image
// by timestamp.
type FileVersion struct {
	ImageSize     uint32
	TimeDateStamp uint32

	OrigFileName    Str
	FileDescription Str
	FileVersion     Str
	BinFileVersion  Str
	VerLanguage     Str
	ProductName     Str
	CompanyName     Str
	ProductVersion  Str
	FileID          Str
	ProgramID       Str

	Used int // payload bytes the fields above cover
}

// Decode fills v from an ImageID opcode 64 event. On error v is undefined.
func (v *FileVersion) Decode(ev *etl.Event) error {
	k, _, err := resolve(ev, KindImageFileVersion, KindImageFileVersion)
	if err != nil {
		return err
	}
	c := newCursor(ev.Payload, ev.Kind.PointerSize())
	*v = FileVersion{}
	v.ImageSize = c.u32("ImageSize")
	v.TimeDateStamp = c.u32("TimeDateStamp")
	v.OrigFileName = c.wstr()
	v.FileDescription = c.wstr()
	v.FileVersion = c.wstr()
	v.BinFileVersion = c.wstr()
	v.VerLanguage = c.wstr()
	v.ProductName = c.wstr()
	v.CompanyName = c.wstr()
	v.ProductVersion = c.wstr()
	v.FileID = c.wstr()
	v.ProgramID = c.wstr()
	v.Used = c.off
	return c.err(ev, k)
}
