// Package kernel decodes the payloads of the classic kernel events a pool
// leak analysis needs: PoolTrace, StackWalk, Image, the KernelTraceControl
// ImageID events injected at merge time, Process, Thread and the EventTrace
// header group.
//
// One table ([Lookup], [Identify]) maps (provider GUID, opcode) to a [Kind]
// and each event version to the payload layout the decoders use. Each kind
// has a typed decoder that fills a caller-owned struct:
//
//	var pe kernel.PoolEvent
//	switch kernel.Lookup(ev) {
//	case kernel.KindPoolAlloc, kernel.KindPoolFree:
//		if err := pe.Decode(ev); err != nil {
//			// count it: the analysis reports what it could not decode
//		}
//	}
//
// Decoders allocate nothing. Strings, SIDs and stack frames are not copied:
// they alias ev.Payload and are valid as long as the payload is (for events
// from a reader, until its next call); call String or Append to keep them.
//
// The payload's pointer size comes from the record's header kind
// ([etl.HeaderKind.PointerSize]), never from the file header, because 32-bit
// and 64-bit records can share one file.
//
// Input is untrusted: a payload shorter than its version needs, an unknown
// version or a malformed field gives a [*DecodeError], never a panic. A
// payload longer than the layout it was decoded with is accepted (newer
// versions append fields); the Used field of each decoded struct says how
// many bytes the known fields covered. Strings at the end of a payload may
// lack their terminator or be missing altogether; both decode (the latter
// as an empty string), because real traces carry both forms.
package kernel
