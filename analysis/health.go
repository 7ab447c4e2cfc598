package analysis

import (
	"cmp"
	"errors"
	"slices"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/etl/kernel"
	"github.com/poolprof/poolprof/pool"
	"github.com/poolprof/poolprof/stacks"
)

// Health says how far the numbers of a run can be trusted: what the trace
// lost, what the reader could not read, and what the analysis could not
// decode or join. It is the health section of `poolprof summary`.
type Health struct {
	// From the logfile header: what the session dropped while tracing.
	EventsLost  uint32 `json:"events_lost"`
	BuffersLost uint32 `json:"buffers_lost"`
	// From the reader.
	Buffers        int                `json:"buffers"`
	DamagedBuffers int                `json:"damaged_buffers"`
	UnknownRecords int64              `json:"unknown_records"`
	ProblemCount   int                `json:"problems"`
	Problems       []*etl.FormatError `json:"-"`
	// Pool matching (frees with no allocation, lost frees, allocations
	// with no stack...).
	Pool pool.JSONHealth `json:"pool"`
	// Stack joining: keys never resolved, stack events that matched no
	// pool event...
	Stacks StackHealth `json:"stacks"`
	// Kernel pool events seen but not decoded, by provider, opcode,
	// version and payload length; PoolPageEvents counts the pool page
	// events (opcodes 36-39), read but not used.
	NotDecoded     []NotDecoded `json:"not_decoded"`
	PoolPageEvents int64        `json:"pool_page_events"`
}

// StackHealth is the part of stacks.Stats a user needs to judge stacks.
type StackHealth struct {
	StackEvents          int64 `json:"stack_events"`
	KeyReferences        int64 `json:"key_references"`
	KeyDefinitions       int64 `json:"key_definitions"`
	JoinedInline         int64 `json:"joined_inline"`
	JoinedByKey          int64 `json:"joined_by_key"`
	Unmatched            int64 `json:"unmatched"`
	LateUserParts        int64 `json:"late_user_parts"`
	UnresolvedKernelRefs int64 `json:"unresolved_kernel_key_refs"`
	UnresolvedUserRefs   int64 `json:"unresolved_user_key_refs"`
	DistinctStacks       int   `json:"distinct_stacks"`
	Modules              int   `json:"modules"`
}

// NotDecoded counts kernel pool events of one shape that did not decode.
type NotDecoded struct {
	Provider   string `json:"provider"`
	Kind       string `json:"header_kind"`
	Opcode     uint8  `json:"opcode"`
	Version    uint16 `json:"version"`
	PayloadLen int    `json:"payload_len"`
	Count      int64  `json:"count"`
	Reason     string `json:"reason"`
}

type notDecodedKey struct {
	provider etl.GUID
	kind     etl.HeaderKind
	opcode   uint8
	version  uint16
	plen     int
}

// healthCounter collects what Run saw but could not use.
type healthCounter struct {
	notDecoded map[notDecodedKey]*NotDecoded
	pages      int64
}

func newHealthCounter() *healthCounter {
	return &healthCounter{notDecoded: map[notDecodedKey]*NotDecoded{}}
}

// maxNotDecoded bounds the distinct shapes kept, so a damaged trace cannot
// grow the table without end.
const maxNotDecoded = 1000

func (h *healthCounter) undecoded(ev *etl.Event, err error) {
	k := notDecodedKey{ev.Provider, ev.Kind, ev.Opcode, ev.Version, len(ev.Payload)}
	nd := h.notDecoded[k]
	if nd == nil {
		if len(h.notDecoded) >= maxNotDecoded {
			return
		}
		reason := "unknown opcode"
		var de *kernel.DecodeError
		if errors.As(err, &de) {
			reason = de.Err.Error()
		} else if err != nil {
			reason = err.Error()
		}
		nd = &NotDecoded{Provider: ev.Provider.String(), Kind: ev.Kind.String(), Opcode: ev.Opcode,
			Version: ev.Version, PayloadLen: len(ev.Payload), Reason: reason}
		h.notDecoded[k] = nd
	}
	nd.Count++
}

func (h *healthCounter) unused(*etl.Event) { h.pages++ }

func (h *healthCounter) finish(f *etl.File, r *etl.Reader, js stacks.Stats, ms stacks.ModuleStats, ph *pool.Health) Health {
	st := r.Stats()
	out := Health{
		EventsLost: f.Header.EventsLost, BuffersLost: f.Header.BuffersLost,
		Buffers: st.Buffers, DamagedBuffers: st.DamagedBuffers, UnknownRecords: st.Unknown,
		ProblemCount: st.Problems, Problems: r.Problems(),
		Pool: pool.Summary(&pool.Result{Health: *ph}, pool.ReportOptions{}).Health,
		Stacks: StackHealth{
			StackEvents: js.StackEvents, KeyReferences: js.KeyRefEvents, KeyDefinitions: js.KeyDefEvents,
			JoinedInline: js.JoinedInline, JoinedByKey: js.JoinedByKey, Unmatched: js.Unmatched,
			LateUserParts:        js.LateUser,
			UnresolvedKernelRefs: js.UnresolvedKernelRefs, UnresolvedUserRefs: js.UnresolvedUserRefs,
			DistinctStacks: js.Stacks, Modules: ms.Modules,
		},
		PoolPageEvents: h.pages,
		NotDecoded:     []NotDecoded{},
	}
	for _, nd := range h.notDecoded {
		out.NotDecoded = append(out.NotDecoded, *nd)
	}
	slices.SortFunc(out.NotDecoded, func(a, b NotDecoded) int { return cmp.Compare(b.Count, a.Count) })
	return out
}
