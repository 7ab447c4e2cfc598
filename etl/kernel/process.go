package kernel

import (
	"encoding/binary"
	"strconv"

	"github.com/poolprof/poolprof/etl"
)

// Process is a Process Start (1), End (2), DCStart (3), DCEnd (4) or
// Defunct (39) event, versions 3 to 5.
//
//	field               64-bit  32-bit  versions
//	UniqueProcessKey    0       0       pointer (EPROCESS address)
//	ProcessId           8       4
//	ParentId            12      8
//	SessionId           16      12
//	ExitStatus          20      16
//	DirectoryTableBase  24      20      pointer
//	Flags               32      24      ≥ 4
//	UserSID             32/36   24/28   variable, see UserSID
//	ImageFileName       after the SID   astr
//	CommandLine                         wstr
//	PackageFullName                     wstr, ≥ 4
//	ApplicationId                       wstr, ≥ 4
//	ExitTime                            u64 FILETIME, v5 Defunct
//
// The strings after ImageFileName are missing from some records (Windows
// 8 writes v4 Defunct events without PackageFullName and ApplicationId);
// missing strings decode as empty.
type Process struct {
	Op                 uint8 // 1, 2, 3, 4 or 39
	UniqueProcessKey   uint64
	ProcessID          uint32 // use it rather than the header's, which on rundowns is not the process
	ParentID           uint32
	SessionID          uint32
	ExitStatus         int32
	DirectoryTableBase uint64
	Flags              uint32 // v4+: 0x1 application id, 0x2 WOW64, 0x4 protected, 0x8 packaged
	// UserSID is the binary SID of the process token's user, empty when
	// the record holds a null SID.
	UserSID         SID
	ImageFileName   Str // e.g. "svchost.exe"
	CommandLine     Str
	PackageFullName Str
	ApplicationID   Str
	ExitTime        int64 // FILETIME; only v5+ Defunct events, else 0

	Used int // payload bytes the fields above cover
}

// Decode fills p from a Process event of version 3 or later. On error p is
// undefined.
func (p *Process) Decode(ev *etl.Event) error {
	k, l, err := resolve(ev, KindProcessStart, KindProcessDefunct)
	if err != nil {
		return err
	}
	c := newCursor(ev.Payload, ev.Kind.PointerSize())
	*p = Process{Op: ev.Opcode}
	p.UniqueProcessKey = c.pointer("UniqueProcessKey")
	p.ProcessID = c.u32("ProcessId")
	p.ParentID = c.u32("ParentId")
	p.SessionID = c.u32("SessionId")
	p.ExitStatus = int32(c.u32("ExitStatus"))
	p.DirectoryTableBase = c.pointer("DirectoryTableBase")
	if l >= layoutProcessV4 {
		p.Flags = c.u32("Flags")
	}
	p.UserSID = c.userSID()
	p.ImageFileName = c.astr()
	p.CommandLine = c.wstr()
	if l >= layoutProcessV4 {
		p.PackageFullName = c.wstr()
		p.ApplicationID = c.wstr()
	}
	if k == KindProcessDefunct && ev.Version >= 5 && c.remaining() >= 8 {
		p.ExitTime = int64(c.u64("ExitTime"))
	}
	p.Used = c.off
	return c.err(ev, k)
}

// maxSubAuthorities is SID_MAX_SUB_AUTHORITIES.
const maxSubAuthorities = 15

// userSID skips the UserSID field and returns the SID in it. The field is
// either a null SID, 4 zero bytes, or a TOKEN_USER-shaped blob of two
// pointer-sized slots (a pointer and attributes; the second slot's padding
// can hold junk) followed by a binary SID of 8+4n bytes.
//
// A zero first word usually means a null SID, but records logged with a
// zero pointer slot and a SID after it exist (Windows 7 MOF test data), so
// a zero word is taken as a null SID only when no SID sits where the blob
// would put one. A real null SID is followed by the image file name, whose
// bytes cannot pass for a SID header (revision 1, ≤ 15 sub-authorities,
// authority < 2^32).
func (c *cursor) userSID() SID {
	if c.field != "" {
		return nil
	}
	rest := c.b[c.off:]
	blob := 2 * c.ptr
	if len(rest) >= 4 && binary.LittleEndian.Uint32(rest) == 0 && !looksLikeSID(rest, blob) {
		c.off += 4
		return nil
	}
	hdr := c.take(blob+8, "UserSID")
	if hdr == nil {
		return nil
	}
	rev, n := hdr[blob], int(hdr[blob+1])
	if rev != 1 || n > maxSubAuthorities {
		c.off -= blob + 8
		c.malformed("UserSID")
		return nil
	}
	if c.take(4*n, "UserSID") == nil {
		return nil
	}
	sid := c.b[c.off-8-4*n : c.off]
	return SID(sid[:len(sid):len(sid)])
}

func looksLikeSID(b []byte, at int) bool {
	if len(b) < at+8 {
		return false
	}
	n := int(b[at+1])
	return b[at] == 1 && n <= maxSubAuthorities && b[at+2] == 0 && b[at+3] == 0 && len(b) >= at+8+4*n
}

// SID is a security identifier in its binary form (revision, count,
// 48-bit big-endian authority, little-endian sub-authorities). It aliases
// the payload.
type SID []byte

// Append appends the string form, e.g. "S-1-5-21-4151223144-1238771585-1724997581-1000",
// to dst; nothing for an empty or malformed SID.
func (s SID) Append(dst []byte) []byte {
	if len(s) < 8 || len(s) < 8+4*int(s[1]) {
		return dst
	}
	dst = append(dst, 'S', '-')
	dst = strconv.AppendUint(dst, uint64(s[0]), 10)
	dst = append(dst, '-')
	var auth uint64
	for _, c := range s[2:8] {
		auth = auth<<8 | uint64(c)
	}
	if auth >= 1<<32 {
		// Windows prints an authority of 2^32 or more as 12 hex digits.
		dst = append(dst, '0', 'x')
		for sh := 44; sh >= 0; sh -= 4 {
			dst = append(dst, lowerHex[auth>>uint(sh)&0xF])
		}
	} else {
		dst = strconv.AppendUint(dst, auth, 10)
	}
	for i := 0; i < int(s[1]); i++ {
		dst = append(dst, '-')
		dst = strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint32(s[8+4*i:])), 10)
	}
	return dst
}

// String returns the string form of s ("" for an empty SID).
func (s SID) String() string { return string(s.Append(nil)) }
