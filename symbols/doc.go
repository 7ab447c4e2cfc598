// Package symbols reads Microsoft PDB 7.0 files (the MSF container) to
// name addresses in Windows images: kernel stack frames in particular.
// It uses only the standard library and runs on any OS.
//
// [OpenPDB] reads the streams needed for symbolization — the PDB info
// stream (GUID), the DBI stream (age, modules, section headers, OMAP),
// the public symbols, the procedures in module streams and their C13
// line tables — and builds sorted tables, so that [PDB.Lookup] is a
// binary search that allocates nothing. [PDB.LookupInlined] adds the
// functions inlined at an address, from the inline sites in module
// streams and the names in the IPI stream; inline data that is damaged
// is skipped, never fatal. The TPI stream and the global symbol hash are
// never read. A loaded *PDB holds no reference to its input and is safe
// for concurrent use.
//
// # Identity
//
// A PDB belongs to an image when its GUID equals the GUID of the
// image's CodeView (RSDS) record and its DBI age equals the RSDS age.
// The PDB info stream has an age of its own that tools such as pdbstr
// bump; it is reported by [PDB.InfoAge] but not used for matching. See
// [PDB.Matches] and [PDB.CheckIdentity].
//
// # Robustness
//
// PDB files come from symbol servers and customer machines, so this
// package treats its input as hostile. Corrupt input yields a
// *[FormatError] with the absolute file offset (and stream) of the bad
// bytes; well-formed input that is not decoded, such as Microsoft's
// compressed MSFZ container, yields an *[UnsupportedError]. No size or
// count read from the file is used before it is checked against the
// file size, and the bytes the reader allocates for streams add up to
// at most the size of the file. The package never panics on input.
package symbols
