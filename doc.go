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
//   - ocean: the framework: config, kinds and providers, the resync engine,
//     event listeners and the live-events server.
//   - gitlab: the GitLab provider (kinds, selectors, enrichments, webhooks).
//   - gitlab/gitlabtest: an in-memory GitLab REST and GraphQL API.
//
// A five-line quickstart of a custom sync:
//
//	kind := ocean.NewKind("widget", func(ctx context.Context, sel ocean.BaseSelector, send ocean.Sender) error {
//		return send.Send(ctx, []map[string]any{{"id": "w1", "name": "Widget"}})
//	})
//	app, err := ocean.New(cfg, ocean.Provider{Type: "widgets", Kinds: []ocean.Kind{kind}})
//	if err != nil { return err }
//	return app.Run(ctx)
package oceankit
