package ocean

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/oceankit/oceankit/clock"
	"github.com/oceankit/oceankit/mapping"
	"github.com/oceankit/oceankit/ocean/report"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port"
)

// ErrEmptyMapping is returned by a resync whose port app config has no
// resources: there is nothing to sync, and deleting everything would be the
// wrong conclusion.
var ErrEmptyMapping = errors.New("ocean: the port app config has no resources")

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

// resyncDeps is everything a resync uses. The App builds it for each
// resync (see App.newResyncRun); nothing in a resync reaches the App.
type resyncDeps struct {
	cfg settings.ResyncConfig
	// upsertBatch and deleteBatch bound Port's bulk requests.
	upsertBatch, deleteBatch int
	// examplesOn sends the first raw items of each kind to Port.
	examplesOn    bool
	integrationID string
	// kind finds the provider's kind by name; providerType names the
	// provider in errors.
	kind         func(name string) Kind
	providerType string
	// catalog reads Port (the integration's entities, the blueprints) and
	// takes the raw examples; nil without Port credentials.
	catalog    catalogClient
	datasource port.Datasource
	// state keeps incremental watermarks; nil when there is nowhere to.
	state              stateStore
	incrementalOverlap time.Duration
	clock              clock.Clock
	metrics            *metrics
	syncMetrics        *syncReporter
}

// catalogClient is what a resync asks of Port besides its writes.
type catalogClient interface {
	DatasourceEntities(ctx context.Context, q port.DatasourceQuery) iter.Seq2[[]port.Entity, error]
	ListBlueprints(ctx context.Context) ([]port.Blueprint, error)
	PostKindExamples(ctx context.Context, integration, kind string, examples []any) error
}

// resyncRun is the state of one resync in flight.
type resyncRun struct {
	resyncDeps
	report *report.Resync
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
	// written holds every entity the resync produced, with a hash of
	// what was sent for it (see writtenSet).
	written writtenSet
	// relTargets holds the identifiers (digests) relations pointed at.
	relTargets map[uint64]struct{}

	batches chan upsertBatch
	memo    *memo
	// background holds Port calls off the critical path (kind examples);
	// the resync waits for them before it reports its end.
	background sync.WaitGroup
}

