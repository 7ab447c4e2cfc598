package tokeleak

// The story of docs/design.md: a security product's driver, contosec.sys,
// answers an ioctl that its LSA notification package in lsass.exe sends on
// every logon by duplicating the caller's token with ZwDuplicateToken and
// never closing the handle. Each duplicate is a new token object: a
// 1664-byte paged-pool allocation tagged Toke (with PROTECTED_POOL set, as
// object bodies are) made by ObCreateObject for SepDuplicateToken, never
// freed. Around it, lsass.exe duplicates tokens legitimately: token bodies
// of other sizes and the tokens' dynamic parts (SepDuplicateToken calling
// ExAllocatePoolWithTag directly, unprotected tag), some outstanding at the
// end, some freed on NtClose, and a few tokens from before the trace freed
// during it.

// Story constants.
const (
	TokeTag  = "Toke"
	TokeSize = 1664
	// TagToke is the tag value (first character in the lowest byte);
	// token bodies are logged with ProtectedTag set on top of it.
	TagToke = 0x656b6f54
	// DefaultLeaked is the number of leaked 1664-byte tokens: the story's
	// 6,043.
	DefaultLeaked = 6043
)

// TokeBatch is a number of Toke allocations of one size and stack.
type TokeBatch struct {
	Size  uint64
	Count int
	// Dynamic marks the tokens' dynamic parts: SepDuplicateToken →
	// ExAllocatePoolWithTag, tag without the protected bit. Otherwise
	// token bodies through ObCreateObject, protected.
	Dynamic bool
}

// TokeOutstanding are the legitimate Toke allocations still outstanding at
// the end, besides the leak: with the default 6,043 leaked tokens, the
// story's 6,189 outstanding Toke allocations.
var TokeOutstanding = []TokeBatch{{1248, 64, false}, {1424, 42, false}, {512, 40, true}}

// TokeFreed are the legitimate Toke allocations freed inside the trace.
var TokeFreed = []TokeBatch{{1248, 40, false}, {512, 24, true}}

// TokePreTrace are Toke blocks allocated before the trace and freed in it
// (AOFI): their frees log the block size.
var TokePreTrace = []TokeBatch{{1664, 8, false}, {1248, 4, false}}

var (
	// siteTokeLeak: lsass.exe → contosecpkg.dll → DeviceIoControl →
	// contosec.sys → ZwDuplicateToken → SepDuplicateToken → ObCreateObject.
	siteTokeLeak = &site{name: "toke-leak",
		kernel: []frame{
			fn(ModNT, "ExAllocatePoolWithTag"),
			fn(ModNT, "ObCreateObject"),
			fnAt(ModNT, "SepDuplicateToken", 0),
			fn(ModNT, "NtDuplicateToken"),
			fn(ModNT, "KiSystemServiceCopyEnd"),
			fn(ModNT, "ZwDuplicateToken"),
			fn(ModContosec, "CsCloneClientToken"),
			fn(ModContosec, "CsDispatchDeviceControl"),
			fn(ModNT, "IofCallDriver"),
			fn(ModNT, "IopSynchronousServiceTail"),
			fn(ModNT, "IopXxxControlFile"),
			fn(ModNT, "NtDeviceIoControlFile"),
			fn(ModNT, "KiSystemServiceCopyEnd"),
		},
		user: []frame{
			fn(ModNtdll, "NtDeviceIoControlFile"),
			fn(ModKernelBase, "DeviceIoControl"),
			fn(ModContosecPkg, "CsSendToDriver"),
			fn(ModContosecPkg, "CsNotifyLogon"),
			fn(ModLsasrv, "LsapCallNotificationPackages"),
			fn(ModLsasrv, "LsapAuApiDispatchLogonUser"),
			fn(ModLsasrv, "DispatchAPIDirect"),
			fn(ModNtdll, "TppWorkpExecuteCallback"),
			fn(ModNtdll, "TppWorkerThread"),
			fn(ModKernel32, "BaseThreadInitThunk"),
			fn(ModNtdll, "RtlUserThreadStart"),
		}}

	tokeUser = []frame{
		fn(ModNtdll, "NtDuplicateToken"),
		fn(ModKernelBase, "DuplicateTokenEx"),
		fn(ModLsasrv, "LsapDuplicateTokenForClient"),
		fn(ModLsasrv, "LsapAuApiDispatchLogonUser"),
		fn(ModLsasrv, "DispatchAPIDirect"),
		fn(ModNtdll, "TppWorkpExecuteCallback"),
		fn(ModNtdll, "TppWorkerThread"),
		fn(ModKernel32, "BaseThreadInitThunk"),
		fn(ModNtdll, "RtlUserThreadStart"),
	}

	// siteTokeBody: lsass.exe's own DuplicateTokenEx → token body.
	siteTokeBody = &site{name: "toke-body",
		kernel: []frame{
			fn(ModNT, "ExAllocatePoolWithTag"),
			fn(ModNT, "ObCreateObject"),
			fnAt(ModNT, "SepDuplicateToken", 0),
			fn(ModNT, "NtDuplicateToken"),
			fn(ModNT, "KiSystemServiceCopyEnd"),
		},
		user: tokeUser}

	// siteTokeDynamic: the same call → the token's dynamic part.
	siteTokeDynamic = &site{name: "toke-dynamic",
		kernel: []frame{
			fn(ModNT, "ExAllocatePoolWithTag"),
			fnAt(ModNT, "SepDuplicateToken", 1),
			fn(ModNT, "NtDuplicateToken"),
			fn(ModNT, "KiSystemServiceCopyEnd"),
		},
		user: tokeUser}

	// siteTokeFree: the last handle closed, the token deleted. Logged as
	// an inline kernel stack with the free.
	siteTokeFree = &site{name: "toke-free",
		kernel: []frame{
			fn(ModNT, "ExFreePoolWithTag"),
			fn(ModNT, "SepTokenDeleteMethod"),
			fn(ModNT, "ObpRemoveObjectRoutine"),
			fn(ModNT, "ObfDereferenceObjectWithTag"),
			fn(ModNT, "ObCloseHandleTableEntry"),
			fn(ModNT, "NtClose"),
			fn(ModNT, "KiSystemServiceCopyEnd"),
		}}
)

