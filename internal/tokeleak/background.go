package tokeleak

import "math/bits"

// The background: ordinary pool traffic amid the leak, in every pool
// (paged, nonpaged, NX, session paged in two sessions, big pool with and
// without the big-pool marker), from kernel threads, DPCs (in the Idle
// thread's context) and user processes, with most allocations freed
// (AIFI), some outstanding, and frees of blocks allocated before the trace
// (AOFI). Then the edge cases a pool tracker must get right, planned
// explicitly (edges).

// bgSite is a background allocation site with its traffic parameters.
type bgSite struct {
	*site
	tag      uint32 // as logged
	poolType uint32 // base type; BigPoolMarker is added for big sizes when bigMarker
	sizes    []uint64
	// bigMarker ORs BigPoolMarker into the logged type of page-granular
	// allocations; without it big allocations are logged unmarked.
	bigMarker bool
	threads   []*Thread
	weight    int
	freedPct  int   // allocations freed inside the trace, percent
	aofiPct   int   // AOFI frees per 100 allocations
	keyedPct  int   // kernel part keyed rather than inline, percent
	noStack   int   // allocations without any stack, percent
	maxLife   int64 // ticks
	// from and to bound the allocation times, in permille of the pool
	// window (to 0 means 1000).
	from, to int64
}

