package tokeleak

import "fmt"

// Functions and the return addresses stacks hold. A frame is a return
// address (the innermost frame the instruction pointer), so a frame's RVA
// lies inside its function, past the call it returns from. Without
// symbols the analysis prints a frame as module+0xRVA; with a PDB made
// from Functions it should print module!Name.

// Frame RVAs of the Toke story's stacks.
const (
	ExAllocatePoolWithTagRVA        = 0x36f1b4 // ntkrnlmp.exe, innermost frame of every allocation stack
	ExFreePoolWithTagRVA            = 0x36f4e2 // ntkrnlmp.exe, innermost frame of the Toke free stacks
	ObCreateObjectRVA               = 0x62a5e2 // ntkrnlmp.exe, ObCreateObject → ExAllocatePoolWithTag
	SepDuplicateTokenRVA            = 0x5a3b10 // ntkrnlmp.exe, SepDuplicateToken → ObCreateObject (token body)
	SepDuplicateTokenDynamicRVA     = 0x5a3d47 // ntkrnlmp.exe, SepDuplicateToken → ExAllocatePoolWithTag (dynamic part)
	NtDuplicateTokenRVA             = 0x5a2f87 // ntkrnlmp.exe, NtDuplicateToken → SepDuplicateToken
	KiSystemServiceCopyEndRVA       = 0x40e8b5 // ntkrnlmp.exe, system service dispatch
	ZwDuplicateTokenRVA             = 0x3fd9b4 // ntkrnlmp.exe, the Zw stub a driver calls
	IofCallDriverRVA                = 0x2a7f55 // ntkrnlmp.exe
	IopSynchronousServiceTailRVA    = 0x6b0d2a // ntkrnlmp.exe
	IopXxxControlFileRVA            = 0x6af5c3 // ntkrnlmp.exe
	NtDeviceIoControlFileRVA        = 0x6aea06 // ntkrnlmp.exe
	CsCloneClientTokenRVA           = 0x2bd2   // contosec.sys, the culprit: ZwDuplicateToken, never closed
	CsDispatchDeviceControlRVA      = 0x1c4e   // contosec.sys, IRP_MJ_DEVICE_CONTROL handler
	NtdllNtDeviceIoControlFileRVA   = 0x9d2f4  // ntdll.dll
	NtdllNtDuplicateTokenRVA        = 0x9dd34  // ntdll.dll
	DeviceIoControlRVA              = 0x3e25b  // KernelBase.dll
	DuplicateTokenExRVA             = 0x6d34e  // KernelBase.dll
	CsNotifyLogonRVA                = 0x19a7   // contosecpkg.dll, the product's LSA notification package
	LsapCallNotificationPackagesRVA = 0x5f3d1  // lsasrv.dll
	LsapDuplicateTokenForClientRVA  = 0x4a1ee  // lsasrv.dll
	LsapAuApiDispatchLogonUserRVA   = 0x2c8f2  // lsasrv.dll
	DispatchAPIDirectRVA            = 0x2a1bb  // lsasrv.dll
	TppWorkpExecuteCallbackRVA      = 0x3aa2e  // ntdll.dll
	TppWorkerThreadRVA              = 0x36329  // ntdll.dll
	BaseThreadInitThunkRVA          = 0x17984  // kernel32.dll
	RtlUserThreadStartRVA           = 0x7c4cb  // ntdll.dll
)

// Function is a function of a module: its start RVA and size, and the
// return addresses (RVAs) inside it that stacks hold. Functions is what a
// PDB fixture for these images needs.
type Function struct {
	Module  string
	Name    string
	Start   uint32
	Size    uint32
	Returns []uint32
}

