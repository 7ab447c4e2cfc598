package stacks

import "strconv"

// Namer names stack frames. The module map names a frame module+0xRVA; a
// symbolizer that reads PDBs can wrap it to name frames module!function
// (and fall back to the map where it has no symbols).
type Namer interface {
	// AppendFrame appends the name of the frame at addr in process pid
	// to dst. Kernel addresses name the same in every process.
	AppendFrame(dst []byte, addr uint64, pid uint32) []byte
}

// An InlineNamer is a Namer that also knows the functions the compiler
// inlined at an address. Folding gives each its own frame, between the
// function they were inlined into and that frame's callee, as debuggers,
// WPA and pprof show them.
type InlineNamer interface {
	Namer
	// Inlined returns how many functions are inlined at addr in process
	// pid.
	Inlined(addr uint64, pid uint32) int
	// AppendInlined appends the name of the k-th of them to dst, 0 being
	// the innermost (the code at addr) and Inlined-1 the one called from
	// the frame AppendFrame names.
	AppendInlined(dst []byte, addr uint64, pid uint32, k int) []byte
}

// FrameName returns the name n gives the frame at addr in process pid.
func FrameName(n Namer, addr uint64, pid uint32) string {
	var buf [64]byte
	return string(n.AppendFrame(buf[:0], addr, pid))
}

// AppendModuleOffset appends module+0xRVA, the RVA in lowercase hex
// without padding (e.g. "ntkrnlmp.exe+0x5a3b10"): the name of a frame in a
// module without symbols.
func AppendModuleOffset(dst []byte, mod *Module, addr uint64) []byte {
	dst = append(dst, mod.Name...)
	dst = append(dst, "+0x"...)
	return strconv.AppendUint(dst, addr-mod.Base, 16)
}

// AppendAddress appends 0xADDRESS, lowercase hex without padding: the name
// of a frame outside every known module.
func AppendAddress(dst []byte, addr uint64) []byte {
	dst = append(dst, "0x"...)
	return strconv.AppendUint(dst, addr, 16)
}

// AppendFrame names addr module+0xRVA after the module that holds it in
// process pid, or 0xADDRESS when none does. It allocates only if dst must
// grow. Modules is a Namer.
func (m *Modules) AppendFrame(dst []byte, addr uint64, pid uint32) []byte {
	if mod := m.Lookup(pid, addr); mod != nil {
		return AppendModuleOffset(dst, mod, addr)
	}
	return AppendAddress(dst, addr)
}

// FrameName returns the name AppendFrame gives addr in process pid.
func (m *Modules) FrameName(addr uint64, pid uint32) string { return FrameName(m, addr, pid) }

// Addresses is the Namer that names every frame 0xADDRESS, for traces
// without Image events.
var Addresses Namer = addressNamer{}

type addressNamer struct{}

func (addressNamer) AppendFrame(dst []byte, addr uint64, _ uint32) []byte {
	return AppendAddress(dst, addr)
}
