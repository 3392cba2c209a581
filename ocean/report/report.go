// Package report holds what the ocean framework tells about a run: a
// resync's [Resync] report with a [Kind] report per resource of the port
// app config (counts, [Timings], [MappingError]s), what a live event or a
// register_raw call wrote ([Event]), and the records of a dry run
// ([DryRunRecord]). They are plain data with JSON tags; the ocean package
// fills them.
package report

import (
	"time"

	"github.com/oceankit/oceankit/port"
)

// Resync states, as Port's resync-state field has them.
const (
	StateRunning   = "running"
	StateCompleted = "completed"
	StateFailed    = "failed"
	StateAborted   = "aborted"
)

// Kind is what one resource of the port app config did in a resync.
type Kind struct {
	Kind  string `json:"kind"`
	Index int    `json:"index"`
	// Fetched counts raw items the kind produced.
	Fetched int64 `json:"fetched"`
	// Filtered counts items the selector query dropped.
	Filtered int64 `json:"filtered"`
	// Misconfigured counts items a mapping error left out.
	Misconfigured int64 `json:"misconfigured"`
	// Nulled counts entities written with a field null because its jq
	// failed for them (Ocean's rule).
	Nulled int64 `json:"nulled"`
	// MappingErrors lists each mapping field that failed, once.
	MappingErrors []MappingError `json:"mappingErrors,omitempty"`
	// Mapped counts entities the mapping produced.
	Mapped int64 `json:"mapped"`
	// Upserted counts entities Port accepted.
	Upserted int64 `json:"upserted"`
	// Skipped counts entities not written because Port already held them
	// unchanged.
	Skipped int64 `json:"skipped"`
	// Failed counts entities Port rejected.
	Failed int64 `json:"failed"`
	// Deleted counts stale entities deleted for this kind's blueprints.
	Deleted int64 `json:"deleted"`
	// Duration is the kind's wall time, from its start until Port answered
	// the last of its writes.
	Duration time.Duration `json:"duration"`
	// Timings says where the kind's time went.
	Timings Timings `json:"timings"`
	// Err is why the kind failed; nil when it completed.
	Err error `json:"-"`
	// Complete is true when the kind delivered all its data, so its stale
	// entities may be deleted.
	Complete bool `json:"complete"`
	// DeletionBlocked says why a kind that did not fail is still not
	// complete enough to delete its stale entities (items whose
	// identifier could not be computed).
	DeletionBlocked string `json:"deletionBlocked,omitempty"`
	// Blueprints are the blueprints the kind's entities went to.
	Blueprints []string `json:"blueprints"`
	// Since is set when the kind fetched only what changed since then.
	Since *time.Time `json:"since,omitempty"`
}

// Timings splits a kind's time by stage. The stages overlap (a kind
// maps one page while it fetches the next and writes the one before), and
// Map and Write add up the time of every worker, so they do not sum to
// Duration: each says how long that stage was busy for the kind, and the
// largest is where a faster kind would have to win.
type Timings struct {
	// Fetch is the time the kind spent listing its items, not counting
	// the time it waited for the mappers to take a page.
	Fetch time.Duration `json:"fetch"`
	// Map is the time the mappers spent on its items (selector query,
	// mapping, comparison with what Port holds), summed over workers.
	Map time.Duration `json:"map"`
	// Write is the time Port took to answer its bulk upserts, summed over
	// the requests in flight.
	Write time.Duration `json:"write"`
}

// Resync is the outcome of one resync.
type Resync struct {
	ID      string    `json:"id"`
	Trigger string    `json:"trigger"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Status  string    `json:"status"`
	Kinds   []*Kind   `json:"kinds"`
	// Incremental is true for an incremental resync.
	Incremental bool `json:"incremental,omitempty"`
	// DryRun is true for a dry run or a plan: Upserted and Deleted count
	// what would have been written.
	DryRun bool `json:"dryRun,omitempty"`
	// Deleted counts stale entities deleted.
	Deleted int `json:"deleted"`
	// StaleFound counts entities Port held that the resync did not produce.
	StaleFound int `json:"staleFound"`
	// DeletionSkipped says why stale entities were not deleted, if they
	// were not.
	DeletionSkipped string `json:"deletionSkipped,omitempty"`
	// Err is why the resync failed.
	Err error `json:"-"`
}

// Upserted sums the kinds' upserted entities.
func (r *Resync) Upserted() int64 {
	var n int64
	for _, k := range r.Kinds {
		n += k.Upserted
	}
	return n
}

// MappingError is one mapping field that failed during a resync, counted
// over the kind, with the first item it failed for. Each failing field is
// reported once per kind, not once per page.
type MappingError struct {
	// Field is the mapping field, Ocean style ("properties.readme",
	// "identifier", "selector.query").
	Field string `json:"field"`
	// Expr is the jq expression as written in the config.
	Expr string `json:"expr"`
	// Count is how many entities (or items) it failed for.
	Count int64 `json:"count"`
	// LeftOut is false when the entities were written with the field null
	// (Ocean's rule for every field but the identifier and blueprint), true
	// when the items were not written at all (their identifier, blueprint,
	// selector or itemsToParse failed, or they ran out of time).
	LeftOut bool `json:"leftOut"`
	// Example names the first item it failed for: its entity when the
	// identifier is known, otherwise the item's own id or name.
	Example string `json:"example"`
	// Error is the first error.
	Error string `json:"error"`
}

// Event is what ocean.App.HandleEvent, RegisterRaw or UnregisterRaw did.
type Event struct {
	// Status is what POST /integration/webhook answers for the delivery:
	// 202 when it was applied, 200 when no processor takes it, 400, 401,
	// 413 or 503 when it is refused. RegisterRaw and UnregisterRaw set 202.
	Status int
	// Upserted and Deleted name the entities written and deleted, as
	// "blueprint/identifier".
	Upserted, Deleted []string
}

// DryRunRecord is one line of a dry run's output: an entity that would be
// upserted, or one that would be deleted.
type DryRunRecord struct {
	Op     string       `json:"op"`
	Entity *port.Entity `json:"entity,omitempty"`
	// Blueprint and Identifier name an entity to delete.
	Blueprint  string `json:"blueprint,omitempty"`
	Identifier string `json:"identifier,omitempty"`
}
