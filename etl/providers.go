package etl

// Kernel providers. SYSTEM, COMPACT and PERFINFO records name their event by
// a hook id whose high byte is a group; consumers present each group as the
// event-class GUID below, the way the kernel's MOF classes do.
var (
	ProviderEventTrace = MustParseGUID("68fdd900-4a3e-11d1-84f4-0000f80464e3")
	ProviderProcess    = MustParseGUID("3d6fa8d0-fe05-11d0-9dda-00c04fd7ba7c")
	ProviderThread     = MustParseGUID("3d6fa8d1-fe05-11d0-9dda-00c04fd7ba7c")
	ProviderPool       = MustParseGUID("0268a8b6-74fd-4302-9dd0-6e8f1795c0cf")
	ProviderPerfInfo   = MustParseGUID("ce1dbfb4-137e-4da6-87b0-3f59aa102cbc")
	ProviderImage      = MustParseGUID("2cb15d1d-5fc1-11d2-abe1-00a0c911f518")
	ProviderStackWalk  = MustParseGUID("def2fe46-7bd6-4b80-bd94-f57fe20d0ce3")

	// Event classes that KernelTraceControl injects when a trace is merged
	// (classic FULL_HEADER records).
	ProviderKernelTraceControlImageID = MustParseGUID("b3e675d7-2554-4f18-830b-2762732560de")
	ProviderKernelTraceControlSysConf = MustParseGUID("9b79ee91-b5fd-41c0-a243-4248e266e9d0")
	ProviderKernelTraceControlMeta    = MustParseGUID("bbccf6c1-6cd1-48c4-80ff-839482e37671")
)

// Hook groups of the NT kernel logger.
const (
	GroupEventTrace uint8 = 0x00
	GroupProcess    uint8 = 0x03
	GroupThread     uint8 = 0x05
	GroupPool       uint8 = 0x0E
	GroupPerfInfo   uint8 = 0x0F
	GroupImage      uint8 = 0x14
	GroupStackWalk  uint8 = 0x18
)

// hookImageLoad is logged in the Process group but is an Image event with
// the Image layout (opcode 10).
const hookImageLoad = 0x030A

type kernelGroup struct {
	name string
	guid GUID
}

var kernelGroups = [...]kernelGroup{
	0x00: {"EventTrace", ProviderEventTrace},
	0x01: {"DiskIo", MustParseGUID("3d6fa8d4-fe05-11d0-9dda-00c04fd7ba7c")},
	0x02: {"PageFault", MustParseGUID("3d6fa8d3-fe05-11d0-9dda-00c04fd7ba7c")},
	0x03: {"Process", ProviderProcess},
	0x04: {"FileIo", MustParseGUID("90cbdc39-4a3e-11d1-84f4-0000f80464e3")},
	0x05: {"Thread", ProviderThread},
	0x06: {"TcpIp", MustParseGUID("9a280ac0-c8e0-11d1-84e2-00c04fb998a2")},
	0x07: {"Job", MustParseGUID("3282fc76-feed-498e-8aa7-e70f459d430e")},
	0x08: {"UdpIp", MustParseGUID("bf3a50c5-a9c9-4988-a005-2df0b7c80f80")},
	0x09: {"Registry", MustParseGUID("ae53722e-c863-11d2-8659-00c04fa321a1")},
	0x0A: {"DbgPrint", MustParseGUID("13976d09-a327-438c-950b-7f03192815c7")},
	0x0B: {"SystemConfig", MustParseGUID("01853a65-418f-4f36-aefc-dc0f1d2fd235")},
	0x0C: {"Spare1", MustParseGUID("99134383-5248-43fc-834b-529454e75df3")},
	0x0D: {"Wnf", MustParseGUID("42695762-ea50-497a-9068-5cbbb35e0b95")},
	0x0E: {"PoolTrace", ProviderPool},
	0x0F: {"PerfInfo", ProviderPerfInfo},
	0x10: {"Heap", MustParseGUID("222962ab-6180-4b88-a825-346b75f2a24a")},
	0x11: {"Object", MustParseGUID("89497f50-effe-4440-8cf2-ce6b1cdcaca7")},
	0x12: {"Power", MustParseGUID("e43445e0-0903-48c3-b878-ff0fccebdd04")},
	0x13: {"ModBound", MustParseGUID("a9152f00-3f58-4bee-92a1-70c7d079d5dd")},
	0x14: {"Image", ProviderImage},
	0x15: {"Dpc", MustParseGUID("b2d14872-7c5b-463d-8419-ee9bf7d23e04")},
	0x16: {"Cc", MustParseGUID("7687a439-f752-45b8-b741-321aec0f8df9")},
	0x17: {"CritSec", MustParseGUID("3ac66736-cc59-4cff-8115-8df50e39816b")},
	0x18: {"StackWalk", ProviderStackWalk},
	0x19: {"Ums", MustParseGUID("9aec974b-5b8e-4118-9b92-3186d8002ce5")},
	0x1A: {"ALPC", MustParseGUID("45d8cccd-539f-4b72-a8b7-5c683142609a")},
	0x1B: {"SplitIo", MustParseGUID("d837ca92-12b9-44a5-ad6a-3a65b3578aa8")},
	0x1C: {"ThreadPool", MustParseGUID("c861d0e2-a2c1-4d36-9f9c-970bab943a12")},
	0x1D: {"Hypervisor", MustParseGUID("7f2a405c-69b5-4bf9-a1f5-30e8f1afab5e")},
	0x1E: {"HypervisorX", MustParseGUID("2ce9a149-effe-42f0-a635-a1d39e26c8f2")},
}

// KernelGroupGUID returns the event-class GUID that stands for a kernel
// hook group, and false for a group the reader does not know.
func KernelGroupGUID(group uint8) (GUID, bool) {
	if int(group) < len(kernelGroups) {
		return kernelGroups[group].guid, true
	}
	return GUID{}, false
}

// hookProvider maps a kernel hook id to the provider GUID an Event reports.
func hookProvider(hook uint16) GUID {
	if hook == hookImageLoad {
		return ProviderImage
	}
	g, _ := KernelGroupGUID(uint8(hook >> 8))
	return g
}

var namedProviders = map[GUID]string{
	ProviderKernelTraceControlImageID: "KernelTraceControl/ImageID",
	ProviderKernelTraceControlSysConf: "KernelTraceControl/SysConfig",
	ProviderKernelTraceControlMeta:    "KernelTraceControl/MetaData",
}

// ProviderName returns a short human name for the well-known kernel
// providers and the KernelTraceControl classes, or "" for others.
func ProviderName(g GUID) string {
	for _, k := range kernelGroups {
		if k.guid == g {
			return k.name
		}
	}
	return namedProviders[g]
}