// Functions lists every function a frame of the example lies in.
var Functions = []Function{
	// ntkrnlmp.exe
	{ModNT, "IopAllocateIrpPrivate", 0x2a1560, 0x2d0, []uint32{0x2a16c4}},
	{ModNT, "IofCallDriver", 0x2a7f10, 0x70, []uint32{IofCallDriverRVA}},
	{ModNT, "IoAllocateMdl", 0x2a9b00, 0x1a0, []uint32{0x2a9bc3}},
	{ModNT, "ObfDereferenceObjectWithTag", 0x2b5a40, 0xe0, []uint32{0x2b5ab8}},
	{ModNT, "ExpWorkerThread", 0x2c1b00, 0x300, []uint32{0x2c1c95}},
	{ModNT, "KiRetireDpcList", 0x2d3800, 0x400, []uint32{0x2d3a6f}},
	{ModNT, "KiExecuteAllDpcs", 0x2d3e00, 0x500, []uint32{0x2d40ae}},
	{ModNT, "ExAllocatePoolWithTag", 0x36f000, 0x2c0, []uint32{ExAllocatePoolWithTagRVA}},
	{ModNT, "ExFreePoolWithTag", 0x36f400, 0x1a0, []uint32{ExFreePoolWithTagRVA}},
	{ModNT, "ZwDuplicateToken", 0x3fd9a0, 0x20, []uint32{ZwDuplicateTokenRVA}},
	{ModNT, "KiStartSystemThread", 0x40a0c0, 0x30, []uint32{0x40a0d6}},
	{ModNT, "KiIdleLoop", 0x40a300, 0x200, []uint32{0x40a38e}},
	{ModNT, "KiSystemServiceCopyEnd", 0x40e880, 0x50, []uint32{KiSystemServiceCopyEndRVA}},
	{ModNT, "NtDuplicateToken", 0x5a2e00, 0x260, []uint32{NtDuplicateTokenRVA}},
	{ModNT, "SepDuplicateToken", 0x5a3600, 0x8c0, []uint32{SepDuplicateTokenRVA, SepDuplicateTokenDynamicRVA}},
	{ModNT, "SepTokenDeleteMethod", 0x5a8e10, 0x120, []uint32{0x5a8e9b}},
	{ModNT, "NtOpenProcessTokenEx", 0x5aa100, 0x140, []uint32{0x5aa1c8}},
	{ModNT, "SeCreateAccessStateEx", 0x5b0e00, 0x180, []uint32{0x5b0e7f}},
	{ModNT, "NtCreateEvent", 0x5e1c40, 0x100, []uint32{0x5e1cb9}},
	{ModNT, "ObCreateObject", 0x62a400, 0x2a0, []uint32{ObCreateObjectRVA}},
	{ModNT, "ObpRemoveObjectRoutine", 0x62f310, 0x160, []uint32{0x62f3e6}},
	{ModNT, "NtClose", 0x63cb80, 0x40, []uint32{0x63cbab}},
	{ModNT, "ObCloseHandleTableEntry", 0x63d1a0, 0x3b0, []uint32{0x63d2f1}},
	{ModNT, "ObOpenObjectByNameEx", 0x64dc00, 0x200, []uint32{0x64dd3e}},
	{ModNT, "ObpLookupObjectName", 0x64e000, 0x900, []uint32{0x64e5b1}},
	{ModNT, "IopParseDevice", 0x6683a0, 0x1600, []uint32{0x668f01}},
	{ModNT, "NtCreateFile", 0x66bf00, 0x80, []uint32{0x66bf64}},
	{ModNT, "IopCreateFile", 0x66c200, 0x1000, []uint32{0x66c7a9}},
	{ModNT, "NtDeviceIoControlFile", 0x6ae9c0, 0x60, []uint32{NtDeviceIoControlFileRVA}},
	{ModNT, "IopXxxControlFile", 0x6aef00, 0xa80, []uint32{IopXxxControlFileRVA}},
	{ModNT, "IopSynchronousServiceTail", 0x6b0c40, 0x190, []uint32{IopSynchronousServiceTailRVA}},
	{ModNT, "MmCreateSection", 0x6d1a00, 0x500, []uint32{0x6d1d17}},
	{ModNT, "MiCreateNewSection", 0x6d2110, 0x3c0, []uint32{0x6d22a8}},
	{ModNT, "PsCreateSystemThread", 0x6f5900, 0x80, []uint32{0x6f5952}},
	{ModNT, "PspCreateThread", 0x6f5a00, 0x300, []uint32{0x6f5b9e}},
	{ModNT, "PspAllocateThread", 0x6f5e00, 0x900, []uint32{0x6f6114}},
	{ModNT, "PspSystemThreadStartup", 0x70e340, 0x60, []uint32{0x70e37a}},
	{ModNT, "NtOpenKeyEx", 0x7a0a80, 0x40, []uint32{0x7a0aa9}},
	{ModNT, "CmOpenKey", 0x7a0b00, 0x400, []uint32{0x7a0d5c}},
	{ModNT, "CmpDoParseKey", 0x7a1200, 0x1c00, []uint32{0x7a21d6}},
	{ModNT, "CmpCreateKeyControlBlock", 0x7a4c30, 0x600, []uint32{0x7a4e9d}},
	{ModNT, "HvpAddBin", 0x7b3000, 0x300, []uint32{0x7b31c2}},
	{ModNT, "HvAllocateCell", 0x7b3400, 0x280, []uint32{0x7b353e}},
	{ModNT, "CmpSetValueKeyNew", 0x7b8000, 0x500, []uint32{0x7b8274}},
	{ModNT, "CmpLazyWriteWorker", 0x7c0000, 0x200, []uint32{0x7c00d5}},

	// contosec.sys
	{ModContosec, "CsDispatchDeviceControl", 0x1a30, 0x3c0, []uint32{CsDispatchDeviceControlRVA}},
	{ModContosec, "CsCloneClientToken", 0x2b10, 0x1f0, []uint32{CsCloneClientTokenRVA}},

	// fltmgr.sys
	{ModFltMgr, "FltpDispatch", 0x6400, 0x100, []uint32{0x64a9}},
	{ModFltMgr, "FltpLegacyProcessingAfterPreCallbacksCompleted", 0x6600, 0x400, []uint32{0x67f5}},
	{ModFltMgr, "FltpCreate", 0x3c000, 0x500, []uint32{0x3c2b3}},

	// ntfs.sys
	{ModNtfs, "NtfsFsdCreate", 0xf000, 0x400, []uint32{0xf28c}},
	{ModNtfs, "NtfsCommonCreate", 0x10000, 0x3000, []uint32{0x11a6b}},
	{ModNtfs, "NtfsFsdRead", 0x2a000, 0x400, []uint32{0x2a1d3}},
	{ModNtfs, "NtfsCommonRead", 0x2b000, 0x1800, []uint32{0x2b9c2}},
	{ModNtfs, "NtfsNonCachedIo", 0x38000, 0xc00, []uint32{0x385e4}},
	{ModNtfs, "NtfsMultipleAsync", 0x3f000, 0x600, []uint32{0x3f2c0}},
	{ModNtfs, "NtfsCreateScb", 0x60000, 0x800, []uint32{0x603f7}},
	{ModNtfs, "NtfsReadMftRecord", 0x70000, 0x500, []uint32{0x70251}},

	// ndis.sys
	{ModNDIS, "NdisAllocateMemoryWithTagPriority", 0x1d800, 0x80, []uint32{0x1d84c}},
	{ModNDIS, "NdisMIndicateReceiveNetBufferLists", 0x3a800, 0x600, []uint32{0x3ab09}},
	{ModNDIS, "ndisMIndicateNetBufferListsToOpen", 0x3c200, 0x400, []uint32{0x3c3f1}},
	{ModNDIS, "ndisInterruptDpc", 0x5e000, 0x300, []uint32{0x5e181}},

	// NETIO.SYS
	{ModNETIO, "KfdClassify", 0x1f400, 0x600, []uint32{0x1f6b5}},
	{ModNETIO, "NetioDispatch", 0x2a100, 0x100, []uint32{0x2a16e}},

	// tcpip.sys
	{ModTcpip, "IpFlcReceivePackets", 0x14000, 0x300, []uint32{0x1412c}},
	{ModTcpip, "IppReceiveHeaderBatch", 0x15200, 0xa00, []uint32{0x15790}},
	{ModTcpip, "TcpTcbReceive", 0x1c400, 0x1200, []uint32{0x1cb1f}},
	{ModTcpip, "TcpTcbCarefulDatagram", 0x20000, 0x800, []uint32{0x2042a}},
	{ModTcpip, "TcpCreateTcb", 0x3a210, 0x400, []uint32{0x3a3e5}},
	{ModTcpip, "UdpCreateEndpoint", 0x5e300, 0x300, []uint32{0x5e4b7}},
	{ModTcpip, "TcpGrowPortPool", 0x9c100, 0x200, []uint32{0x9c1d2}},

	// afd.sys
	{ModAfd, "AfdDispatchDeviceControl", 0x11000, 0x100, []uint32{0x1108a}},
	{ModAfd, "AfdBind", 0x4b000, 0x900, []uint32{0x4b5c8}},

	// win32kbase.sys
	{ModWin32kBase, "HmgAlloc", 0x40000, 0x300, []uint32{0x40167}},
	{ModWin32kBase, "GreCreateSolidBrushInternal", 0x42000, 0x200, []uint32{0x420c1}},
	{ModWin32kBase, "AllocQueue", 0x8f000, 0x300, []uint32{0x8f1a2}},
	{ModWin32kBase, "xxxCreateThreadInfo", 0x90000, 0x1000, []uint32{0x905d0}},
	{ModWin32kBase, "RawInputThread", 0x93000, 0x800, []uint32{0x934ae}},

	// win32kfull.sys
	{ModWin32kFull, "NtGdiCreateSolidBrush", 0x1b000, 0x100, []uint32{0x1b08e}},
	{ModWin32kFull, "NtGdiAddFontResourceW", 0x7d000, 0x300, []uint32{0x7d14b}},
	{ModWin32kFull, "PUBLIC_PFTOBJ::bLoadFonts", 0x7e000, 0xc00, []uint32{0x7e6a1}},

	// ntdll.dll
	{ModNtdll, "TppWorkerThread", 0x35f10, 0x800, []uint32{TppWorkerThreadRVA}},
	{ModNtdll, "TppWorkpExecuteCallback", 0x3a8d0, 0x400, []uint32{TppWorkpExecuteCallbackRVA}},
	{ModNtdll, "RtlUserThreadStart", 0x7c4a0, 0x40, []uint32{RtlUserThreadStartRVA}},
	{ModNtdll, "NtDeviceIoControlFile", 0x9d2e0, 0x20, []uint32{NtdllNtDeviceIoControlFileRVA}},
	{ModNtdll, "NtCreateEvent", 0x9d6a0, 0x20, []uint32{0x9d6b4}},
	{ModNtdll, "NtDuplicateToken", 0x9dd20, 0x20, []uint32{NtdllNtDuplicateTokenRVA}},
	{ModNtdll, "NtCreateFile", 0x9dfc0, 0x20, []uint32{0x9dfd4}},
	{ModNtdll, "NtOpenKeyEx", 0x9e3c0, 0x20, []uint32{0x9e3d4}},
	{ModNtdll, "NtOpenProcessTokenEx", 0x9e5a0, 0x20, []uint32{0x9e5b4}},

	// kernel32.dll
	{ModKernel32, "BaseThreadInitThunk", 0x17970, 0x30, []uint32{BaseThreadInitThunkRVA}},

	// KernelBase.dll
	{ModKernelBase, "RegOpenKeyExW", 0x1d380, 0x40, []uint32{0x1d3a1}},
	{ModKernelBase, "RegOpenKeyExInternalW", 0x1d4a0, 0x700, []uint32{0x1d6d9}},
	{ModKernelBase, "CreateFileW", 0x24e60, 0x80, []uint32{0x24ec0}},
	{ModKernelBase, "CreateFileInternal", 0x24f00, 0x900, []uint32{0x25493}},
	{ModKernelBase, "CreateEventW", 0x29c40, 0x60, []uint32{0x29c7f}},
	{ModKernelBase, "DeviceIoControl", 0x3e1c0, 0x140, []uint32{DeviceIoControlRVA}},
	{ModKernelBase, "OpenProcessToken", 0x6c9b0, 0x40, []uint32{0x6c9d6}},
	{ModKernelBase, "DuplicateTokenEx", 0x6d2f0, 0x90, []uint32{DuplicateTokenExRVA}},

	// lsasrv.dll
	{ModLsasrv, "DispatchAPIDirect", 0x2a010, 0x300, []uint32{DispatchAPIDirectRVA}},
	{ModLsasrv, "LsapAuApiDispatchLogonUser", 0x2c1d0, 0xe00, []uint32{LsapAuApiDispatchLogonUserRVA}},
	{ModLsasrv, "LsapDuplicateTokenForClient", 0x4a120, 0x180, []uint32{LsapDuplicateTokenForClientRVA}},
	{ModLsasrv, "LsapOpenCallerToken", 0x4b800, 0x100, []uint32{0x4b87a}},
	{ModLsasrv, "LsapCreateWorkerEvent", 0x51000, 0x100, []uint32{0x5106d}},
	{ModLsasrv, "LsapCallNotificationPackages", 0x5f310, 0x200, []uint32{LsapCallNotificationPackagesRVA}},

	// contosecpkg.dll
	{ModContosecPkg, "CsNotifyLogon", 0x1840, 0x300, []uint32{CsNotifyLogonRVA}},
	{ModContosecPkg, "CsSendToDriver", 0x2310, 0x120, []uint32{0x23a0}},

	// svchost.exe
	{ModSvchost, "ServiceStarter", 0x4900, 0x200, []uint32{0x4a31}},

	// dnsrslvr.dll
	{ModDnsrslvr, "Resolver_WorkerCallback", 0x9000, 0x300, []uint32{0x9155}},
	{ModDnsrslvr, "Resolver_QueryWorker", 0x1c000, 0x400, []uint32{0x1c2a8}},
	{ModDnsrslvr, "CacheRefreshRegistry", 0x21000, 0x400, []uint32{0x211c9}},

	// dnsapi.dll
	{ModDnsapi, "Query_Main", 0x12000, 0x600, []uint32{0x1236f}},
	{ModDnsapi, "Socket_Create", 0x2f000, 0x400, []uint32{0x2f1e3}},
	{ModDnsapi, "Send_AndRecvUdp", 0x33000, 0x800, []uint32{0x3342b}},
}

// frame is one frame of a stack shape: a return address RVA in a module,
// or, with mod empty, an absolute address outside every module.
type frame struct {
	mod string
	rva uint64
}

// fn returns the frame of the first return site in the named function.
func fn(mod, name string) frame { return fnAt(mod, name, 0) }

// fnAt returns the frame of return site i in the named function. It
// panics on a name missing from Functions: the tables are fixed, and a
// typo must fail every test at once.
func fnAt(mod, name string, i int) frame {
	for _, f := range Functions {
		if f.Module == mod && f.Name == name {
			return frame{mod, uint64(f.Returns[i])}
		}
	}
	panic(fmt.Sprintf("tokeleak: no function %s!%s", mod, name))
}

// raw is a frame at an absolute address in no module.
func raw(addr uint64) frame { return frame{rva: addr} }
