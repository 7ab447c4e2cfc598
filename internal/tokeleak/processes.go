package tokeleak

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// The processes and threads of the rundown, so that pids and tids resolve
// to names. Each thread also decides how the user-mode part of its
// allocations' stacks arrives (see userMode): a thread either always gets
// its user parts inline, always as keys, or never, so that every rule for
// joining a late user part to its event (by EventTimeStamp, or perfview's
// "to every kernel-only stack pending on the thread") gives the same
// stacks.

// Process is a process of the rundown (Process DCStart, version 4).
type Process struct {
	PID, ParentPID uint32
	SessionID      uint32
	Name           string // ImageFileName
	CommandLine    string
	SID            string
	Key            uint64 // UniqueProcessKey (EPROCESS)
	DirTableBase   uint64
}

// userMode says how the user part of a thread's stacks arrives.
type userMode uint8

const (
	userNever  userMode = iota // kernel threads, and user threads whose user part is never logged
	userInline                 // a second Stack event with the user frames, shortly after the event
	userKeyed                  // a StackKeyUser reference, defined at the end of the trace
)

// Thread is a thread of the rundown (Thread DCStart, version 3).
type Thread struct {
	PID, TID uint32
	user     userMode
}

// Session ids of the two interactive sessions whose session pool the
// background uses.
const (
	Session1 = 1
	Session2 = 2
)

const sessionNone = 0xFFFFFFFF // Idle and System have no session

// Processes lists the processes of the rundown.
var Processes = []Process{
	{PID: PIDIdle, SessionID: sessionNone, Name: "Idle", SID: "S-1-5-18"},
	{PID: PIDSystem, SessionID: sessionNone, Name: "System", SID: "S-1-5-18"},
	{PID: PIDWininit, ParentPID: 492, Name: "wininit.exe", CommandLine: `wininit.exe`, SID: "S-1-5-18"},
	{PID: PIDLsass, ParentPID: PIDWininit, Name: "lsass.exe", CommandLine: `C:\Windows\system32\lsass.exe`, SID: "S-1-5-18"},
	{PID: PIDSvchost, ParentPID: 688, Name: "svchost.exe",
		CommandLine: `C:\Windows\system32\svchost.exe -k NetworkService -p -s Dnscache`, SID: "S-1-5-20"},
	{PID: PIDCsrss1, ParentPID: 3880, SessionID: Session1, Name: "csrss.exe",
		CommandLine: `%SystemRoot%\system32\csrss.exe ObjectDirectory=\Windows SharedSection=1024,20480,768 Windows=On`, SID: "S-1-5-18"},
	{PID: PIDExplorer, ParentPID: 4088, SessionID: Session1, Name: "explorer.exe",
		CommandLine: `C:\Windows\Explorer.EXE`, SID: "S-1-5-21-1004336348-1177238915-682003330-1001"},
	{PID: PIDCsrss2, ParentPID: 5168, SessionID: Session2, Name: "csrss.exe",
		CommandLine: `%SystemRoot%\system32\csrss.exe ObjectDirectory=\Windows SharedSection=1024,20480,768 Windows=On`, SID: "S-1-5-18"},
}

// Threads lists the threads of the rundown.
var Threads = []Thread{
	{PIDIdle, 0, userNever},
	{PIDSystem, 88, userNever}, {PIDSystem, 92, userNever}, {PIDSystem, 96, userNever},
	{PIDSystem, 100, userNever}, {PIDSystem, 156, userNever},
	{PIDWininit, 604, userNever},
	{PIDLsass, 716, userKeyed}, {PIDLsass, 1204, userKeyed}, {PIDLsass, 1228, userKeyed},
	{PIDLsass, 2084, userInline}, {PIDLsass, 3316, userInline},
	{PIDLsass, 4020, userNever},
	{PIDSvchost, 1048, userNever}, {PIDSvchost, 1112, userInline}, {PIDSvchost, 1176, userKeyed},
	{PIDSvchost, 1260, userNever},
	{PIDCsrss1, 3916, userNever}, {PIDCsrss1, 3960, userNever},
	{PIDExplorer, 4124, userNever},
	{PIDCsrss2, 5204, userNever}, {PIDCsrss2, 5248, userNever},
}

