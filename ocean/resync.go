package ocean

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/oceankit/oceankit/mapping"
	"github.com/oceankit/oceankit/port"
)

// Resync states, as Port's resync-state field has them.
const (
	StateRunning   = "running"
	StateCompleted = "completed"
	StateFailed    = "failed"
	StateAborted   = "aborted"
)

// numExamples is how many raw items per kind go to Port (Ocean: 5).
const numExamples = 5

// portBulkDeleteMax is Port's limit of identifiers per bulk delete.
const portBulkDeleteMax = 100

// ErrEmptyMapping is returned by a resync whose port app config has no
// resources: there is nothing to sync, and deleting everything would be the
// wrong conclusion.
var ErrEmptyMapping = errors.New("ocean: the port app config has no resources")

// KindReport is what one resource of the port app config did in a resync.
type KindReport struct {
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
	Timings KindTimings `json:"timings"`
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

// KindTimings splits a kind's time by stage. The stages overlap (a kind
// maps one page while it fetches the next and writes the one before), and
// Map and Write add up the time of every worker, so they do not sum to
// Duration: each says how long that stage was busy for the kind, and the
// largest is where a faster kind would have to win.
type KindTimings struct {
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

// ResyncReport is the outcome of one resync.
type ResyncReport struct {
	ID      string        `json:"id"`
	Trigger string        `json:"trigger"`
	Start   time.Time     `json:"start"`
	End     time.Time     `json:"end"`
	Status  string        `json:"status"`
	Kinds   []*KindReport `json:"kinds"`
	// Incremental is true for an incremental resync.
	Incremental bool `json:"incremental,omitempty"`
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
func (r *ResyncReport) Upserted() int64 {
	var n int64
	for _, k := range r.Kinds {
		n += k.Upserted
	}
	return n
}

// ResyncOptions adjusts one resync.
type ResyncOptions struct {
	// Trigger names what started it, for logs and reports.
	Trigger string
	// Incremental fetches, for kinds that support it, only what changed
	// since their last successful sync, and deletes nothing (see
	// Incremental). Kinds without a watermark are fetched in full.
	Incremental bool
}

// entityKey identifies an entity across blueprints.
type entityKey struct{ blueprint, id string }

// resyncRun is the state of one resync in flight.
type resyncRun struct {
	app    *App
	report *ResyncReport
	pac    *mapping.Config
	mapper *compiled
	log    *slog.Logger

	upsertOpts port.UpsertOptions
	writer     entityWriter
	quiet      bool // a dry run or plan: report nothing to Port
	plan       *Plan
	// incremental fetches changes only and deletes nothing.
	incremental bool
	// cutoff is the resync's start on Port's clock: only entities Port
	// stamped before it can be stale (see catalogCutoff).
	cutoff time.Time
	// blueprints is Port's data model as read at the start (nil when it
	// could not be read).
	blueprints map[string]port.Blueprint
	// unmet holds entities Port refused for a missing related entity, to
	// send again once every kind ran (createMissingRelatedEntities off).
	unmetMu sync.Mutex
	unmet   []unmetEntity

	// existing is what Port held for this integration when the resync
	// started, as digests (nil when it could not be read or skipping is
	// off); it may be read once existingReady is closed. signer makes the
	// signatures and digests.
	existing      *catalogIndex
	existingReady chan struct{}
	signer        *signer

	mu sync.Mutex
	// seen holds every entity the resync produced, by key digest, with a
	// hash of what was sent for it (0 when it was not sent).
	seen map[uint64]uint64
	// relTargets holds the identifiers (digests) relations pointed at.
	relTargets map[uint64]struct{}

	batches chan upsertBatch
	memo    *memo
	// background holds Port calls off the critical path (kind examples);
	// the resync waits for them before it reports its end.
	background sync.WaitGroup
}

type unmetEntity struct {
	kind   *kindRun
	entity port.Entity
}

type upsertBatch struct {
	kind      *kindRun
	blueprint string
	entities  []port.Entity
	// final is set on the retry of refused entities: what Port refuses
	// now has failed.
	final bool
}

type kindRun struct {
	report     *KindReport
	rm         *mapping.ResourceMapper
	blueprints sync.Map // string → struct{}
	fetched    atomic.Int64
	filtered   atomic.Int64
	misconf    atomic.Int64
	mapped     atomic.Int64
	upserted   atomic.Int64
	skipped    atomic.Int64
	failed     atomic.Int64
	// unknownIDs counts misconfigured items whose identifier could not be
	// computed: Port may hold an entity for them that must not be deleted.
	unknownIDs atomic.Int64
	// mapErrs aggregates the kind's mapping errors by field; nulled
	// counts entities written with a field null, selectorErrs items whose
	// selector failed.
	mapErrs      mappingErrors
	nulled       atomic.Int64
	selectorErrs atomic.Int64
	dropped      atomic.Int64
	// writeErr is the first error of a write of the kind's entities that
	// failed for good.
	writeErr atomic.Pointer[error]
	// start is when the kind began; the other times are in nanoseconds:
	// the summed time of each stage, and when the kind's fetch and its last
	// write ended (on the App's clock).
	start                   time.Time
	fetchNs, mapNs, writeNs atomic.Int64
	fetchEnd, lastWriteEnd  atomic.Int64
	examples                []Item
	exBytes                 int  // their JSON size
	exSkipped               int  // items passed over as too large
	exSending               bool // the examples are on their way
	exMu                    sync.Mutex
}

// Resync runs one full resync now and waits for it: fetch every resource of
// the port app config, map, upsert, and delete what is stale. It does not
// coordinate with other resyncs; listeners go through the App's scheduler,
// which does.
func (a *App) Resync(ctx context.Context, opts ResyncOptions) (*ResyncReport, error) {
	return a.runResync(ctx, opts, runMode{writer: a.writer, quiet: a.dryRun})
}

// runMode says where a resync's writes go.
type runMode struct {
	writer entityWriter
	quiet  bool
	plan   *Plan
}

func (a *App) runResync(ctx context.Context, opts ResyncOptions, mode runMode) (*ResyncReport, error) {
	rep := &ResyncReport{ID: newID(), Trigger: opts.Trigger, Start: a.clock.Now(), Status: StateRunning, Incremental: opts.Incremental && mode.plan == nil}
	log := a.log.With("resync", rep.ID)
	if opts.Trigger != "" {
		log = log.With("trigger", opts.Trigger)
	}
	log.Info("resync started", "incremental", rep.Incremental)
	a.metrics.resyncStarted()
	sm := a.startSyncMetrics(ctx, rep, mode.quiet)

	var running sync.WaitGroup
	err := a.resync(ctx, rep, log, mode, &running)
	// The completed state must not overtake the running one.
	running.Wait()
	rep.End = a.clock.Now()
	switch {
	case err == nil:
		rep.Status = StateCompleted
	case ctx.Err() != nil:
		rep.Status = StateAborted
	default:
		rep.Status = StateFailed
	}
	rep.Err = err
	if !mode.quiet {
		a.reportState(context.WithoutCancel(ctx), rep)
	}
	a.metrics.resyncFinished(rep)
	sm.finish(rep)
	for _, k := range rep.Kinds {
		attrs := []any{"kind", k.Kind, "index", k.Index, "fetched", k.Fetched, "filtered", k.Filtered,
			"misconfigured", k.Misconfigured, "upserted", k.Upserted, "skipped", k.Skipped,
			"failed", k.Failed, "deleted", k.Deleted, "duration", k.Duration.Round(time.Millisecond),
			"fetch", k.Timings.Fetch.Round(time.Millisecond), "map", k.Timings.Map.Round(time.Millisecond),
			"write", k.Timings.Write.Round(time.Millisecond)}
		logMappingErrors(log, k)
		if k.Err != nil {
			log.Error("kind failed", append(attrs, "error", k.Err)...)
		} else if k.DeletionBlocked != "" {
			log.Warn("kind synced; its stale entities are kept", append(attrs, "reason", k.DeletionBlocked)...)
		} else {
			log.Info("kind synced", attrs...)
		}
	}
	attrs := []any{"status", rep.Status, "duration", rep.End.Sub(rep.Start).Round(time.Millisecond),
		"upserted", rep.Upserted(), "deleted", rep.Deleted}
	if rep.DeletionSkipped != "" {
		attrs = append(attrs, "deletion_skipped", rep.DeletionSkipped)
	}
	if err != nil {
		log.Error("resync finished", append(attrs, "error", err)...)
	} else {
		log.Info("resync finished", attrs...)
	}
	return rep, err
}

// resync runs the resync; the running state is reported in the
// background, tracked by running, so that the kinds need not wait for it.
func (a *App) resync(ctx context.Context, rep *ResyncReport, log *slog.Logger, mode runMode, running *sync.WaitGroup) error {
	pac, err := a.portAppConfig(ctx, true)
	if err != nil {
		return err
	}
	if len(pac.Resources) == 0 {
		return ErrEmptyMapping
	}
	// Every jq expression is compiled before anything is written. A
	// resource that does not compile fails alone (see compiled).
	mapper, err := a.compile(pac)
	if err != nil {
		return fmt.Errorf("ocean: port app config: %w", err)
	}
	if !mode.quiet {
		running.Go(func() { a.reportRunning(ctx, rep) })
	}

	run := &resyncRun{
		writer:        mode.writer,
		quiet:         mode.quiet,
		plan:          mode.plan,
		signer:        newSigner(),
		incremental:   rep.Incremental,
		app:           a,
		report:        rep,
		pac:           pac,
		mapper:        mapper,
		log:           log,
		seen:          map[uint64]uint64{},
		existingReady: make(chan struct{}),
		memo:          &memo{m: map[string]*memoEntry{}},
		relTargets:    map[uint64]struct{}{},
		upsertOpts: port.UpsertOptions{
			Merge:                        pac.EnableMergeEntity,
			CreateMissingRelatedEntities: pac.CreateMissingRelatedEntities,
			EventType:                    "resync",
			ResyncID:                     rep.ID,
		},
	}
	defer run.background.Wait()
	if run.plan == nil && !run.incremental {
		if run.cutoff, err = a.catalogCutoff(ctx, log); err != nil {
			return err
		}
	}
	switch {
	case run.plan != nil:
		if err := run.loadExisting(ctx, time.Time{}); err != nil {
			return err
		}
		close(run.existingReady)
	case a.cfg.Resync.SkipUnchanged && !run.incremental:
		// The catalog is read while the kinds start fetching; entities are
		// compared once it is in. Only entities last written before the
		// resync started count: one a live event writes meanwhile is newer
		// than the resync's data and must not look stale.
		go func() {
			defer close(run.existingReady)
			if err := run.loadExisting(ctx, run.cutoff); err != nil {
				log.Warn("could not read the catalog to skip unchanged entities; writing all of them", "error", err)
			}
		}()
		defer func() { <-run.existingReady }()
	default:
		close(run.existingReady)
	}
	kinds := make([]*kindRun, len(mapper.Resources()))
	for i, rm := range mapper.Resources() {
		kinds[i] = &kindRun{rm: rm, report: &KindReport{Kind: rm.Kind(), Index: rm.Index(), Err: mapper.resourceErr(rm.Index())}}
		rep.Kinds = append(rep.Kinds, kinds[i].report)
	}
	a.syncMetricsFor(rep).announce(rep)
	run.checkBlueprints(ctx, kinds)
	if err := run.syncKinds(ctx, kinds); err != nil {
		return err
	}
	var failed []string
	var kindErrs []error
	for _, k := range kinds {
		if k.report.Err != nil {
			failed = append(failed, fmt.Sprintf("%s[%d]", k.report.Kind, k.report.Index))
			kindErrs = append(kindErrs, k.report.Err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if run.incremental {
		rep.DeletionSkipped = "incremental resync: deletions wait for the next full resync"
	} else if err := run.reconcile(ctx, kinds); err != nil {
		return err
	}
	run.recordWatermarks(context.WithoutCancel(ctx), kinds, len(failed) > 0)
	if len(failed) > 0 {
		return &KindsFailedError{Kinds: failed, Errs: kindErrs}
	}
	return nil
}

// KindsFailedError reports a resync in which some kinds did not complete:
// their data was upserted as far as it came, and their entities were not
// deleted. It unwraps to each kind's error.
type KindsFailedError struct {
	// Kinds names the failed kinds, as "kind[index]".
	Kinds []string
	// Errs holds each failed kind's error, in the order of Kinds.
	Errs []error
}

func (e *KindsFailedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ocean: %d kind(s) failed: %v", len(e.Kinds), e.Kinds)
	for i, err := range e.Errs {
		if i < len(e.Kinds) && err != nil {
			fmt.Fprintf(&b, "; %s: %v", e.Kinds[i], err)
		}
	}
	return b.String()
}

func (e *KindsFailedError) Unwrap() []error { return e.Errs }

// syncKinds runs every resource's pipeline and the shared upsert workers.
func (r *resyncRun) syncKinds(ctx context.Context, kinds []*kindRun) error {
	cfg := r.app.cfg.Resync
	upserters := max(cfg.UpsertConcurrency, 1)
	kindLimit := max(cfg.KindConcurrency, 1)
	if cfg.Sequential {
		upserters, kindLimit = 1, 1
	}
	r.batches = make(chan upsertBatch, upserters)

	var upWG sync.WaitGroup
	for range upserters {
		upWG.Go(func() {
			for b := range r.batches {
				r.upsert(ctx, b)
			}
		})
	}

	stopProgress := r.logProgress(kinds)
	defer stopProgress()

	run := func(k *kindRun) {
		if err := ctx.Err(); err != nil {
			k.report.Err = err
			return
		}
		r.syncKind(ctx, k)
	}
	// Ocean syncs resources in mapping order so that relation targets
	// exist before the entities that point at them. That matters only
	// when Port will not create missing related entities; otherwise kinds
	// run concurrently, kindLimit at a time.
	if cfg.Sequential || !r.pac.CreateMissingRelatedEntities {
		for _, k := range kinds {
			run(k)
		}
	} else {
		var g errgroup.Group
		g.SetLimit(kindLimit)
		for _, k := range kinds {
			g.Go(func() error { run(k); return nil })
		}
		_ = g.Wait()
	}
	close(r.batches)
	upWG.Wait()
	r.retryUnmet(ctx)
	for _, k := range kinds {
		k.finish()
	}
	return nil
}

func (k *kindRun) finish() {
	rep := k.report
	rep.Fetched = k.fetched.Load()
	rep.Filtered = k.filtered.Load()
	rep.Misconfigured = k.misconf.Load()
	rep.Nulled = k.nulled.Load()
	rep.MappingErrors = k.mapErrs.list()
	rep.Mapped = k.mapped.Load()
	rep.Upserted = k.upserted.Load()
	rep.Skipped = k.skipped.Load()
	rep.Failed = k.failed.Load()
	rep.Timings = KindTimings{
		Fetch: time.Duration(k.fetchNs.Load()),
		Map:   time.Duration(k.mapNs.Load()),
		Write: time.Duration(k.writeNs.Load()),
	}
	if !k.start.IsZero() {
		end := max(k.fetchEnd.Load(), k.lastWriteEnd.Load())
		rep.Duration = max(time.Duration(end-k.start.UnixNano()), 0)
	}
	rep.Blueprints = rep.Blueprints[:0]
	k.blueprints.Range(func(key, _ any) bool {
		rep.Blueprints = append(rep.Blueprints, key.(string))
		return true
	})
	if n := k.selectorErrs.Load(); rep.Err == nil && n > 0 {
		se := &SelectorQueryError{Count: n}
		for _, e := range rep.MappingErrors {
			if e.Field == "selector.query" {
				se.First = e
				break
			}
		}
		rep.Err = se
	}
	if rep.Err == nil && rep.Failed > 0 {
		// Port did not take all of it: the catalog is not equal to the
		// source for this kind, and the resync must not say it is.
		rep.Err = &WritesFailedError{Failed: rep.Failed, Total: rep.Failed + rep.Upserted}
		if p := k.writeErr.Load(); p != nil {
			rep.Err.(*WritesFailedError).First = *p
		}
	}
	rep.Complete = rep.Err == nil
	if rep.Err == nil && k.unknownIDs.Load() > 0 {
		// Not a failure of the resync — the rest of the kind synced — but
		// an entity Port holds for those items cannot be told from a stale
		// one, so the kind's blueprints are not cleaned this time.
		rep.Complete = false
		rep.DeletionBlocked = fmt.Sprintf("%d item(s) could not be mapped to an identifier", k.unknownIDs.Load())
	}
}

// syncKind streams one resource: fetch → map → batches for the upserters.
func (r *resyncRun) syncKind(ctx context.Context, k *kindRun) {
	if k.report.Err != nil {
		return // failed before it started (its blueprints do not exist)
	}
	clk := r.app.clock
	k.start = clk.Now()
	r.app.syncMetricsFor(r.report).kindStarted(k.report)
	defer func() { k.fetchEnd.Store(clk.Now().UnixNano()) }()

	kind := r.app.provider.kind(k.rm.Kind())
	if kind == nil {
		k.report.Err = fmt.Errorf("kind %q is not provided by %s", k.rm.Kind(), r.app.provider.Type)
		return
	}
	cfg := r.app.cfg.Resync
	workers := cfg.MapWorkers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	inFlight := max(cfg.PagesInFlight, 1)
	if cfg.Sequential {
		workers, inFlight = 1, 1
	}

	// The mappers drain every page the kind sent, even when the kind then
	// fails: what it delivered is still written. A mapping failure (the
	// resync ending) stops the kind through mctx.
	pages := make(chan []Item, inFlight)
	mg, mctx := errgroup.WithContext(ctx)
	for range workers {
		mg.Go(func() error {
			acc := newAccumulator(r, k)
			for page := range pages {
				if err := r.mapPage(mctx, k, acc, page); err != nil {
					return err
				}
			}
			return acc.flushAll(mctx)
		})
	}
	fetchErr := func() error {
		defer close(pages)
		// handing is the time spent waiting for the mappers to take a page
		// (a kind may send from several goroutines).
		var handing atomic.Int64
		defer func() { k.fetchNs.Add(int64(clk.Now().Sub(k.start)) - handing.Load()) }()
		fctx := withMemo(withPortAppConfig(mctx, r.pac), r.memo)
		if since, ok := r.sinceFor(mctx, kind, k); ok {
			fctx = withSince(fctx, since)
			k.report.Since = &since
		}
		err := kind.Fetch(fctx, k.rm.Resource().Selector.Raw, SenderFunc(func(sctx context.Context, items []Item) error {
			if len(items) == 0 {
				return nil
			}
			k.fetched.Add(int64(len(items)))
			if r.keepExamples(k, items) {
				r.background.Go(func() { r.sendExamples(ctx, k) })
			}
			t0 := clk.Now()
			defer func() { handing.Add(int64(clk.Now().Sub(t0))) }()
			select {
			case pages <- items:
				return nil
			case <-sctx.Done():
				return sctx.Err()
			case <-mctx.Done():
				return mctx.Err()
			}
		}))
		if err != nil {
			return fmt.Errorf("fetch: %w", err)
		}
		return nil
	}()
	mapErr := mg.Wait()
	if n := k.dropped.Load(); n > 0 {
		r.log.Warn("entities dropped: identifier or blueprint is null or empty", "kind", k.rm.Kind(),
			"index", k.rm.Index(), "count", n)
	}
	switch {
	case mapErr != nil:
		k.report.Err = mapErr
	case fetchErr != nil:
		k.report.Err = fetchErr
	}
	if r.takeExamples(k) {
		r.background.Go(func() { r.sendExamples(ctx, k) })
	}
}

// mapPage maps one page and hands full batches to the upserters.
func (r *resyncRun) mapPage(ctx context.Context, k *kindRun, acc *accumulator, page []Item) error {
	t0 := r.app.clock.Now()
	res, err := k.rm.Map(ctx, page)
	k.mapNs.Add(int64(r.app.clock.Now().Sub(t0)))
	if err != nil {
		return fmt.Errorf("map: %w", err)
	}
	k.filtered.Add(int64(res.Filtered))
	k.misconf.Add(int64(res.Failed + res.Dropped))
	k.recordMapping(res, page)
	for _, m := range res.Misconfigured {
		if m.Identifier != "" && m.Blueprint != "" {
			r.markSeen(m.Blueprint, m.Identifier)
			continue
		}
		k.unknownIDs.Add(1)
	}
	// An entity dropped for a null identifier or blueprint may still be in
	// Port under the identifier it had before: Ocean deletes it as stale
	// (a typo in the identifier mapping wipes the kind); here it protects
	// the kind's blueprints instead.
	k.unknownIDs.Add(int64(res.Dropped))
	k.dropped.Add(int64(res.Dropped))
	if err := r.waitExisting(ctx); err != nil {
		return err
	}
	for _, e := range res.Entities {
		k.mapped.Add(1)
		pe := toPortEntity(e)
		if r.pac.CreateMissingRelatedEntities {
			r.markRelationTargets(pe.Relations)
		}
		k.blueprints.LoadOrStore(pe.Blueprint, struct{}{})
		if !r.sendOnce(&pe) {
			k.skipped.Add(1)
			continue
		}
		if r.isUnchanged(&pe) {
			k.skipped.Add(1)
			continue
		}
		if err := acc.add(ctx, pe); err != nil {
			return err
		}
	}
	return nil
}

// storeMax raises v to n unless it already holds more.
func storeMax(v *atomic.Int64, n int64) {
	for {
		cur := v.Load()
		if cur >= n || v.CompareAndSwap(cur, n) {
			return
		}
	}
}

func (r *resyncRun) markSeen(blueprint, id string) {
	key := keyDigest(r.signer.seed, blueprint, id)
	r.mu.Lock()
	if _, ok := r.seen[key]; !ok {
		r.seen[key] = 0
	}
	r.mu.Unlock()
}

// sendOnce records an entity about to be written and reports whether this
// resync already wrote the very same entity: kinds such as `member` list
// one user once per group, and writing it again would change nothing.
func (r *resyncRun) sendOnce(e *port.Entity) bool {
	id := e.ID()
	if id == "" {
		return true
	}
	h := r.signer.entityHash(e)
	key := keyDigest(r.signer.seed, e.Blueprint, id)
	r.mu.Lock()
	defer r.mu.Unlock()
	if prev, ok := r.seen[key]; ok && prev == h {
		return false
	}
	r.seen[key] = h
	return true
}

// markRelationTargets remembers the identifiers this resync points at: Port
// may have created them as placeholders, and they must not be deleted as
// stale (Ocean's safe delete does the same).
func (r *resyncRun) markRelationTargets(rel map[string]any) {
	if len(rel) == 0 {
		return
	}
	seed := r.signer.seed
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range rel {
		switch t := v.(type) {
		case string:
			r.relTargets[idDigest(seed, t)] = struct{}{}
		case []any:
			for _, e := range t {
				if s, ok := e.(string); ok {
					r.relTargets[idDigest(seed, s)] = struct{}{}
				}
			}
		case []string:
			for _, s := range t {
				r.relTargets[idDigest(seed, s)] = struct{}{}
			}
		}
	}
}

// accumulator groups one worker's entities per blueprint into full bulks,
// so that requests carry the bulk limit rather than whatever a page held.
type accumulator struct {
	r       *resyncRun
	k       *kindRun
	size    int
	pending map[string][]port.Entity
}

func newAccumulator(r *resyncRun, k *kindRun) *accumulator {
	size := r.app.cfg.UpsertEntitiesBatchMaxLength
	if size <= 0 || size > 20 {
		size = 20
	}
	return &accumulator{r: r, k: k, size: size, pending: map[string][]port.Entity{}}
}

func (a *accumulator) add(ctx context.Context, e port.Entity) error {
	b := append(a.pending[e.Blueprint], e)
	if len(b) >= a.size {
		a.pending[e.Blueprint] = nil
		return a.send(ctx, e.Blueprint, b)
	}
	a.pending[e.Blueprint] = b
	return nil
}

func (a *accumulator) flushAll(ctx context.Context) error {
	for bp, b := range a.pending {
		if len(b) == 0 {
			continue
		}
		delete(a.pending, bp)
		if err := a.send(ctx, bp, b); err != nil {
			return err
		}
	}
	return nil
}

func (a *accumulator) send(ctx context.Context, bp string, ents []port.Entity) error {
	select {
	case a.r.batches <- upsertBatch{kind: a.k, blueprint: bp, entities: ents}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// upsert writes one batch and accounts per entity.
func (r *resyncRun) upsert(ctx context.Context, b upsertBatch) {
	if err := ctx.Err(); err != nil {
		b.kind.failed.Add(int64(len(b.entities)))
		b.kind.writeErr.CompareAndSwap(nil, &err)
		return
	}
	t0 := r.app.clock.Now()
	results, err := r.writer.upsert(ctx, b.blueprint, b.entities, r.upsertOpts)
	t1 := r.app.clock.Now()
	b.kind.writeNs.Add(int64(t1.Sub(t0)))
	storeMax(&b.kind.lastWriteEnd, t1.UnixNano())
	if err != nil {
		b.kind.failed.Add(int64(len(b.entities)))
		b.kind.writeErr.CompareAndSwap(nil, &err)
		r.log.Error("bulk upsert failed", "kind", b.kind.rm.Kind(), "blueprint", b.blueprint,
			"entities", len(b.entities), "error", err)
		return
	}
	var failed, unmet int
	var first error
	for i, res := range results {
		if res.Err != nil {
			if !b.final && r.unmetDependency(res.Err) {
				unmet++
				r.unmetMu.Lock()
				r.unmet = append(r.unmet, unmetEntity{kind: b.kind, entity: b.entities[i]})
				r.unmetMu.Unlock()
				continue
			}
			failed++
			if first == nil {
				first = res.Err
			}
			continue
		}
		if res.Skipped {
			b.kind.skipped.Add(1)
			continue
		}
		b.kind.upserted.Add(1)
	}
	if failed > 0 {
		b.kind.failed.Add(int64(failed))
		b.kind.writeErr.CompareAndSwap(nil, &first)
		r.log.Warn("entities rejected by Port", "kind", b.kind.rm.Kind(), "blueprint", b.blueprint,
			"count", failed, "first_error", first)
	}
	r.app.metrics.entitiesWritten(b.kind.rm.Kind(), len(results)-failed-unmet, failed)
}

// keepExamples keeps a kind's first raw items and reports whether they
// are now complete and ready to send, which happens once per kind: they
// go while the kind is still fetching, not after it.
func (r *resyncRun) keepExamples(k *kindRun, items []Item) bool {
	if !r.app.cfg.SendRawDataExamples {
		return false
	}
	k.exMu.Lock()
	defer k.exMu.Unlock()
	if len(k.examples) >= numExamples {
		return false
	}
	for _, it := range items {
		if len(k.examples) >= numExamples {
			break
		}
		// Sized before anything is encoded: an item too large for what is
		// left of Port's request limit is passed over for a later one.
		left := examplesBudget - k.exBytes
		n := jsonSize(it, left)
		if n > left {
			k.exSkipped++
			continue
		}
		k.exBytes += n + 1
		k.examples = append(k.examples, it)
	}
	if len(k.examples) < numExamples || k.exSending {
		return false
	}
	k.exSending = true
	return true
}

// takeExamples reports whether a finished kind still has examples to send
// (it had fewer items than numExamples).
func (r *resyncRun) takeExamples(k *kindRun) bool {
	k.exMu.Lock()
	defer k.exMu.Unlock()
	if k.exSending || len(k.examples) == 0 {
		return false
	}
	k.exSending = true
	return true
}

// sendExamples posts a kind's raw examples to Port on every resync, as
// Ocean does: Port's mapping editor shows them, and they should be current.
func (r *resyncRun) sendExamples(ctx context.Context, k *kindRun) {
	k.exMu.Lock()
	ex := k.examples
	k.exMu.Unlock()
	if len(ex) == 0 || r.app.port == nil || r.quiet {
		return
	}
	k.exMu.Lock()
	if k.exSkipped > 0 {
		r.log.Info("raw data examples: items too large for Port's request limit were passed over",
			"kind", k.rm.Kind(), "count", k.exSkipped, "limit_bytes", examplesBudget)
	}
	k.exMu.Unlock()
	examples := make([]any, len(ex))
	for i, e := range ex {
		examples[i] = e
	}
	if err := r.app.port.PostKindExamples(ctx, r.app.cfg.Integration.Identifier, k.rm.Kind(), examples); err != nil {
		r.log.Warn("could not send raw data examples", "kind", k.rm.Kind(), "error", err)
	}
}

// toPortEntity converts a mapped entity to the wire type.
func toPortEntity(e mapping.Entity) port.Entity {
	return port.Entity{
		Identifier: e.Identifier,
		Blueprint:  e.Blueprint,
		Title:      e.Title,
		Icon:       e.Icon,
		Team:       e.Team,
		Properties: e.Properties,
		Relations:  e.Relations,
	}
}

// reconcile deletes the entities this integration owns in Port that the
// resync did not produce, within the safety rules: only for blueprints whose
// kinds all completed, never relation targets of kept entities, and not at
// all when the share to delete passes the threshold.
func (r *resyncRun) reconcile(ctx context.Context, kinds []*kindRun) error {
	rep := r.report
	if r.app.port == nil {
		rep.DeletionSkipped = "no Port client"
		return nil
	}
	if err := r.waitExisting(ctx); err != nil {
		return err
	}
	protected := map[string]bool{}
	for _, k := range kinds {
		if k.report.Complete {
			continue
		}
		lits, ok := literalBlueprints(k.rm.Resource())
		if !ok {
			rep.DeletionSkipped = fmt.Sprintf("kind %s[%d] failed and its blueprint is computed per item, so no blueprint is safe to clean", k.report.Kind, k.report.Index)
			r.log.Warn("skipping stale-entity deletion", "reason", rep.DeletionSkipped)
			return nil
		}
		for _, lit := range lits {
			protected[lit] = true
		}
		if rep.DeletionSkipped == "" && k.report.DeletionBlocked != "" {
			rep.DeletionSkipped = fmt.Sprintf("not for %s[%d]'s blueprints: %s", k.report.Kind, k.report.Index, k.report.DeletionBlocked)
		}
		for _, bp := range k.report.Blueprints {
			protected[bp] = true
		}
	}

	ds := r.app.datasource()
	var (
		total, overlap int
		stale          = map[string][]string{}
		staleCount     int
	)
	seed := r.signer.seed
	consider := func(key uint64, blueprint, id string) {
		total++
		if _, ok := r.seen[key]; ok {
			overlap++
			return
		}
		if protected[blueprint] {
			return
		}
		if _, ok := r.relTargets[idDigest(seed, id)]; ok {
			return
		}
		stale[blueprint] = append(stale[blueprint], id)
		staleCount++
	}
	if r.existing != nil {
		// The catalog as it was when the resync started: entities written
		// since (by live events) are not in it and so are never stale.
		r.existing.each(consider)
		for _, ids := range stale {
			sort.Strings(ids)
		}
	} else {
		for page, err := range r.app.port.DatasourceEntities(ctx, port.DatasourceQuery{
			Prefix: ds.Prefix(), Suffix: ds.Suffix(), Before: r.cutoff,
		}) {
			if err != nil {
				return fmt.Errorf("ocean: list this integration's entities: %w", err)
			}
			for _, e := range page {
				if id := e.ID(); id != "" {
					consider(keyDigest(seed, e.Blueprint, id), e.Blueprint, id)
				}
			}
		}
	}
	rep.StaleFound = staleCount
	if staleCount == 0 {
		return nil
	}
	// Entities written by this resync are newer than its start and so not
	// listed; count them in, or a full rewrite would look like deleting
	// almost everything.
	all := total + len(r.seen) - overlap
	rate := float64(staleCount) / float64(max(all, 1))
	threshold := r.pac.EntityDeletionThreshold
	if threshold <= 0 || rate > threshold {
		rep.DeletionSkipped = fmt.Sprintf("deleting %d of %d entities (%.0f%%) is over the entityDeletionThreshold of %.0f%%",
			staleCount, all, rate*100, threshold*100)
		r.log.Warn("skipping stale-entity deletion", "reason", rep.DeletionSkipped)
		return nil
	}

	batch := min(max(r.app.cfg.DeleteEntitiesMaxBatchSize, 1), portBulkDeleteMax)
	opts := port.DeleteOptions{DeleteDependents: r.pac.DeleteDependentEntities}
	byBlueprint := map[string]int{}
	var errs []error
	// Dependents first, in a fixed order (see deleteOrder).
	for _, bp := range deleteOrder(slices.Collect(maps.Keys(stale)), r.blueprints) {
		ids := stale[bp]
		for start := 0; start < len(ids); start += batch {
			chunk := ids[start:min(start+batch, len(ids))]
			n, err := r.writer.delete(ctx, bp, chunk, opts)
			byBlueprint[bp] += n
			rep.Deleted += n
			if err != nil {
				errs = append(errs, fmt.Errorf("delete from %s: %w", bp, err))
			}
		}
	}
	for _, k := range kinds {
		for _, bp := range k.report.Blueprints {
			k.report.Deleted += int64(byBlueprint[bp])
			byBlueprint[bp] = 0
		}
	}
	r.log.Info("deleted stale entities", "count", rep.Deleted, "found", staleCount)
	if len(errs) > 0 {
		return fmt.Errorf("ocean: stale-entity deletion: %w", errors.Join(errs...))
	}
	return nil
}

// portAppConfig returns the port app config: from the file or value the
// program was given, else from the integration in Port. fresh bypasses the
// cache, as resyncs do.
func (a *App) portAppConfig(ctx context.Context, fresh bool) (*mapping.Config, error) {
	if a.staticConfig != nil {
		return a.staticConfig, nil
	}
	a.pacMu.Lock()
	cached, at := a.pacCache, a.pacAt
	a.pacMu.Unlock()
	if !fresh && cached != nil && a.clock.Now().Sub(at) < a.cfg.Port.PortAppConfigCacheTTL {
		return cached, nil
	}
	if a.port == nil {
		return nil, errors.New("ocean: no port app config: set a config file or Port credentials")
	}
	integ, err := a.port.GetIntegration(ctx, a.cfg.Integration.Identifier)
	if err != nil {
		return nil, fmt.Errorf("ocean: get integration %q: %w", a.cfg.Integration.Identifier, err)
	}
	raw := integ.Config
	if len(raw) == 0 || string(raw) == "null" || string(raw) == "{}" {
		return nil, ErrEmptyMapping
	}
	pac, err := a.parseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("ocean: port app config of integration %q: %w", a.cfg.Integration.Identifier, err)
	}
	a.pacMu.Lock()
	a.pacCache, a.pacAt = pac, a.clock.Now()
	a.pacMu.Unlock()
	return pac, nil
}

func (a *App) parseConfig(raw []byte) (*mapping.Config, error) {
	return mapping.Parse(raw, mapping.AllowTopLevelKeys(a.provider.TopLevelKeys...))
}

// compiled is a port app config compiled once: the mapper, and why each
// resource that cannot run does not (its jq does not compile, or its
// selector does not decode for the kind). One broken resource fails alone:
// the others sync, and its blueprints are kept from stale deletion.
type compiled struct {
	*mapping.Mapper
	broken map[int]error
}

// resourceErr returns why resource i cannot run, or nil.
func (c *compiled) resourceErr(i int) error { return c.broken[i] }

// compile compiles a port app config, reusing the last result when the
// config did not change (live events compile once per config, not per
// event). The error is non-nil only when nothing could be compiled; broken
// resources are in compiled.broken and are logged once per config.
func (a *App) compile(pac *mapping.Config) (*compiled, error) {
	key, _ := json.Marshal(pac)
	a.pacMu.Lock()
	if a.mapper != nil && string(key) == a.mapperKey {
		m := a.mapper
		a.pacMu.Unlock()
		return m, nil
	}
	a.pacMu.Unlock()
	opts := []mapping.Option{mapping.WithItemTimeout(a.cfg.Resync.ItemTimeout)}
	if a.cfg.AllowEnvironmentVariablesJQAccess {
		opts = append(opts, mapping.WithEnv(a.jqEnviron()))
	} else {
		opts = append(opts, mapping.WithEnvAccess(false))
	}
	if a.cfg.Resync.MapWorkers > 0 {
		opts = append(opts, mapping.WithWorkers(a.cfg.Resync.MapWorkers))
	}
	for _, prefix := range slices.Sorted(maps.Keys(a.provider.Resolvers)) {
		opts = append(opts, mapping.WithResolver(prefix, a.provider.Resolvers[prefix]))
	}
	m, err := mapping.Compile(pac, opts...)
	if m == nil {
		return nil, err
	}
	c := &compiled{Mapper: m, broken: map[int]error{}}
	for _, rm := range m.Resources() {
		if err := rm.Err(); err != nil {
			c.broken[rm.Index()] = &ResourceError{Kind: rm.Kind(), Index: rm.Index(), Err: err}
			continue
		}
		if k := a.provider.kind(rm.Kind()); k != nil {
			if err := checkSelector(k, rm.Resource().Selector.Raw); err != nil {
				c.broken[rm.Index()] = &ResourceError{Kind: rm.Kind(), Index: rm.Index(), Err: fmt.Errorf(".selector: %w", err)}
			}
		}
	}
	for _, i := range slices.Sorted(maps.Keys(c.broken)) {
		a.log.Error("port app config: resource cannot run; the other resources sync, and its blueprints are not cleaned of stale entities until it is fixed",
			"error", c.broken[i])
	}
	for _, w := range pac.Warnings {
		a.log.Warn("port app config: ignored", "problem", w)
	}
	a.pacMu.Lock()
	a.mapper, a.mapperKey = c, string(key)
	a.pacMu.Unlock()
	return c, nil
}

// ResourceError is a resource of the port app config that cannot run: a jq
// expression of it does not compile (Err wraps *mapping.CompileError), or
// its selector does not suit the kind. The resource fails in every resync
// until it is fixed; the other resources are not affected.
type ResourceError struct {
	Kind  string
	Index int
	Err   error
}

func (e *ResourceError) Error() string {
	msg := e.Err.Error()
	// mapping's errors already name the resource.
	if !strings.HasPrefix(msg, "resources[") {
		msg = fmt.Sprintf("resources[%d] (%s) %s", e.Index, e.Kind, msg)
	}
	return "port app config: " + msg
}

func (e *ResourceError) Unwrap() error { return e.Err }

// reportRunning tells Port a resync started. Failures are logged: the
// resync's data matters more than its status line.
func (a *App) reportRunning(ctx context.Context, rep *ResyncReport) {
	if a.port == nil || a.dryRun {
		return
	}
	start := rep.Start.UTC()
	st := port.ResyncState{Status: StateRunning, LastResyncStart: &start}
	a.fillSchedule(&st)
	if _, err := a.port.PatchResyncState(ctx, a.cfg.Integration.Identifier, st); err != nil {
		a.log.Warn("could not report resync state", "status", StateRunning, "error", err)
	}
}

func (a *App) reportState(ctx context.Context, rep *ResyncReport) {
	if a.port == nil || a.dryRun || rep.Status == StateRunning {
		return
	}
	end := rep.End.UTC()
	st := port.ResyncState{Status: rep.Status, LastResyncEnd: &end}
	a.fillSchedule(&st)
	integ, err := a.port.PatchResyncState(ctx, a.cfg.Integration.Identifier, st)
	if err != nil {
		a.log.Warn("could not report resync state", "status", rep.Status, "error", err)
		return
	}
	if integ != nil && integ.ResyncState != nil && integ.ResyncState.UpdatedAt != nil {
		a.stateUpdatedAt.Store(integ.ResyncState.UpdatedAt.UnixNano())
	}
}

func (a *App) fillSchedule(st *port.ResyncState) {
	if n := a.cfg.ScheduledResyncInterval; n > 0 {
		next := a.clock.Now().Add(time.Duration(n) * time.Minute).UTC()
		st.NextResync = &next
		st.IntervalInMinutes = &n
	}
}

// literalBlueprints returns the blueprints of a resource whose blueprint
// mappings are all string literals ('"service"'); ok is false when any is
// computed per item.
func literalBlueprints(res *mapping.Resource) ([]string, bool) {
	var out []string
	for _, m := range res.Port.Entity.Mappings {
		expr := strings.TrimSpace(m.Blueprint)
		if len(expr) >= 2 && expr[0] == '\'' && expr[len(expr)-1] == '\'' {
			expr = `"` + expr[1:len(expr)-1] + `"`
		}
		var s string
		if err := json.Unmarshal([]byte(expr), &s); err != nil || s == "" {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

type pacKey struct{}

func withPortAppConfig(ctx context.Context, pac *mapping.Config) context.Context {
	return context.WithValue(ctx, pacKey{}, pac)
}

// PortAppConfigFrom returns the port app config of the resync or live event
// a kind or processor runs for, so that it can read the provider's own
// top-level fields (gitlab-v2's `visibility`) with Config.DecodeExtra. It
// returns nil outside of one.
func PortAppConfigFrom(ctx context.Context) *mapping.Config {
	pac, _ := ctx.Value(pacKey{}).(*mapping.Config)
	return pac
}

// logProgress logs, every ProgressInterval, how far each running kind got,
// so that an operator watching a long resync sees it move.
func (r *resyncRun) logProgress(kinds []*kindRun) (stop func()) {
	every := r.app.cfg.Resync.ProgressInterval
	if every <= 0 {
		return func() {}
	}
	t := r.app.clock.NewTicker(every)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer t.Stop()
		start := r.app.clock.Now()
		for {
			select {
			case <-done:
				return
			case now := <-t.C():
				secs := now.Sub(start).Seconds()
				for _, k := range kinds {
					fetched, upserted := k.fetched.Load(), k.upserted.Load()
					if fetched == 0 && upserted == 0 {
						continue
					}
					r.log.Info("resync progress", "kind", k.rm.Kind(), "index", k.rm.Index(),
						"fetched", fetched, "upserted", upserted, "failed", k.failed.Load(),
						"items_per_second", int(float64(fetched)/max(secs, 0.001)))
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// portClockMaxAge is how old the Port answer that dates a resync's start
// may be; older, the resync asks Port once more.
const portClockMaxAge = time.Minute

// catalogCutoff returns the resync's start on Port's clock. Port stamps
// each entity's updatedAt with its own clock, and the cut-off is compared
// with those stamps: taken from this host's clock, a host an hour behind
// Port would never delete anything stale, and one an hour ahead would take
// entities a live event wrote during the resync for stale and delete them.
// The estimate comes from the Date header of a fresh Port answer (the port
// app config was usually just read) and errs early, which at worst leaves
// an entity written in the second before the resync for the next one.
func (a *App) catalogCutoff(ctx context.Context, log *slog.Logger) (time.Time, error) {
	if a.port == nil {
		return a.clock.Now(), nil
	}
	t, ok := a.port.ServerTime(portClockMaxAge)
	if !ok {
		// Any answer carries Port's clock, a refusal too.
		_, err := a.port.GetIntegration(ctx, a.cfg.Integration.Identifier)
		var pe *port.Error
		if err != nil && !errors.As(err, &pe) {
			return time.Time{}, fmt.Errorf("ocean: read Port's clock at the start of the resync: %w", err)
		}
		t, ok = a.port.ServerTime(portClockMaxAge)
	}
	if !ok {
		log.Warn("Port's answers carry no Date header: stale entities are told from this resync's by this host's clock, which must agree with Port's")
		return a.clock.Now(), nil
	}
	if skew := a.clock.Now().Sub(t); skew > time.Minute || skew < -time.Minute {
		log.Warn("this host's clock differs from Port's; stale entities are judged by Port's", "skew", skew.Round(time.Second))
	}
	return t, nil
}

// loadExisting reads what Port holds for this integration, once, as
// signatures (and, for a plan, whole entities).
func (r *resyncRun) loadExisting(ctx context.Context, before time.Time) error {
	if r.app.port == nil {
		return errors.New("ocean: reading the catalog needs a Port client")
	}
	ds := r.app.datasource()
	existing := newCatalogIndex(r.signer, r.upsertOpts.Merge, r.pac)
	for page, err := range r.app.port.DatasourceEntities(ctx, port.DatasourceQuery{Prefix: ds.Prefix(), Suffix: ds.Suffix(), Before: before}) {
		if err != nil {
			return fmt.Errorf("ocean: list this integration's entities: %w", err)
		}
		for i := range page {
			e := &page[i]
			id := e.ID()
			if id == "" {
				continue
			}
			existing.add(e)
			if r.plan != nil {
				r.plan.stored[entityKey{e.Blueprint, id}] = *e
			}
		}
	}
	r.existing = existing
	return nil
}

// waitExisting waits until the catalog read of the resync is in (or
// failed).
func (r *resyncRun) waitExisting(ctx context.Context) error {
	select {
	case <-r.existingReady:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// isUnchanged reports whether Port already holds e as the upsert would
// leave it.
func (r *resyncRun) isUnchanged(e *port.Entity) bool {
	if r.existing == nil {
		return false
	}
	if !r.existing.unchanged(e) {
		return false
	}
	if r.plan != nil {
		r.plan.unchanged(e.Blueprint)
	}
	return true
}
