package kernel

import (
	"errors"
	"strconv"

	"github.com/poolprof/poolprof/etl"
)

// Causes carried by [DecodeError.Err]; test for them with errors.Is.
var (
	// ErrShort: the payload ends before a field its version must carry.
	ErrShort = errors.New("payload too short")
	// ErrMalformed: a field holds a value no Windows writes (e.g. a SID
	// whose revision is not 1), so the fields after it cannot be located.
	ErrMalformed = errors.New("malformed field")
	// ErrVersion: the event is known but this package has no layout for
	// its version (e.g. Process v2).
	ErrVersion = errors.New("unsupported event version")
	// ErrPointerSize: the record's header kind does not give the payload's
	// pointer size.
	ErrPointerSize = errors.New("header kind gives no pointer size")
	// ErrWrongDecoder: the event is not one the called decoder handles
	// (see [Lookup] for the kind of an event).
	ErrWrongDecoder = errors.New("event not handled by this decoder")
)

// DecodeError reports an event whose payload could not be decoded. Its
// fields are exported so that a caller that counts undecodable events (the
// analysis reports them) can group them without parsing the message.
type DecodeError struct {
	Kind     Kind // KindUnknown when the table does not know the event
	Provider etl.GUID
	Header   etl.HeaderKind
	Opcode   uint8
	Version  uint16

	PayloadLen int
	// Field is the first field that did not fit (ErrShort) or that held
	// an impossible value (ErrMalformed). Need is, for ErrShort, the
	// payload length that field required, and for ErrMalformed the
	// field's offset. Both are zero for the other causes.
	Field string
	Need  int

	// Buffer and Offset locate the record in its file (copied from the
	// event: buffer index and offset after the buffer header).
	Buffer int
	Offset int

	Err error // one of the Err* causes of this package
}

func newError(ev *etl.Event, k Kind, cause error, field string, need int) *DecodeError {
	return &DecodeError{
		Kind:       k,
		Provider:   ev.Provider,
		Header:     ev.Kind,
		Opcode:     ev.Opcode,
		Version:    ev.Version,
		PayloadLen: len(ev.Payload),
		Field:      field,
		Need:       need,
		Buffer:     ev.Buffer,
		Offset:     ev.Offset,
		Err:        cause,
	}
}

// Error reads, for example, "kernel: ProcessEnd (3d6fa8d0-…) opcode 2 v4
// SYSTEM64 in buffer 3 at offset 0x1a0: payload too short: UserSID needs
// 52 bytes, payload has 40".
func (e *DecodeError) Error() string {
	b := make([]byte, 0, 160)
	b = append(b, "kernel: "...)
	if e.Kind != KindUnknown {
		b = append(b, e.Kind.String()...)
		b = append(b, " ("...)
		b, _ = e.Provider.AppendText(b)
		b = append(b, ')')
	} else {
		b, _ = e.Provider.AppendText(b)
	}
	b = append(b, " opcode "...)
	b = strconv.AppendUint(b, uint64(e.Opcode), 10)
	b = append(b, " v"...)
	b = strconv.AppendUint(b, uint64(e.Version), 10)
	b = append(b, ' ')
	b = append(b, e.Header.String()...)
	b = append(b, " in buffer "...)
	b = strconv.AppendInt(b, int64(e.Buffer), 10)
	b = append(b, " at offset 0x"...)
	b = strconv.AppendInt(b, int64(e.Offset), 16)
	b = append(b, ": "...)
	if e.Err != nil {
		b = append(b, e.Err.Error()...)
	} else {
		b = append(b, "decode failed"...)
	}
	switch {
	case errors.Is(e.Err, ErrShort):
		b = append(b, ": "...)
		b = append(b, e.Field...)
		b = append(b, " needs "...)
		b = strconv.AppendInt(b, int64(e.Need), 10)
		b = append(b, " bytes, payload has "...)
		b = strconv.AppendInt(b, int64(e.PayloadLen), 10)
	case errors.Is(e.Err, ErrMalformed):
		b = append(b, ": "...)
		b = append(b, e.Field...)
		b = append(b, " at payload offset "...)
		b = strconv.AppendInt(b, int64(e.Need), 10)
	}
	return string(b)
}

func (e *DecodeError) Unwrap() error { return e.Err }