func init() {
	for i := range Processes {
		p := &Processes[i]
		p.Key = 0xffff9c0150a3e080 + uint64(i)*0x4c0
		p.DirTableBase = 0x1aa000 + uint64(i)*0x3f000
	}
}

// thread returns the thread tid of process pid.
func thread(pid, tid uint32) *Thread {
	for i := range Threads {
		if Threads[i].PID == pid && Threads[i].TID == tid {
			return &Threads[i]
		}
	}
	panic(fmt.Sprintf("tokeleak: no thread %d in process %d", tid, pid))
}

// threads returns the threads of process pid with user mode m.
func threads(pid uint32, m userMode) []*Thread {
	var ts []*Thread
	for i := range Threads {
		if Threads[i].PID == pid && Threads[i].user == m {
			ts = append(ts, &Threads[i])
		}
	}
	return ts
}

// processPayload encodes a Process DCStart event, version 4, 64-bit
// (docs/etl-format.md §4.5).
func processPayload(p *Process) []byte {
	var e enc
	e.u64(p.Key)
	e.u32(p.PID)
	e.u32(p.ParentPID)
	e.u32(p.SessionID)
	e.u32(259) // ExitStatus: STILL_ACTIVE
	e.u64(p.DirTableBase)
	e.u32(0) // Flags
	// UserSID: a TOKEN_USER-shaped blob (pointer, attributes) and the SID.
	e.u64(p.Key + 0x4b8)
	e.u64(0)
	e = append(e, binarySID(p.SID)...)
	e.astr(p.Name)
	e.wstr(p.CommandLine)
	e.wstr("") // PackageFullName
	e.wstr("") // ApplicationId
	return e
}

// binarySID encodes "S-1-5-21-…" in the binary form: revision, count,
// 48-bit big-endian authority, little-endian sub-authorities.
func binarySID(s string) []byte {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || parts[0] != "S" {
		panic("tokeleak: bad SID " + s)
	}
	rev, _ := strconv.ParseUint(parts[1], 10, 8)
	auth, _ := strconv.ParseUint(parts[2], 10, 48)
	subs := parts[3:]
	b := []byte{byte(rev), byte(len(subs))}
	var a [8]byte
	binary.BigEndian.PutUint64(a[:], auth)
	b = append(b, a[2:]...)
	for _, sub := range subs {
		v, err := strconv.ParseUint(sub, 10, 32)
		if err != nil {
			panic("tokeleak: bad SID " + s)
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return b
}

// threadPayload encodes a Thread DCStart event, version 3, 64-bit, with
// the empty ThreadName Windows 10 appends (§4.6).
func threadPayload(t *Thread) []byte {
	var e enc
	e.u32(t.PID)
	e.u32(t.TID)
	kstack := 0xfffff60a3c5e0000 + uint64(t.TID)<<12
	e.u64(kstack)          // StackBase
	e.u64(kstack - 0x6000) // StackLimit
	var ustack, teb, start uint64
	if t.PID > PIDSystem {
		ustack = 0x000000a83c100000 + uint64(t.TID)<<16
		teb = 0x000000a83b000000 + uint64(t.TID)<<12
		start = NtdllBase + 0x35f10 // ntdll!TppWorkerThread
	} else {
		start = NtoskrnlBase + 0x2c1b00 // nt!ExpWorkerThread
	}
	e.u64(ustack) // UserStackBase
	if ustack != 0 {
		e.u64(ustack - 0x80000) // UserStackLimit
	} else {
		e.u64(0)
	}
	e.u64(0xf)   // Affinity: CPUs 0-3
	e.u64(start) // Win32StartAddr
	e.u64(teb)   // TebBase
	e.u32(0)     // SubProcessTag
	e.u8(8)      // BasePriority
	e.u8(5)      // PagePriority
	e.u8(2)      // IoPriority
	e.u8(0)      // ThreadFlags
	e.wstr("")   // ThreadName
	return e
}
