// Package ocean is the framework of oceankit: it runs a provider's kinds
// against Port the way Port's Python framework Ocean does — same settings,
// same listeners, same port app config — and keeps the catalog equal to the
// third-party system by full resyncs and live events.
//
// # Start here
//
// A first integration uses a handful of names:
//
//   - [Provider] bundles what an integration brings: its [Kind]s, webhook
//     [Processor]s and default resources ([Provider.Defaults]).
//   - [NewKind] makes a kind from a selector type of your own (embedding
//     [BaseSelector]) and a function that lists items and hands each page
//     to a [Sender]. [Item] is one raw item, a JSON object.
//   - A [Processor] turns a webhook delivery ([Event]) into [Changes]:
//     items to upsert and items to delete, mapped like a resync's.
//   - The settings package holds Ocean's settings: settings.Load reads
//     them (OCEAN__…, APPLICATION__…, .env, config.yaml) into a
//     settings.Config, settings.DecodeIntegrationConfig reads your own
//     OCEAN__INTEGRATION__CONFIG__… settings, and settings.Default is a
//     config for tests and examples.
//   - [New] builds the [App]; [App.Run] runs the configured listener until
//     the context ends. [App.Resync] runs one resync and [App.Plan] says
//     what one would change, without writing.
//   - Inside a kind, [Memo] shares one fetch between kinds of a resync, and
//     [Since] says from when an [Incremental] kind may list changes.
//
// The program package wraps all of this into a main function with Ocean's
// flags, logs and exit codes. The httpx package is the toolkit for calling the third-party API;
// port/porttest is a fake Port for tests.
//
// # What the framework guarantees
//
// A resync compiles the port app config once, streams every resource
// (fetch, map, bulk upsert, with bounded buffers), then deletes the
// integration's entities the resync did not produce — never for a kind that
// failed, was cancelled or could not map an identifier, never relation
// targets, never over entityDeletionThreshold. One resource whose jq does
// not compile fails alone. ONCE returns the resync's error, so the exit code
// tells a scheduler whether it worked. Live events are authenticated from
// the headers before the body is read, applied in order per object, retried,
// and answered 503 rather than dropped when the queue is full.
//
// The reasoning behind these rules, and how they differ from Ocean, is in
// DESIGN.md beside this file and in the module's docs/ folder.
package ocean