// tokeThread picks an lsass.exe thread that gets the user parts of its
// stacks: three quarters keyed, one quarter inline.
func (g *gen) tokeThread() *Thread {
	if g.r.percent(75) {
		return pick(g.r, threads(PIDLsass, userKeyed))
	}
	return pick(g.r, threads(PIDLsass, userInline))
}

// kernelForm picks the kernel form: keyed with probability keyedPct%.
func (g *gen) kernelForm(keyedPct int) kernelForm {
	if g.r.percent(keyedPct) {
		return kernelKeyed
	}
	return kernelInline
}

func (b TokeBatch) site() (*site, uint32) {
	if b.Dynamic {
		return siteTokeDynamic, TagToke
	}
	return siteTokeBody, TagToke | ProtectedTag
}

// story plans the Toke allocations and frees.
func (g *gen) story() {
	closer := thread(PIDLsass, 4020) // closes token handles; no user parts
	span := g.end - g.start

	// The leak: evenly spread over the trace, one every ~200 ms by default.
	n := int64(g.o.Leaked)
	for i := range n {
		at := g.start + (i*span+g.r.int63n(span))/n
		g.alloc(siteTokeLeak, TagToke|ProtectedTag, PoolPaged, TokeSize, g.tokeThread(), at, g.kernelForm(80))
	}
	for _, b := range TokeOutstanding {
		s, tag := b.site()
		for range b.Count {
			g.alloc(s, tag, PoolPaged, b.Size, g.tokeThread(), g.start+g.r.int63n(span), g.kernelForm(70))
		}
	}
	for _, b := range TokeFreed {
		s, tag := b.site()
		for range b.Count {
			a := g.alloc(s, tag, PoolPaged, b.Size, g.tokeThread(), g.start+g.r.int63n(span*9/10), g.kernelForm(70))
			life := min(g.r.between(20_000, 900_000_000), g.end-a.at-1) // 2 ms to 90 s
			g.freeAfter(a, life, closer).site = siteTokeFree
		}
	}
	for _, b := range TokePreTrace {
		_, tag := b.site()
		for range b.Count {
			g.aofi(tag, PoolPaged, b.Size, closer, g.start+g.r.int63n(span*3/10)).site = siteTokeFree
		}
	}
}
