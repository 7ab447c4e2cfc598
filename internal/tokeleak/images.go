package tokeleak

import (
	"fmt"
	"path"
	"strings"

	"github.com/poolprof/poolprof/etl"
)

// The module map. Kernel images live in system space and belong to every
// process (their DCStart events carry ProcessId 0); user images belong to
// the process that mapped them. Every image except NETIO.SYS gets the
// KernelTraceControl ImageID (opcode 0) and DbgID_RSDS (opcode 36) events a
// merged WPR trace carries, so its module name is the ImageID
// OriginalFileName: ntoskrnl.exe shows as ntkrnlmp.exe, Ntfs.sys as
// ntfs.sys. NETIO.SYS has neither event and keeps the file name of its
// path. svchost.exe is mapped at the same base as lsass.exe, so a frame
// resolved against the wrong process names the wrong module.

// Module names as stacks print them: the ImageID original file name, or the
// file name of the path for images without one.
const (
	ModNT          = "ntkrnlmp.exe" // \SystemRoot\system32\ntoskrnl.exe
	ModHAL         = "hal.dll"
	ModFltMgr      = "fltmgr.sys" // \SystemRoot\System32\drivers\FLTMGR.SYS
	ModNtfs        = "ntfs.sys"   // \SystemRoot\System32\Drivers\Ntfs.sys
	ModNDIS        = "ndis.sys"
	ModNETIO       = "NETIO.SYS" // no ImageID event: named after its path
	ModTcpip       = "tcpip.sys"
	ModAfd         = "afd.sys"
	ModContosec    = "contosec.sys" // the security product's driver (fictional)
	ModWin32kBase  = "win32kbase.sys"
	ModWin32kFull  = "win32kfull.sys"
	ModLsass       = "lsass.exe"
	ModNtdll       = "ntdll.dll"
	ModKernel32    = "kernel32.dll"
	ModKernelBase  = "KernelBase.dll"
	ModLsasrv      = "lsasrv.dll"
	ModContosecPkg = "contosecpkg.dll" // the product's LSA notification package
	ModSvchost     = "svchost.exe"
	ModDnsrslvr    = "dnsrslvr.dll"
	ModDnsapi      = "dnsapi.dll"
)

// Image is one module of the map as the trace describes it.
type Image struct {
	// Path is the FileName of the Image event.
	Path string
	// OriginalName is the OriginalFileName of the ImageID event; empty
	// when the trace has no ImageID (nor DbgID) event for the image.
	OriginalName string
	Base, Size   uint64
	// PID is the owning process, 0 for kernel images.
	PID           uint32
	Checksum      uint32
	TimeDateStamp uint32
	// PDB, PDBGUID and PDBAge are the DbgID_RSDS identity (PDB empty
	// when there is none).
	PDB     string
	PDBGUID etl.GUID
	PDBAge  uint32
	// Late images are not in the DCStart rundown: they are loaded (hook
	// 0x030A) a quarter into the pool activity, at LoadTime (raw
	// timestamp; set in Truth.Images).
	Late     bool
	LoadTime int64
	// IDFirst puts the ImageID events before the Image event they
	// describe (same timestamp), which merged traces also do.
	IDFirst bool
}

