package tokeleak

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/etl/etltest"
)

// Writing the pool events and their stacks, in time order, playing the
// stack caches as the kernel would: inline stacks right after their
// event, key references likewise, user parts a few microseconds later
// (at once when the thread's next event would come first), KeyDelete
// when an entry is evicted, and KeyRundown for every live entry at the
// end.

// eviction evicts a stack's cache entry a fraction (permille) into the
// pool window.
type eviction struct {
	at   int64 // permille
	s    *site
	user bool
	pid  uint32
}

// evictions, in time order: the leak's user stack, its kernel stack, a
// background kernel stack. Their key values are handed out again to
// stacks first seen later (the dnsapi.dll user stacks of UdpA from 26%,
// CM16 from 50%), so a reference must bind to the next definition of its
// key, not to any.
var evictions = []eviction{
	{200, siteTokeLeak, true, PIDLsass},
	{400, siteTokeLeak, false, PIDLsass},
	{450, siteIrp.site, false, PIDSystem},
}

func poolRecord(hook uint16, th *Thread, payload []byte) etltest.Record {
	return etltest.Record{Kind: etl.KindSystem64, HookID: hook, Version: 2,
		ThreadID: th.TID, ProcessID: th.PID, Payload: payload}
}

func stackRecord(hook uint16, payload []byte) etltest.Record {
	return etltest.Record{Kind: etl.KindPerfInfo64, HookID: hook, Version: 2, Payload: payload}
}

// emitPool adds the pool events of ops (in time order) and their stacks;
// key definitions left at the end are logged from tick rundownAt on.
func (g *gen) emitPool(em *emitter, ops []*op, rundownAt int64) (*keyStats, error) {
	kc, uc := newKeyCache(), newKeyCache()
	sc := &em.t.StackCounts
	byThread := map[*Thread][]int64{}
	for _, o := range ops {
		th := o.thread()
		byThread[th] = append(byThread[th], o.tick())
	}
	names := map[string][]string{}
	fold := func(s *site, pid uint32, user bool) []string {
		k := s.name + "/" + strconv.Itoa(int(pid)) + "/" + strconv.FormatBool(user)
		if n, ok := names[k]; ok {
			return n
		}
		n := frameNames(s.kernel)
		if user {
			n = append(n, frameNames(s.user)...)
		}
		names[k] = n
		return n
	}

	var last int64
	evs := evictions
	for _, o := range ops {
		t := o.tick()
		for len(evs) > 0 && g.at(evs[0].at) <= t {
			ev := evs[0]
			evs = evs[1:]
			part, c := ev.s.kernel, kc
			if ev.user {
				part, c = ev.s.user, uc
			}
			addrs, err := addresses(part, ev.pid)
			if err != nil {
				return nil, err
			}
			if e, tick, ok := c.evict(addrs, t); ok {
				em.add(tick, 0, stackRecord(HookKeyDelete, keyDefPayload(e.key, e.frames)))
				sc.KeyDeletes++
				last = max(last, tick)
			}
		}

		if f := o.free; f != nil {
			hook := uint16(HookPoolFree)
			if isSession(f.poolType) {
				hook = HookPoolFreeSess
			}
			em.add(t, f.cpu, poolRecord(hook, f.th, poolPayload(f.poolType, f.tag, f.size, f.addr, f.session, isSession(f.poolType))))
			if f.site != nil {
				addrs, err := addresses(f.site.kernel, f.th.PID)
				if err != nil {
					return nil, err
				}
				em.add(t, f.cpu, stackRecord(HookStack, stackPayload(T0+t, f.th.PID, f.th.TID, addrs)))
				sc.FreesWithStack++
				f.frames = fold(f.site, f.th.PID, false)
			}
			last = max(last, t)
			continue
		}

		a := o.alloc
		hook := uint16(HookPoolAlloc)
		if isSession(a.poolType) {
			hook = HookPoolAllocSess
		}
		em.add(t, a.cpu, poolRecord(hook, a.th, poolPayload(a.poolType, a.tag, a.size, a.addr, a.session, isSession(a.poolType))))
		last = max(last, t)
		pid, tid, ets := a.th.PID, a.th.TID, T0+t
		kaddrs, err := addresses(a.site.kernel, pid)
		if err != nil {
			return nil, err
		}
		switch a.kform {
		case kernelNone:
			sc.NoStack++
			a.frames = []string{}
			continue
		case kernelInline:
			em.add(t, a.cpu, stackRecord(HookStack, stackPayload(ets, pid, tid, kaddrs)))
			sc.Inline++
		case kernelKeyed:
			key := kc.ref(kaddrs, t, t)
			em.add(t, a.cpu, stackRecord(HookStackKeyKernel, keyRefPayload(ets, pid, tid, key)))
			sc.Keyed++
		}
		if a.site.user == nil {
			a.frames = fold(a.site, pid, false)
			continue
		}
		uaddrs, err := addresses(a.site.user, pid)
		if err != nil {
			return nil, err
		}
		d := g.userDelay(byThread[a.th], t)
		switch {
		case a.undefinedUser:
			em.add(t+d, a.cpu, stackRecord(HookStackKeyUser, keyRefPayload(ets, pid, tid, UndefinedUserKey)))
			sc.UserUndefined++
		case a.th.user == userNever:
			sc.UserNever++
		case a.th.user == userInline:
			em.add(t+d, a.cpu, stackRecord(HookStack, stackPayload(ets, pid, tid, uaddrs)))
			sc.UserInline++
			a.userLogged = true
		case a.th.user == userKeyed:
			key := uc.ref(uaddrs, t, t+d)
			em.add(t+d, a.cpu, stackRecord(HookStackKeyUser, keyRefPayload(ets, pid, tid, key)))
			sc.UserKeyed++
			a.userLogged = true
		}
		if d == 0 && (a.userLogged || a.undefinedUser) {
			sc.UserImmediate++
		}
		last = max(last, t+d)
		a.frames = fold(a.site, pid, a.userLogged)
	}

	if last >= rundownAt {
		return nil, fmt.Errorf("tokeleak: events until tick %d, after the key rundown at %d", last, rundownAt)
	}
	tick := rundownAt
	for _, c := range []*keyCache{kc, uc} {
		for _, e := range c.rundown() {
			em.add(tick, 0, stackRecord(HookKeyRundown, keyDefPayload(e.key, e.frames)))
			sc.KeyRundowns++
			tick++
		}
	}
	ks := &keyStats{}
	for k, n := range kc.defined {
		ks.kernel++
		if n > 1 {
			ks.reused++
		}
		if uc.defined[k] > 0 {
			ks.shared++
		}
	}
	for _, n := range uc.defined {
		ks.user++
		if n > 1 {
			ks.reused++
		}
	}
	return ks, nil
}

// keyStats counts key values by cache.
type keyStats struct{ kernel, user, reused, shared int }

// userDelay returns how long after tick t the user part of an event on a
// thread with the event ticks ticks is logged: 3 to 40 µs later, or at
// once when the thread's next event would come first.
func (g *gen) userDelay(ticks []int64, t int64) int64 {
	d := g.r.between(30, 400)
	i, _ := slices.BinarySearch(ticks, t+1)
	if i < len(ticks) && ticks[i] <= t+d {
		return 0
	}
	return d
}
