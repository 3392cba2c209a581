// Package ocean is the framework of oceankit: it runs a provider's kinds
// against Port the way Port's Python framework Ocean does — same settings,
// same listeners, same port app config — and keeps the catalog equal to the
// third-party system by full resyncs and live events.
//
// # Providers and kinds
//
// A Provider bundles Kinds, webhook Processors and default resources. A
// kind is built with NewKind from a selector type of the provider's own and
// a list function:
//
//	type widgetSelector struct {
//		ocean.BaseSelector
//		Color string `json:"color"`
//	}
//	kind := ocean.NewKind("widget", func(ctx context.Context, sel widgetSelector, send ocean.Sender) error {
//		for page := range api.Widgets(ctx, sel.Color) {
//			if err := send.Send(ctx, page); err != nil {
//				return err
//			}
//		}
//		return nil
//	})
//
// Kinds push pages into a Sender rather than return an iterator. A kind that
// fans out (one goroutine per project) can send from every goroutine without
// merging iterators, back-pressure is a blocking Send, and the error a kind
// returns is the kind's outcome. An iter.Seq2 would force fan-out kinds to
// funnel through one channel of their own and make errors per page rather
// than per kind.
//
// # The resync
//
// A resync fetches the port app config (from Port, or a file), compiles
// every jq expression once — a broken mapping stops the resync before any
// write, with all its errors — and streams each resource: pages flow from
// the kind through mapping workers into bulk upserts shared by all kinds,
// with bounded buffers everywhere, so memory follows what is in flight, not
// the size of the sync. Resources run concurrently when Port creates missing
// related entities (createMissingRelatedEntities, the default); otherwise in
// config order, as in Ocean, so that relation targets exist first.
//
// After all resources, the entities this integration owns in Port (found by
// the datasource Port records from the User-Agent) that the resync did not
// produce are deleted, with rules stricter than Ocean's:
//   - a kind that failed, was cancelled, or had items whose identifier could
//     not be computed protects every entity of its blueprints;
//   - relation targets of kept entities are kept (Port may have created them
//     as placeholders);
//   - nothing is deleted when the share to delete passes the port app
//     config's entityDeletionThreshold (default 0.9; 0 turns deletion off),
//     counting the entities this resync wrote;
//   - a cancelled resync deletes nothing.
//
// # Listeners
//
// ONCE runs one resync and returns its error, so the exit code tells a
// scheduler whether it worked (Ocean exits 0 either way). POLLING resyncs at
// start and whenever Port holds a newer resync request or the integration's
// config changed. WEBHOOKS_ONLY serves live events only. WEBHOOK adds Ocean's
// POST /resync trigger. OCEAN__SCHEDULED_RESYNC_INTERVAL adds a timer to any
// long-running listener. KAFKA lives in package ocean/kafka, so that this
// package carries no Kafka client, and plugs in with WithListener, as any
// other listener can. ACTIONS_ONLY runs self-service actions only.
//
// A resync request that says the running resync is stale (a config change,
// a request from Port) aborts it, as in Ocean; a timer or POST /resync waits
// for it instead, and requests that pile up collapse into one, so triggers
// arriving faster than a resync takes cannot keep deletion from ever running.
//
// # Live events
//
// POST /integration/webhook authenticates from the headers before it reads
// the body (401; processors implement HeaderAuthenticator), reads bodies
// within a size limit and a shared read budget, validates (400) an event
// while the sender waits, queues it in a bounded queue (503 when full,
// never a silent drop) and answers 202. Workers apply events with the same
// key in arrival order, retry failures with backoff, skip events older than
// one already applied (Versioner) and collapse bursts for one object into
// its latest state (Coalescer). Each processor's raw items are mapped with
// the current config's resources of the kinds it names; an item the
// selector drops is not created, and is deleted if this integration owns it.
//
// # Incremental resyncs and plans
//
// Kinds wrapped with Incremental read Since(ctx) and list only what changed;
// see incremental.go for the watermarks and when a full resync is due. A
// full resync reads the catalog once and writes only entities that would
// change; App.Plan runs the same code and records, instead of writing, what
// it would create, change and delete.
//
// # Actions
//
// A provider's ActionExecutors run Port's self-service action runs for this
// integration (ACTIONS_ONLY, or OCEAN__ACTIONS_PROCESSOR__ENABLED beside
// another listener): runs are claimed from Port, acknowledged once (a 409
// means another replica has it), executed on WORKERS_COUNT workers with a
// per-action share of the buffer, and their logs, link and outcome are
// reported through a RunReporter. A run whose executor fails is marked
// FAILURE with the error, secrets redacted.
package ocean