// Module is the name frames in the image print with: the original file
// name where the trace has one, else the file name of the path.
func (im *Image) Module() string {
	if im.OriginalName != "" {
		return im.OriginalName
	}
	return path.Base(strings.ReplaceAll(im.Path, `\`, "/"))
}

// Kernel reports a kernel (system space) image.
func (im *Image) Kernel() bool { return im.PID == 0 }

// Contains reports whether addr lies in the image.
func (im *Image) Contains(addr uint64) bool { return addr >= im.Base && addr-im.Base < im.Size }

// Base addresses of the images whose frames the story's stacks hold.
const (
	NtoskrnlBase    = 0xfffff80412a00000
	ContosecBase    = 0xfffff80418a40000
	LsassBase       = 0x00007ff74c2d0000 // svchost.exe is mapped here too
	NtdllBase       = 0x00007ffd2a4f0000
	KernelBaseBase  = 0x00007ffd27e10000
	ContosecPkgBase = 0x00007ffd1c5b0000
)

// Process ids of the story.
const (
	PIDIdle     = 0
	PIDSystem   = 4
	PIDLsass    = 712
	PIDSvchost  = 1044
	PIDCsrss1   = 3912 // session 1
	PIDCsrss2   = 5200 // session 2
	PIDWininit  = 600
	PIDExplorer = 4120
)

func guid(s string) etl.GUID { return etl.MustParseGUID(s) }

// kernelImages is the system-space part of the map.
var kernelImages = []Image{
	{Path: `\SystemRoot\system32\ntoskrnl.exe`, OriginalName: "ntkrnlmp.exe", Base: NtoskrnlBase, Size: 0x1047000,
		Checksum: 0x00a6b0d2, TimeDateStamp: 0x5f1a2b3c, PDB: "ntkrnlmp.pdb", PDBGUID: guid(NtkrnlmpPDBGUID), PDBAge: NtkrnlmpPDBAge},
	{Path: `\SystemRoot\system32\hal.dll`, OriginalName: "hal.dll", Base: 0xfffff80411e00000, Size: 0x6c000,
		Checksum: 0x0006f3a1, TimeDateStamp: 0x5f1a2b30, PDB: "hal.pdb", PDBGUID: guid("0a9c1d2e-3f40-4152-8364-758697a8b9ca"), PDBAge: 1},
	{Path: `\SystemRoot\System32\drivers\FLTMGR.SYS`, OriginalName: "fltmgr.sys", Base: 0xfffff80413e00000, Size: 0x79000,
		Checksum: 0x0007d2c4, TimeDateStamp: 0x5e3c6f01, PDB: "fltMgr.pdb", PDBGUID: guid("6b1f0d8e-92a4-4c57-9e0b-2f7d3c41a8e6"), PDBAge: 1},
	{Path: `\SystemRoot\System32\Drivers\Ntfs.sys`, OriginalName: "ntfs.sys", Base: 0xfffff80414000000, Size: 0x2bc000,
		Checksum: 0x002c1f77, TimeDateStamp: 0x5f0b9a12, PDB: "ntfs.pdb", PDBGUID: guid("c2d4e6f8-0a1c-4e3f-8b5d-7f91a3c5e7d9"), PDBAge: 1},
	{Path: `\SystemRoot\System32\drivers\ndis.sys`, OriginalName: "ndis.sys", Base: 0xfffff80414400000, Size: 0x125000,
		Checksum: 0x0012a3b9, TimeDateStamp: 0x5e8d4c22, PDB: "ndis.pdb", PDBGUID: guid("7e5a3c1b-9d8f-4a6e-b2c4-d6e8f0a2b4c6"), PDBAge: 1},
	{Path: `\SystemRoot\System32\drivers\NETIO.SYS`, Base: 0xfffff80414600000, Size: 0x7b000,
		Checksum: 0x0008b0e5, TimeDateStamp: 0x5e8d4c1f},
	{Path: `\SystemRoot\System32\drivers\tcpip.sys`, OriginalName: "tcpip.sys", Base: 0xfffff80414800000, Size: 0x2f0000,
		Checksum: 0x002f5c81, TimeDateStamp: 0x5f2b1e44, PDB: "tcpip.pdb", PDBGUID: guid("1f3e5d7c-9b8a-4c6d-8e0f-a1b2c3d4e5f6"), PDBAge: 1,
		IDFirst: true},
	{Path: `\SystemRoot\system32\drivers\afd.sys`, OriginalName: "afd.sys", Base: 0xfffff80415200000, Size: 0xa9000,
		Checksum: 0x000ab4f2, TimeDateStamp: 0x5ee1c3a7, PDB: "afd.pdb", PDBGUID: guid("4d6f8a0c-2e4b-4d6a-9c8e-0f1a2b3c4d5e"), PDBAge: 2},
	{Path: `\SystemRoot\System32\drivers\contosec.sys`, OriginalName: "contosec.sys", Base: ContosecBase, Size: 0x2d000,
		Checksum: 0x0003117c, TimeDateStamp: 0x5d7e91b0, PDB: "contosec.pdb", PDBGUID: guid(ContosecPDBGUID), PDBAge: ContosecPDBAge},
	{Path: `\SystemRoot\System32\win32kbase.sys`, OriginalName: "win32kbase.sys", Base: 0xffffb1d8a1e00000, Size: 0x2a0000,
		Checksum: 0x002a77e0, TimeDateStamp: 0x5f1a2c01, PDB: "win32kbase.pdb", PDBGUID: guid("9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"), PDBAge: 1},
	{Path: `\SystemRoot\System32\win32kfull.sys`, OriginalName: "win32kfull.sys", Base: 0xffffb1d8a2200000, Size: 0x3a0000,
		Checksum: 0x0039c4d1, TimeDateStamp: 0x5f1a2c05, PDB: "win32kfull.pdb", PDBGUID: guid("2b4d6f80-a1c3-4e5f-8a7b-9c0d1e2f3a4b"), PDBAge: 1},
}

// Shared user images: mapped at the same base in every process, as
// Windows does for system DLLs.
var (
	ntdllImage = Image{Path: `\Device\HarddiskVolume3\Windows\System32\ntdll.dll`, OriginalName: "ntdll.dll",
		Base: NtdllBase, Size: 0x1f8000, Checksum: 0x001fa3c4, TimeDateStamp: 0x6a3b2c1d,
		PDB: "ntdll.pdb", PDBGUID: guid("5c7e9a1b-3d5f-4b7a-9c1e-3f5a7b9c1d3e"), PDBAge: 1}
	kernel32Image = Image{Path: `\Device\HarddiskVolume3\Windows\System32\kernel32.dll`, OriginalName: "kernel32.dll",
		Base: 0x00007ffd28f10000, Size: 0xbd000, Checksum: 0x000c2f1e, TimeDateStamp: 0x8e1f3a2b,
		PDB: "kernel32.pdb", PDBGUID: guid("6d8f0b2c-4e6a-4c8b-ad2f-4a6b8c0d2e4f"), PDBAge: 1}
	kernelBaseImage = Image{Path: `\Device\HarddiskVolume3\Windows\System32\KernelBase.dll`, OriginalName: "KernelBase.dll",
		Base: KernelBaseBase, Size: 0x2a3000, Checksum: 0x002a9d07, TimeDateStamp: 0x3c4d5e6f,
		PDB: "kernelbase.pdb", PDBGUID: guid("7e0a2c3d-5f7b-4d9c-be3a-5b7c9d1e3f5a"), PDBAge: 1}
)

// userImages is the user-mode part of the map, by process.
var userImages = []Image{
	{Path: `\Device\HarddiskVolume3\Windows\System32\lsass.exe`, OriginalName: "lsass.exe", Base: LsassBase, Size: 0x14000,
		PID: PIDLsass, Checksum: 0x0001a2b3, TimeDateStamp: 0x1b2c3d4e, PDB: "lsass.pdb", PDBGUID: guid("8f1b3d4e-6a8c-4e0d-8f4b-6c8d0e2f4a6b"), PDBAge: 1},
	withPID(ntdllImage, PIDLsass),
	withPID(kernel32Image, PIDLsass),
	withPID(kernelBaseImage, PIDLsass),
	{Path: `\Device\HarddiskVolume3\Windows\System32\lsasrv.dll`, OriginalName: "lsasrv.dll", Base: 0x00007ffd26a20000, Size: 0x190000,
		PID: PIDLsass, Checksum: 0x0019b8a2, TimeDateStamp: 0x4d5e6f70, PDB: "lsasrv.pdb", PDBGUID: guid("9a2c4e5f-7b9d-4f1e-905c-7d9e1f3a5b7c"), PDBAge: 1},
	{Path: `\Device\HarddiskVolume3\Program Files\Contoso\Security\contosecpkg.dll`, OriginalName: "contosecpkg.dll",
		Base: ContosecPkgBase, Size: 0x3a000, PID: PIDLsass, Checksum: 0x0003c0de, TimeDateStamp: 0x5d7e91a8,
		PDB: "contosecpkg.pdb", PDBGUID: guid("c0ffee01-5ec0-4d21-a7b3-000000001664"), PDBAge: 3},

	{Path: `\Device\HarddiskVolume3\Windows\System32\svchost.exe`, OriginalName: "svchost.exe", Base: LsassBase, Size: 0x12000,
		PID: PIDSvchost, Checksum: 0x00014f0e, TimeDateStamp: 0x2e3f4a5b, PDB: "svchost.pdb", PDBGUID: guid("ab3d5f60-8cae-4a2f-a16d-8eaf2b4c6d8e"), PDBAge: 1},
	withPID(ntdllImage, PIDSvchost),
	withPID(kernel32Image, PIDSvchost),
	withPID(kernelBaseImage, PIDSvchost),
	{Path: `\Device\HarddiskVolume3\Windows\System32\dnsrslvr.dll`, OriginalName: "dnsrslvr.dll", Base: 0x00007ffd17b40000, Size: 0x4d000,
		PID: PIDSvchost, Checksum: 0x0004f1a9, TimeDateStamp: 0x5b6c7d8e, PDB: "dnsrslvr.pdb", PDBGUID: guid("bc4e6071-9dbf-4b30-b27e-9fb03c5d7e9f"), PDBAge: 1},
	{Path: `\Device\HarddiskVolume3\Windows\System32\dnsapi.dll`, OriginalName: "dnsapi.dll", Base: 0x00007ffd25f80000, Size: 0xcb000,
		PID: PIDSvchost, Checksum: 0x000d0a3b, TimeDateStamp: 0x6c7d8e9f, PDB: "dnsapi.pdb", PDBGUID: guid("cd5f7182-aec0-4c41-838f-a0c14d6e8fa0"), PDBAge: 1,
		Late: true},
}

// lateLoad is when late images (dnsapi.dll in svchost.exe) are loaded, in
// permille of the pool window; stacks through them occur only afterwards.
const lateLoad = 250

func withPID(im Image, pid uint32) Image {
	im.PID = pid
	return im
}

// Images returns the module map: kernel images, then user images by
// process, as the rundown logs them.
func Images() []Image {
	return append(append([]Image(nil), kernelImages...), userImages...)
}

// imageFor returns the image named mod (by Module) that a frame of process
// pid lies in: a kernel image, or one of pid's user images.
func imageFor(mod string, pid uint32) (*Image, error) {
	for i := range kernelImages {
		if kernelImages[i].Module() == mod {
			return &kernelImages[i], nil
		}
	}
	for i := range userImages {
		if userImages[i].PID == pid && userImages[i].Module() == mod {
			return &userImages[i], nil
		}
	}
	return nil, fmt.Errorf("tokeleak: process %d has no module %s", pid, mod)
}

// imagePayload encodes an Image DCStart or Load event, version 3, 64-bit
// (docs/etl-format.md §4.3).
func imagePayload(im *Image) []byte {
	var e enc
	e.u64(im.Base)
	e.u64(im.Size)
	e.u32(im.PID)
	e.u32(im.Checksum)
	e.u32(im.TimeDateStamp)
	e.u8(0x0c)     // SignatureLevel: Microsoft-signed
	e.u8(1)        // SignatureType: embedded
	e.u16(0)       // Reserved0
	e.u64(im.Base) // DefaultBase
	e.u32(0)
	e.u32(0)
	e.u32(0)
	e.u32(0)
	e.wstr(im.Path)
	return e
}

// imageIDPayload encodes the KernelTraceControl ImageID event (opcode 0,
// version 2, 64-bit; §4.4.1).
func imageIDPayload(im *Image) []byte {
	var e enc
	e.u64(im.Base)
	e.u64(im.Size)
	e.u32(im.PID)
	e.u32(im.TimeDateStamp)
	e.wstr(im.OriginalName)
	return e
}

// dbgIDPayload encodes the DbgID_RSDS event (opcode 36, version 2, 64-bit).
func dbgIDPayload(im *Image) []byte {
	var e enc
	e.u64(im.Base)
	e.u32(im.PID)
	e.guid(im.PDBGUID)
	e.u32(im.PDBAge)
	e.astr(im.PDB)
	return e
}