// Tag values (first character in the lowest byte).
func tag(s string) uint32 {
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

const (
	ms     = 10_000 // ticks per millisecond at 10 MHz
	sec    = 1000 * ms
	minute = 60 * sec
)

var (
	sysWorker = []frame{fn(ModNT, "ExpWorkerThread"), fn(ModNT, "PspSystemThreadStartup"), fn(ModNT, "KiStartSystemThread")}
	dpc       = []frame{fn(ModNT, "KiExecuteAllDpcs"), fn(ModNT, "KiRetireDpcList"), fn(ModNT, "KiIdleLoop")}
	ntfsRead  = []frame{fn(ModNtfs, "NtfsNonCachedIo"), fn(ModNtfs, "NtfsCommonRead"), fn(ModNtfs, "NtfsFsdRead"),
		fn(ModFltMgr, "FltpLegacyProcessingAfterPreCallbacksCompleted"), fn(ModFltMgr, "FltpDispatch"), fn(ModNT, "IofCallDriver")}
	threadPool = []frame{fn(ModNtdll, "TppWorkpExecuteCallback"), fn(ModNtdll, "TppWorkerThread"),
		fn(ModKernel32, "BaseThreadInitThunk"), fn(ModNtdll, "RtlUserThreadStart")}
	openKeyUser = []frame{fn(ModNtdll, "NtOpenKeyEx"), fn(ModKernelBase, "RegOpenKeyExInternalW"), fn(ModKernelBase, "RegOpenKeyExW"),
		fn(ModDnsrslvr, "CacheRefreshRegistry"), fn(ModSvchost, "ServiceStarter"),
		fn(ModKernel32, "BaseThreadInitThunk"), fn(ModNtdll, "RtlUserThreadStart")}
	createEvent = []frame{fn(ModNT, "ExAllocatePoolWithTag"), fn(ModNT, "ObCreateObject"), fn(ModNT, "NtCreateEvent"),
		fn(ModNT, "KiSystemServiceCopyEnd")}
)

func join(parts ...[]frame) []frame {
	var out []frame
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func f(mod, name string) []frame { return []frame{fn(mod, name)} }

var alloc0 = f(ModNT, "ExAllocatePoolWithTag")

// Background sites: tag, pool, sizes, stack, threads and traffic.
var (
	siteIrp = &bgSite{site: &site{name: "irp",
		kernel: join(alloc0, f(ModNT, "IopAllocateIrpPrivate"), f(ModNtfs, "NtfsMultipleAsync"), ntfsRead, sysWorker)},
		tag: tag("Irp "), poolType: PoolNX, sizes: []uint64{280, 376, 472, 568}, weight: 14,
		freedPct: 97, aofiPct: 3, keyedPct: 60, noStack: 1, maxLife: 200 * ms}
	siteMmSt = &bgSite{site: &site{name: "mmst",
		kernel: join(alloc0, f(ModNT, "MiCreateNewSection"), f(ModNT, "MmCreateSection"), sysWorker)},
		tag: tag("MmSt"), poolType: PoolPaged, sizes: []uint64{96, 112, 160}, weight: 8,
		freedPct: 80, aofiPct: 6, keyedPct: 50, maxLife: 5 * minute}
	siteCM31 = &bgSite{site: &site{name: "cm31",
		kernel: join(alloc0, f(ModNT, "CmpCreateKeyControlBlock"), f(ModNT, "CmpDoParseKey"), f(ModNT, "ObpLookupObjectName"),
			f(ModNT, "ObOpenObjectByNameEx"), f(ModNT, "CmOpenKey"), f(ModNT, "NtOpenKeyEx"), f(ModNT, "KiSystemServiceCopyEnd")),
		user: openKeyUser},
		tag: tag("CM31"), poolType: PoolPaged, sizes: []uint64{64, 128}, weight: 10,
		freedPct: 90, aofiPct: 4, keyedPct: 70, maxLife: 1 * minute}
	siteNtFs = &bgSite{site: &site{name: "ntfs",
		kernel: join(alloc0, f(ModNtfs, "NtfsReadMftRecord"), f(ModNtfs, "NtfsCreateScb"), f(ModNtfs, "NtfsCommonCreate"),
			f(ModNtfs, "NtfsFsdCreate"), f(ModFltMgr, "FltpCreate"), f(ModNT, "IofCallDriver"), sysWorker)},
		tag: tag("NtFs"), poolType: PoolPaged, sizes: []uint64{128, 256, 4200}, weight: 8,
		freedPct: 85, aofiPct: 5, keyedPct: 50, maxLife: 2 * minute}
	siteSe = &bgSite{site: &site{name: "se",
		kernel: join(alloc0, f(ModNT, "SeCreateAccessStateEx"), f(ModNT, "NtOpenProcessTokenEx"), f(ModNT, "KiSystemServiceCopyEnd")),
		user: join(f(ModNtdll, "NtOpenProcessTokenEx"), f(ModKernelBase, "OpenProcessToken"), f(ModLsasrv, "LsapOpenCallerToken"),
			f(ModLsasrv, "DispatchAPIDirect"), threadPool)},
		tag: tag("Se  "), poolType: PoolPaged, sizes: []uint64{80, 112}, weight: 6,
		freedPct: 95, aofiPct: 2, keyedPct: 60, maxLife: 1 * sec}
	siteThre = &bgSite{site: &site{name: "thre",
		kernel: join(alloc0, f(ModNT, "ObCreateObject"), f(ModNT, "PspAllocateThread"), f(ModNT, "PspCreateThread"),
			f(ModNT, "PsCreateSystemThread"), sysWorker)},
		tag: tag("Thre") | ProtectedTag, poolType: PoolNX, sizes: []uint64{2176}, weight: 3,
		freedPct: 70, aofiPct: 5, keyedPct: 30, maxLife: 10 * minute}
	siteEvenLsass = &bgSite{site: &site{name: "even-lsass", kernel: createEvent,
		user: join(f(ModNtdll, "NtCreateEvent"), f(ModKernelBase, "CreateEventW"), f(ModLsasrv, "LsapCreateWorkerEvent"), threadPool)},
		tag: tag("Even") | ProtectedTag, poolType: PoolNX, sizes: []uint64{88}, weight: 3,
		freedPct: 92, aofiPct: 3, keyedPct: 50, maxLife: 30 * sec}
	siteEvenSvc = &bgSite{site: &site{name: "even-svchost", kernel: createEvent,
		user: join(f(ModNtdll, "NtCreateEvent"), f(ModKernelBase, "CreateEventW"), f(ModDnsrslvr, "Resolver_WorkerCallback"), threadPool)},
		tag: tag("Even") | ProtectedTag, poolType: PoolNX, sizes: []uint64{88}, weight: 3,
		freedPct: 92, aofiPct: 3, keyedPct: 50, maxLife: 30 * sec}
	siteFile = &bgSite{site: &site{name: "file",
		kernel: join(alloc0, f(ModNT, "ObCreateObject"), f(ModNT, "IopParseDevice"), f(ModNT, "ObpLookupObjectName"),
			f(ModNT, "ObOpenObjectByNameEx"), f(ModNT, "IopCreateFile"), f(ModNT, "NtCreateFile"), f(ModNT, "KiSystemServiceCopyEnd")),
		user: join(f(ModNtdll, "NtCreateFile"), f(ModKernelBase, "CreateFileInternal"), f(ModKernelBase, "CreateFileW"),
			f(ModDnsrslvr, "Resolver_WorkerCallback"), threadPool)},
		tag: tag("File") | ProtectedTag, poolType: PoolNX, sizes: []uint64{344}, weight: 6,
		freedPct: 95, aofiPct: 3, keyedPct: 60, maxLife: 20 * sec}
	siteTcpE = &bgSite{site: &site{name: "tcpe",
		kernel: join(alloc0, f(ModTcpip, "TcpCreateTcb"), f(ModTcpip, "TcpTcbCarefulDatagram"), f(ModTcpip, "TcpTcbReceive"),
			f(ModTcpip, "IppReceiveHeaderBatch"), f(ModNETIO, "NetioDispatch"), f(ModTcpip, "IpFlcReceivePackets"),
			f(ModNDIS, "ndisMIndicateNetBufferListsToOpen"), f(ModNDIS, "NdisMIndicateReceiveNetBufferLists"),
			f(ModNDIS, "ndisInterruptDpc"), dpc)},
		tag: tag("TcpE"), poolType: PoolNX, sizes: []uint64{640, 1024}, weight: 5,
		freedPct: 70, aofiPct: 8, keyedPct: 50, maxLife: 3 * minute}
	siteUdpA = &bgSite{site: &site{name: "udpa",
		kernel: join(alloc0, f(ModTcpip, "UdpCreateEndpoint"), f(ModAfd, "AfdBind"), f(ModAfd, "AfdDispatchDeviceControl"),
			f(ModNT, "IofCallDriver"), f(ModNT, "IopSynchronousServiceTail"), f(ModNT, "IopXxxControlFile"),
			f(ModNT, "NtDeviceIoControlFile"), f(ModNT, "KiSystemServiceCopyEnd")),
		user: join(f(ModNtdll, "NtDeviceIoControlFile"), f(ModDnsapi, "Socket_Create"), f(ModDnsapi, "Send_AndRecvUdp"),
			f(ModDnsapi, "Query_Main"), f(ModDnsrslvr, "Resolver_QueryWorker"), threadPool)},
		tag: tag("UdpA"), poolType: PoolNX, sizes: []uint64{384}, weight: 3,
		freedPct: 80, keyedPct: 50, maxLife: 1 * minute}
	siteTcpP = &bgSite{site: &site{name: "tcpp",
		kernel: join(alloc0, f(ModTcpip, "TcpGrowPortPool"), sysWorker)},
		tag: tag("TcpP"), poolType: PoolNX, sizes: []uint64{32768, 65536}, bigMarker: true, weight: 1,
		freedPct: 50, aofiPct: 10, keyedPct: 0, maxLife: 10 * minute}
	// siteCM16 starts halfway, after the first key evictions, so its
	// first keyed stack takes a key value freed by a KeyDelete.
	siteCM16 = &bgSite{site: &site{name: "cm16",
		kernel: join(alloc0, f(ModNT, "HvpAddBin"), f(ModNT, "HvAllocateCell"), f(ModNT, "CmpSetValueKeyNew"),
			f(ModNT, "CmpLazyWriteWorker"), sysWorker)},
		tag: tag("CM16"), poolType: PoolPaged, sizes: []uint64{8192, 12288, 16384}, bigMarker: true, weight: 2,
		freedPct: 60, aofiPct: 5, keyedPct: 100, maxLife: 5 * minute, from: 500}
	siteMdl = &bgSite{site: &site{name: "mdl",
		kernel: join(alloc0, f(ModNT, "IoAllocateMdl"), ntfsRead, sysWorker)},
		tag: tag("Mdl "), poolType: PoolNX, sizes: []uint64{56, 88}, weight: 8,
		freedPct: 98, aofiPct: 2, keyedPct: 60, noStack: 1, maxLife: 100 * ms}
	siteObNm = &bgSite{site: &site{name: "obnm",
		kernel: join(alloc0, f(ModNT, "ObpLookupObjectName"), f(ModNT, "ObOpenObjectByNameEx"), f(ModNT, "CmOpenKey"),
			f(ModNT, "NtOpenKeyEx"), f(ModNT, "KiSystemServiceCopyEnd")),
		user: openKeyUser},
		tag: tag("ObNm"), poolType: PoolPaged, sizes: []uint64{144, 208}, weight: 4,
		freedPct: 95, aofiPct: 3, keyedPct: 50, maxLife: 1 * sec}
	siteGh05 = &bgSite{site: &site{name: "gh05",
		kernel: join(alloc0, f(ModWin32kBase, "HmgAlloc"), f(ModWin32kBase, "GreCreateSolidBrushInternal"),
			f(ModWin32kFull, "NtGdiCreateSolidBrush"), f(ModNT, "KiSystemServiceCopyEnd"))},
		tag: tag("Gh05"), poolType: PoolSessionPaged, sizes: []uint64{192, 320, 496}, weight: 6,
		freedPct: 85, aofiPct: 4, keyedPct: 50, maxLife: 2 * minute}
	siteUsqu = &bgSite{site: &site{name: "usqu",
		kernel: join(alloc0, f(ModWin32kBase, "AllocQueue"), f(ModWin32kBase, "xxxCreateThreadInfo"),
			f(ModWin32kBase, "RawInputThread"), f(ModNT, "PspSystemThreadStartup"), f(ModNT, "KiStartSystemThread"))},
		tag: tag("Usqu"), poolType: PoolSessionPaged, sizes: []uint64{128}, weight: 3,
		freedPct: 90, aofiPct: 2, keyedPct: 50, maxLife: 1 * minute}
	siteTtfd = &bgSite{site: &site{name: "ttfd",
		kernel: join(alloc0, f(ModWin32kFull, "PUBLIC_PFTOBJ::bLoadFonts"), f(ModWin32kFull, "NtGdiAddFontResourceW"),
			f(ModNT, "KiSystemServiceCopyEnd"))},
		tag: tag("Ttfd"), poolType: PoolSessionPaged, sizes: []uint64{8192}, bigMarker: true, weight: 1,
		freedPct: 80, keyedPct: 50, maxLife: 5 * minute}
	siteNDnd = &bgSite{site: &site{name: "ndnd",
		kernel: join(alloc0, f(ModNDIS, "NdisAllocateMemoryWithTagPriority"), f(ModNDIS, "ndisMIndicateNetBufferListsToOpen"),
			f(ModNDIS, "NdisMIndicateReceiveNetBufferLists"), f(ModNDIS, "ndisInterruptDpc"), dpc)},
		tag: tag("NDnd"), poolType: PoolNonPaged, sizes: []uint64{1536, 2048}, weight: 3,
		freedPct: 90, aofiPct: 5, keyedPct: 50, maxLife: 30 * sec}
	// siteLea1: a driver that is in no module of the map (its frames
	// print as bare addresses), leaking.
	siteLea1 = &bgSite{site: &site{name: "lea1",
		kernel: join(alloc0, []frame{raw(UnknownFrame1), raw(UnknownFrame2)}, sysWorker)},
		tag: tag("Lea1"), poolType: PoolNonPaged, sizes: []uint64{256}, weight: 1,
		freedPct: 0, keyedPct: 0, maxLife: 1 * minute}
	// siteUSB: a tag with a non-printing character.
	siteUSB = &bgSite{site: &site{name: "usb",
		kernel: join(alloc0, sysWorker)},
		tag: tag("USB\x01"), poolType: PoolNX, sizes: []uint64{96}, weight: 1,
		freedPct: 50, keyedPct: 0, maxLife: 1 * minute}
)

// UnknownFrame1 and UnknownFrame2 are the return addresses of siteLea1's
// driver, outside every image of the map.
const (
	UnknownFrame1 = 0xfffff8041c3b2a10
	UnknownFrame2 = 0xfffff8041c3b1f44
)

// Background allocations per thread kind.
var (
	threadsSystem   = threads(PIDSystem, userNever)
	threadsIdle     = []*Thread{thread(PIDIdle, 0)}
	threadsSvcUser  = append(threads(PIDSvchost, userInline), threads(PIDSvchost, userKeyed)...)
	threadsLsassAll = append(append(threads(PIDLsass, userKeyed), threads(PIDLsass, userInline)...), thread(PIDLsass, 4020))
	threadsSvcAll   = append(threadsSvcUser, thread(PIDSvchost, 1260))
	threadsCsrss    = append(threads(PIDCsrss1, userNever), threads(PIDCsrss2, userNever)...)
)

func init() {
	for _, s := range []*bgSite{siteIrp, siteMmSt, siteNtFs, siteThre, siteTcpP, siteCM16, siteMdl, siteLea1, siteUSB} {
		s.threads = threadsSystem
	}
	for _, s := range []*bgSite{siteTcpE, siteNDnd} {
		s.threads = threadsIdle
	}
	for _, s := range []*bgSite{siteCM31, siteFile, siteUdpA, siteObNm} {
		s.threads = threadsSvcUser
	}
	siteSe.threads = threadsLsassAll
	siteEvenLsass.threads = threadsLsassAll
	siteEvenSvc.threads = threadsSvcAll
	for _, s := range []*bgSite{siteGh05, siteUsqu, siteTtfd} {
		s.threads = threadsCsrss
	}
}

// bgSites lists the background sites in the order they are planned.
var bgSites = []*bgSite{siteIrp, siteMmSt, siteCM31, siteNtFs, siteSe, siteThre, siteEvenLsass, siteEvenSvc, siteFile,
	siteTcpE, siteUdpA, siteTcpP, siteCM16, siteMdl, siteObNm, siteGh05, siteUsqu, siteTtfd, siteNDnd, siteLea1, siteUSB}

// lifetime returns a random lifetime between 16 ticks and maxLife,
// log-uniformly (integer arithmetic only, for reproducibility).
func (g *gen) lifetime(maxLife int64) int64 {
	hi := bits.Len64(uint64(maxLife)) - 1
	k := 4 + g.r.intn(hi-4+1)
	return min(int64(1)<<k+g.r.int63n(int64(1)<<k), maxLife)
}

// loggedType is the pool type an allocation of size at s is logged with.
func (s *bgSite) loggedType(size uint64) uint32 {
	if s.bigMarker && size > bigSize {
		return s.poolType | BigPoolMarker
	}
	return s.poolType
}

// background plans the background traffic.
func (g *gen) background() {
	w := 0
	for _, s := range bgSites {
		w += s.weight
	}
	for _, s := range bgSites {
		n := max(1, g.o.Background*s.weight/w)
		from, to := s.from, s.to
		if to == 0 {
			to = 1000
		}
		if s == siteUdpA {
			from = lateLoad + 10 // dnsapi.dll frames exist only after it loads
		}
		lo, hi := g.at(from), g.at(to)
		for range n {
			size := pick(g.r, s.sizes)
			th := pick(g.r, s.threads)
			kf := g.kernelForm(s.keyedPct)
			if g.r.percent(s.noStack) {
				kf = kernelNone
			}
			a := g.alloc(s.site, s.tag, s.loggedType(size), size, th, g.r.between(lo, hi), kf)
			if th.user == userNever && s.user != nil && th.PID == PIDSvchost {
				a.undefinedUser = g.r.percent(50)
			}
			if g.r.percent(s.freedPct) {
				if life := g.lifetime(s.maxLife); a.at+life < g.end {
					g.freeAfter(a, life, pick(g.r, s.threads))
				}
			}
		}
		for range n * s.aofiPct / 100 {
			size := pick(g.r, s.sizes)
			g.aofi(s.tag, s.loggedType(size), size, pick(g.r, s.threads), g.r.between(lo, hi))
		}
	}
}

// Edge-case counts, fixed whatever the options.
const (
	// EdgeNoStack allocations are logged without any stack (besides the
	// background's random ones).
	EdgeNoStack = 4
)

// edges plans the edge cases a pool tracker must get right.
func (g *gen) edges() {
	sys0, sys1 := thread(PIDSystem, 88), thread(PIDSystem, 92)

	// A lost free, same tag: "Irp " allocated twice at P1 without a free
	// between; the second is freed.
	p1 := pin(PoolNX, 376, 0)
	a := g.alloc(siteIrp.site, siteIrp.tag, PoolNX, 376, sys0, g.at(300), kernelInline)
	a.pin, a.lost = p1, true
	b := g.alloc(siteIrp.site, siteIrp.tag, PoolNX, 376, sys1, g.at(300)+1*sec, kernelKeyed)
	b.pin = p1
	g.freeAfter(b, 500*ms, sys0)

	// A lost free across tags: "Mdl " at P2, then "Irp " at P2, which
	// stays outstanding. The lost free counts on the Mdl row.
	p2 := pin(PoolNX, 88, 1)
	a = g.alloc(siteMdl.site, siteMdl.tag, PoolNX, 88, sys0, g.at(550), kernelInline)
	a.pin, a.lost = p2, true
	b = g.alloc(siteIrp.site, siteIrp.tag, PoolNX, 280, sys1, g.at(550)+2*sec, kernelInline)
	b.pin = p2

	// One session-pool address live in both sessions at once.
	s := pin(PoolSessionPaged, 320, 0)
	c1, c2 := thread(PIDCsrss1, 3916), thread(PIDCsrss2, 5204)
	a = g.alloc(siteGh05.site, siteGh05.tag, PoolSessionPaged, 320, c1, g.at(200), kernelKeyed)
	a.pin = s
	b = g.alloc(siteGh05.site, siteGh05.tag, PoolSessionPaged, 320, c2, g.at(200)+500*ms, kernelKeyed)
	b.pin = s
	g.freeAfter(a, 3*sec, c1)
	g.freeAfter(b, 4*sec, c2)

	// Two allocations with the same timestamp on two processors and
	// threads, both with inline stacks: only the thread tells the
	// stacks apart.
	at := g.at(700)
	a = g.alloc(siteIrp.site, siteIrp.tag, PoolNX, 472, sys0, at, kernelInline)
	b = g.alloc(siteMdl.site, siteMdl.tag, PoolNX, 56, sys1, at, kernelInline)
	a.group, b.group = 1, 1
	a.cpu, b.cpu = 1, 2
	g.freeAfter(a, 20*ms, sys1)
	g.freeAfter(b, 30*ms, sys0)

	// A free of a block from before the trace, whose address a new
	// allocation of another tag takes right after.
	q := pin(PoolNX, 344, 2)
	fr := g.aofi(siteFile.tag, PoolNX, 344, thread(PIDSvchost, 1112), g.at(400))
	fr.pin = q
	a = g.alloc(siteEvenSvc.site, siteEvenSvc.tag, PoolNX, 88, thread(PIDSvchost, 1176), g.at(400)+1*sec, kernelKeyed)
	a.pin = q

	// A user part whose key is never defined: the stack is the kernel
	// part alone.
	a = g.alloc(siteEvenSvc.site, siteEvenSvc.tag, PoolNX, 88, thread(PIDSvchost, 1260), g.at(450), kernelInline)
	a.undefinedUser = true

	// Allocations without any stack.
	for i := range EdgeNoStack {
		g.alloc(siteMmSt.site, siteMmSt.tag, PoolPaged, 112, threadsSystem[i], g.at(100+200*int64(i)), kernelNone)
	}
}
