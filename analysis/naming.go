package analysis

import (
	"math"

	"github.com/poolprof/poolprof/stacks"
	"github.com/poolprof/poolprof/symbols"
)

// PDBRequest returns what a symbols.Locator or symbols.Resolver needs to
// find the PDB of an image with PDB identity p (from the trace's
// DbgID_RSDS event).
func PDBRequest(p stacks.PDB) symbols.Request {
	r := symbols.Request{Name: p.Name, Age: p.Age}
	p.GUID.PutBytes(r.GUID[:])
	return r
}

// SymbolRequests returns the PDB requests of the modules that have a PDB
// identity, each once, in the order of mods.
func SymbolRequests(mods []*stacks.Module) []symbols.Request {
	var out []symbols.Request
	seen := make(map[symbols.Request]bool)
	for _, m := range mods {
		if m.PDB.IsZero() {
			continue
		}
		r := PDBRequest(m.PDB)
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// StackModules returns the modules that the frames of the stacks refs
// lie in, each once, in order of first appearance: the images whose
// PDBs naming those stacks needs.
func StackModules(mods *stacks.Modules, r stacks.Resolver, refs []stacks.Ref) []*stacks.Module {
	var out []*stacks.Module
	seenMod := make(map[*stacks.Module]bool)
	seenRef := make(map[stacks.Ref]bool, len(refs))
	for _, ref := range refs {
		if seenRef[ref] {
			continue
		}
		seenRef[ref] = true
		pid := r.Process(ref)
		for _, addr := range r.Resolve(ref) {
			if m := mods.Lookup(pid, addr); m != nil && !seenMod[m] {
				seenMod[m] = true
				out = append(out, m)
			}
		}
	}
	return out
}

// SymbolNamer is a stacks.Namer that names frames after the functions
// of the images' PDBs: "module!function" (ntkrnlmp.exe!SepDuplicateToken),
// the form WPA shows and design.md's output contract asks for. It is a
// stacks.InlineNamer too: where the compiler inlined functions at a
// frame's address (a driver built with optimization and private
// symbols), each gets a frame "module!function (inline)" of its own.
// Where it has no symbol it names a frame as the module map does:
// module+0xRVA inside an image whose PDB was not found (or that has no
// PDB identity, or whose PDB has no symbol at that address), 0xADDRESS
// outside every image. Frame gives the details behind a name (offset,
// file, line, inlined functions).
//
// Frames are return addresses, so a frame is looked up one byte before
// its address: the call it returns from, which is inside the calling
// function even when the call ends it (the line is the call's line too).
//
// The zero value with Modules set names frames as the module map does;
// set Resolver to use PDBs. The PDB of an image is looked up (through the
// Resolver) the first time one of its frames is named; use
// Resolver.Load beforehand to find many at once. Names are kept per
// address, so naming a frame again allocates nothing. A SymbolNamer is
// not safe for concurrent use.
type SymbolNamer struct {
	Modules  *stacks.Modules
	Resolver *symbols.Resolver // nil: no PDBs

	pdbs   map[*stacks.Module]*symbols.PDB // nil value: none
	frames map[frameKey]namedFrame
}

var _ stacks.InlineNamer = (*SymbolNamer)(nil)

type frameKey struct {
	mod  *stacks.Module
	addr uint64
}

// namedFrame is a symbolized frame; name is "" when the PDB has no
// symbol for it.
type namedFrame struct {
	name    string // module!function
	sym     symbols.Symbol
	inlined []namedInline // innermost first
}

// namedInline is a function inlined at a frame's address.
type namedInline struct {
	name string // module!function (inline)
	sym  symbols.Symbol
}

// inlineSuffix marks the name of an inlined function's frame, as
// `go tool pprof` marks them: no call happened there, the code at the
// address belongs to the function of the frame below it.
const inlineSuffix = " (inline)"

// Frame describes one stack frame.
type Frame struct {
	// Module is the image that holds the frame, nil outside every image.
	Module *stacks.Module
	// RVA is the frame's address relative to Module.Base.
	RVA uint64
	// Function is the function's name from the PDB: the procedure's
	// (undecorated) name, or the public symbol's. "" when the frame was
	// not symbolized.
	Function string
	// Offset is the frame's distance from the start of Function.
	Offset uint64
	// File and Line are the source position of the call the frame
	// returns from, when the PDB has lines; else "" and 0.
	File string
	Line int
	// Inlined are the functions the compiler inlined into Function at
	// this address, innermost first, each with its own source position.
	Inlined []InlinedFrame
}

// InlinedFrame is a function inlined at a frame's address.
type InlinedFrame struct {
	Function string // the bare function name
	// File and Line are where execution is in the function: for the
	// innermost, the call the frame returns from; for the others, the
	// line that calls the one before. "" and 0 when the PDB does not say.
	File string
	Line int
}

// AppendFrame appends the name of the frame at addr in process pid:
// module!function, module+0xRVA or 0xADDRESS.
func (n *SymbolNamer) AppendFrame(dst []byte, addr uint64, pid uint32) []byte {
	mod := n.Modules.Lookup(pid, addr)
	if mod == nil {
		return stacks.AppendAddress(dst, addr)
	}
	if f := n.lookup(mod, addr); f.name != "" {
		return append(dst, f.name...)
	}
	return stacks.AppendModuleOffset(dst, mod, addr)
}

// Frame returns what n knows about the frame at addr in process pid.
func (n *SymbolNamer) Frame(addr uint64, pid uint32) Frame {
	mod := n.Modules.Lookup(pid, addr)
	if mod == nil {
		return Frame{}
	}
	fr := Frame{Module: mod, RVA: addr - mod.Base}
	if f := n.lookup(mod, addr); f.name != "" {
		fr.Function = f.sym.Name
		fr.Offset = uint64(f.sym.Offset)
		fr.File, fr.Line = f.sym.File, f.sym.Line
		for _, in := range f.inlined {
			fr.Inlined = append(fr.Inlined, InlinedFrame{Function: in.sym.Name, File: in.sym.File, Line: in.sym.Line})
		}
	}
	return fr
}

// Inlined returns how many functions the compiler inlined at addr in
// process pid: SymbolNamer is a stacks.InlineNamer.
func (n *SymbolNamer) Inlined(addr uint64, pid uint32) int {
	if mod := n.Modules.Lookup(pid, addr); mod != nil {
		return len(n.lookup(mod, addr).inlined)
	}
	return 0
}

// AppendInlined appends the name of the k-th function inlined at addr,
// innermost first: "module!function (inline)".
func (n *SymbolNamer) AppendInlined(dst []byte, addr uint64, pid uint32, k int) []byte {
	if mod := n.Modules.Lookup(pid, addr); mod != nil {
		if in := n.lookup(mod, addr).inlined; k >= 0 && k < len(in) {
			return append(dst, in[k].name...)
		}
	}
	return dst
}

// Symbolized reports whether the PDB of mod was found: whether frames in
// it are named after functions (where the PDB has a symbol for them).
func (n *SymbolNamer) Symbolized(mod *stacks.Module) bool { return n.pdb(mod) != nil }

// lookup returns the symbolized frame at addr in mod, from the cache or
// the PDB.
func (n *SymbolNamer) lookup(mod *stacks.Module, addr uint64) namedFrame {
	p := n.pdb(mod)
	if p == nil {
		return namedFrame{}
	}
	k := frameKey{mod, addr}
	if f, ok := n.frames[k]; ok {
		return f
	}
	var f namedFrame
	if rva := addr - mod.Base; rva > 0 && rva <= math.MaxUint32 {
		// A return address: look up the call before it.
		if sym, ok := p.Lookup(uint32(rva - 1)); ok {
			sym.Offset++
			f = namedFrame{name: mod.Name + "!" + sym.Name, sym: sym}
			for _, in := range p.LookupInlined(uint32(rva-1), nil) {
				in.Offset++
				f.inlined = append(f.inlined, namedInline{name: mod.Name + "!" + in.Name + inlineSuffix, sym: in})
			}
		}
	}
	if n.frames == nil {
		n.frames = make(map[frameKey]namedFrame)
	}
	n.frames[k] = f
	return f
}

// pdb returns the PDB of mod, finding it the first time; nil when there
// is none.
func (n *SymbolNamer) pdb(mod *stacks.Module) *symbols.PDB {
	if n.Resolver == nil || mod.PDB.IsZero() {
		return nil
	}
	if p, ok := n.pdbs[mod]; ok {
		return p
	}
	p := n.Resolver.PDB(PDBRequest(mod.PDB))
	if n.pdbs == nil {
		n.pdbs = make(map[*stacks.Module]*symbols.PDB)
	}
	n.pdbs[mod] = p
	return p
}
