package etl

import (
	"fmt"
	"strings"
)

// FormatError reports bytes that do not form a valid ETL file. It says
// where: the byte offset in the file, the buffer, and (when the trouble is
// in a record) the record's offset after the 0x48-byte buffer header.
//
// The reader returns a FormatError from NewFile when the file cannot be
// read at all. Damage inside a buffer does not stop a walk: the damaged
// part is skipped and the error is kept in the reader's Problems.
type FormatError struct {
	// Offset is the file offset of the damaged bytes. Inside a compressed
	// buffer, whose decompressed bytes have no file offset, it is the
	// offset of the buffer.
	Offset int64
	// Buffer is the index of the buffer in file order, -1 when the
	// problem is not inside a buffer.
	Buffer int
	// Record is the offset of the record inside the (decompressed)
	// buffer, counted from the end of the buffer header, -1 when the
	// problem is not about a record.
	Record int
	// Msg says what was wrong.
	Msg string
	// Err is the underlying error, if any (a decompression or I/O error).
	Err error
}

func (e *FormatError) Error() string {
	var b strings.Builder
	b.WriteString("etl: ")
	if e.Buffer >= 0 {
		fmt.Fprintf(&b, "buffer %d ", e.Buffer)
	}
	fmt.Fprintf(&b, "at file offset %#x", e.Offset)
	if e.Record >= 0 {
		fmt.Fprintf(&b, ", record at +%#x", e.Record)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *FormatError) Unwrap() error { return e.Err }
