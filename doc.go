// Package oceankit is a Go module for building Ocean-style integrations:
// programs that read a third-party system (GitLab first), turn every item
// into a Port catalog entity with user-written jq mappings, and keep Port's
// software catalog equal to that system by full resyncs and live events.
//
// It is a drop-in for Port's Python framework "Ocean" and its gitlab-v2
// integration: the same OCEAN__… environment variables, the same port app
// config, the same kinds, selectors and enrichment keys.
//
// The packages:
//
//   - port: the Port REST API client (auth, entities, blueprints, integrations).
//   - port/porttest: an in-memory Port API for tests, the demo and benchmarks.
//   - mapping: the port app config model and the compiled jq mapping engine.
//   - ocean: the framework: kinds and providers, the resync engine, event
//     listeners and the live-events server; ocean/settings (Ocean's
//     settings and secrets), ocean/actions (self-service actions) and
//     ocean/report (what a run tells) beside it.
//   - gitlab: the GitLab provider (kinds, selectors, enrichments, webhooks).
//   - gitlab/gitlabtest: an in-memory GitLab REST and GraphQL API.
//   - program: the command line around a provider: flags, settings, logs,
//     signals, exit codes (a custom sync's main is one call).
//   - httpx: an HTTP client toolkit for a provider's third-party API.
//   - clock: the time source every package waits on, and a fake for tests.
//
// A quickstart of a custom sync (the package's Example runs it):
//
//	func widgets(*settings.Config, *slog.Logger) (*ocean.Provider, error) {
//		kind := ocean.NewKind("widget", func(ctx context.Context, _ ocean.BaseSelector, send ocean.Sender) error {
//			return send.Send(ctx, []ocean.Item{{"id": "w1", "name": "Widget"}})
//		})
//		return &ocean.Provider{Type: "widgets", Kinds: []ocean.Kind{kind}}, nil
//	}
//
//	func main() {
//		program.Main(program.Spec{Name: "widget-sync", Type: "widgets", Provider: widgets})
//	}
//
// Run it with --help for its flags and settings, or --dry-run --config
// mapping.yml to see the entities it would write. examples/minimal is a
// whole one: two kinds of a real-looking API, a relation, pagination, a
// selector and a webhook processor in 100 lines.
package oceankit
