package symbols

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotPDB is wrapped by the *FormatError returned for input that does
// not start with the PDB 7.0 (MSF) signature at all: an HTML error page
// from a symbol server, a cabinet file, an image, ...
var ErrNotPDB = errors.New("not a PDB file")

// ErrMSFZ is wrapped by the *UnsupportedError returned for Microsoft's
// compressed PDB container ("MSFZ", served by symbol servers as
// .../msfz0/NAME.pdb), which this package detects but does not decode.
var ErrMSFZ = errors.New("compressed PDB (MSFZ container) is not supported")

// FormatError reports bytes that do not form a valid PDB. It says where:
// the absolute byte offset in the file and, when the problem is inside
// an MSF stream, the stream and the offset inside it.
type FormatError struct {
	// Offset is the absolute file offset of the bad bytes, or -1 when it
	// cannot be named (the end of a stream that is shorter than needed).
	Offset int64
	// Stream is the MSF stream index, or -1 when the problem is in the
	// container itself (superblock, block map, stream directory).
	Stream int
	// StreamName says what the stream holds ("DBI", "symbol records",
	// "module 3 (foo.obj)", ...); empty when Stream is -1.
	StreamName string
	// StreamOffset is the offset inside the stream when Stream >= 0.
	StreamOffset int64
	// Msg says what was wrong.
	Msg string
	// Err is the underlying error, if any (for example an I/O error, or
	// ErrNotPDB).
	Err error
}

func (e *FormatError) Error() string {
	var b strings.Builder
	b.WriteString("pdb: ")
	if e.Stream >= 0 {
		fmt.Fprintf(&b, "stream %d", e.Stream)
		if e.StreamName != "" {
			fmt.Fprintf(&b, " (%s)", e.StreamName)
		}
		fmt.Fprintf(&b, " offset %#x", e.StreamOffset)
		if e.Offset >= 0 {
			fmt.Fprintf(&b, " (file offset %#x)", e.Offset)
		}
		b.WriteString(": ")
	} else if e.Offset >= 0 {
		fmt.Fprintf(&b, "file offset %#x: ", e.Offset)
	}
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *FormatError) Unwrap() error { return e.Err }

// UnsupportedError reports input that is recognisably a PDB (or one of
// its relatives) but in a form this package does not decode: the MSFZ
// compressed container, the PDB 2.0 format, a PDB without a DBI stream.
type UnsupportedError struct {
	// Offset is the absolute file offset of the bytes that show it.
	Offset int64
	// What describes the unsupported form.
	What string
	// Err is a sentinel such as ErrMSFZ, or nil.
	Err error
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("pdb: file offset %#x: unsupported: %s", e.Offset, e.What)
}

func (e *UnsupportedError) Unwrap() error { return e.Err }

// IdentityMismatchError is returned by [PDB.CheckIdentity] when a PDB
// does not belong to the image whose CodeView record was given.
type IdentityMismatchError struct {
	Want Identity // from the image (RSDS record)
	Got  Identity // from the PDB (info stream GUID, DBI age)
}

func (e *IdentityMismatchError) Error() string {
	return fmt.Sprintf("pdb: identity mismatch: image wants %v, PDB is %v", e.Want, e.Got)
}