type kindRun struct {
	report     *report.Kind
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
func (a *App) Resync(ctx context.Context, opts ResyncOptions) (*report.Resync, error) {
	return a.runResync(ctx, opts, runMode{writer: a.writer, quiet: a.dryRun})
}

// runMode says where a resync's writes go.
type runMode struct {
	writer entityWriter
	quiet  bool
	plan   *Plan
}

func (a *App) runResync(ctx context.Context, opts ResyncOptions, mode runMode) (*report.Resync, error) {
	rep := &report.Resync{ID: newID(), Trigger: opts.Trigger, Start: a.clock.Now(), Status: report.StateRunning,
		Incremental: opts.Incremental && mode.plan == nil, DryRun: mode.quiet}
	log := a.log.With("resync", rep.ID)
	if opts.Trigger != "" {
		log = log.With("trigger", opts.Trigger)
	}
	log.Info("resync started", "incremental", rep.Incremental)
	a.metrics.resyncStarted()
	sm := a.startSyncMetrics(ctx, rep, mode.quiet)

	err := a.prepareAndRun(ctx, rep, log, mode)
	rep.End = a.clock.Now()
	switch {
	case err == nil:
		rep.Status = report.StateCompleted
	case ctx.Err() != nil:
		rep.Status = report.StateAborted
	default:
		rep.Status = report.StateFailed
	}
	rep.Err = err
	if !mode.quiet {
		a.reportState(context.WithoutCancel(ctx), rep)
	}
	a.metrics.resyncFinished(rep)
	sm.finish(rep)
	logReport(log, rep)
	return rep, err
}

// prepareAndRun prepares a resync from the App (its port app config,
// compiled; the stale cut-off) and runs it.
func (a *App) prepareAndRun(ctx context.Context, rep *report.Resync, log *slog.Logger, mode runMode) error {
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
	run := a.newResyncRun(rep, log, mode, pac, mapper)
	if run.plan == nil && !run.incremental {
		if run.cutoff, err = a.catalogCutoff(ctx, log); err != nil {
			return err
		}
	}
	if !mode.quiet {
		// run waits for its background work before it returns, so the
		// running state never overtakes the final one.
		run.background.Go(func() { a.reportRunning(ctx, rep) })
	}
	return run.run(ctx)
}

// newResyncRun builds a resync's run with what it uses from the App.
func (a *App) newResyncRun(rep *report.Resync, log *slog.Logger, mode runMode, pac *mapping.Config, mapper *compiled) *resyncRun {
	deps := resyncDeps{
		cfg:                a.cfg.Resync,
		upsertBatch:        a.cfg.UpsertEntitiesBatchMaxLength,
		deleteBatch:        a.cfg.DeleteEntitiesMaxBatchSize,
		examplesOn:         a.cfg.SendRawDataExamples,
		integrationID:      a.cfg.Integration.Identifier,
		kind:               a.provider.kind,
		providerType:       a.provider.Type,
		datasource:         a.datasource(),
		state:              a.stateStore(),
		incrementalOverlap: a.cfg.Integration.IncrementalOverlap,
		clock:              a.clock,
		metrics:            a.metrics,
		syncMetrics:        a.syncMetricsFor(rep),
	}
	if a.port != nil {
		deps.catalog = a.port
	}
	return &resyncRun{
		resyncDeps:    deps,
		writer:        mode.writer,
		quiet:         mode.quiet,
		plan:          mode.plan,
		signer:        newSigner(),
		incremental:   rep.Incremental,
		report:        rep,
		pac:           pac,
		mapper:        mapper,
		log:           log,
		existingReady: make(chan struct{}),
		memo:          &memo{},
		relTargets:    map[uint64]struct{}{},
		upsertOpts: port.UpsertOptions{
			Merge:                        pac.EnableMergeEntity,
			CreateMissingRelatedEntities: pac.CreateMissingRelatedEntities,
			EventType:                    "resync",
			ResyncID:                     rep.ID,
		},
	}
}

// run reads the catalog, syncs every kind, then deletes what is stale.
func (r *resyncRun) run(ctx context.Context) error {
	defer r.background.Wait()
	switch {
	case r.plan != nil:
		if err := r.loadExisting(ctx, time.Time{}); err != nil {
			return err
		}
		close(r.existingReady)
	case r.cfg.SkipUnchanged && !r.incremental && r.catalog != nil:
		// The catalog is read while the kinds start fetching; entities are
		// compared once it is in. Only entities last written before the
		// resync started count: one a live event writes meanwhile is newer
		// than the resync's data and must not look stale.
		go func() {
			defer close(r.existingReady)
			if err := r.loadExisting(ctx, r.cutoff); err != nil {
				r.log.Warn("could not read the catalog to skip unchanged entities; writing all of them", "error", err)
			}
		}()
		defer func() { <-r.existingReady }()
	default:
		close(r.existingReady)
	}
	kinds := make([]*kindRun, len(r.mapper.Resources()))
	for i, rm := range r.mapper.Resources() {
		kinds[i] = &kindRun{rm: rm, report: &report.Kind{Kind: rm.Kind(), Index: rm.Index(), Err: r.mapper.resyncErr(rm.Index())}}
		r.report.Kinds = append(r.report.Kinds, kinds[i].report)
	}
	r.syncMetrics.announce(r.report)
	r.checkBlueprints(ctx, kinds)
	if err := r.syncKinds(ctx, kinds); err != nil {
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
	if r.incremental {
		r.report.DeletionSkipped = "incremental resync: deletions wait for the next full resync"
	} else if err := r.reconcile(ctx, kinds); err != nil {
		return err
	}
	r.recordWatermarks(context.WithoutCancel(ctx), kinds, len(failed) > 0)
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
	cfg := r.cfg
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
	rep.Timings = report.Timings{
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
	clk := r.clock
	k.start = clk.Now()
	r.syncMetrics.kindStarted(k.report)
	defer func() { k.fetchEnd.Store(clk.Now().UnixNano()) }()

	kind := r.kind(k.rm.Kind())
	if kind == nil {
		k.report.Err = fmt.Errorf("kind %q is not provided by %s", k.rm.Kind(), r.providerType)
		return
	}
	cfg := r.cfg
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
		fctx := r.withFields(withMemo(withPortAppConfig(mctx, r.pac), r.memo), k)
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
