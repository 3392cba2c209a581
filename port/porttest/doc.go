// Package porttest is an in-memory Port REST API on httptest, for tests, demos and
// benchmarks of code that talks to Port through package port (or any other client).
//
// It issues access tokens, stores blueprints, entities (with their $datasource taken
// from the writer's User-Agent), integrations with their config and resync state,
// resync requests, kind examples, actions, scorecards and pages, and validates writes the
// way Port does: unknown blueprints answer 404 with Port's error shape, identifiers must
// match Port's pattern, properties must exist in the blueprint schema with the right JSON
// type, related entities must exist unless create_missing_related_entities is set, bulk
// requests carry 1 to 20 entities and every body stays under 1 MiB.
//
// Tests inspect what the server holds ([Server.Entities], [Server.Entity],
// [Server.Integration], ...), what it received ([Server.Requests], [Server.Count]) and
// inject faults ([Server.InjectFault]: error answers with Retry-After, dropped
// connections, latency) or a rate limit ([WithRateLimit]).
//
// # Where the fake decides what Port does not document
//
//   - Route-level problems of a bulk upsert (more than 20 entities, a malformed
//     identifier, a body that is not JSON) reject the whole request with 422; problems
//     against the blueprint (unknown property, wrong type, enum, missing related entity)
//     are per-entity errors in a 207 answer.
//   - A single upsert answers 201 when it creates the entity and 200 when it updates it.
//   - Placeholder entities made for create_missing_related_entities have no $datasource,
//     so they never look owned by an integration.
//   - Deleting an entity that other entities reference through a required relation,
//     without delete_dependents, fails with 422 (error "has_dependents"); references
//     through optional relations are cleared. With delete_dependents every referencing
//     entity is deleted too.
//   - Creating a blueprint, integration, action, scorecard or page that exists answers
//     409; deleting a blueprint that still has entities answers 409.
//   - Search supports the operators = != in notIn contains doesNotContains containsAny
//     beginsWith doesNotBeginsWith endsWith doesNotEndsWith isEmpty isNotEmpty > >= < <=
//     on $identifier, $title, $icon, $blueprint, $team, $datasource, $createdAt,
//     $updatedAt, properties and relations, with nested combinators. Other operators
//     answer 422.
//   - Rate-limit headers carry fractional seconds when the window is shorter than a
//     second, so tests can use tiny windows.
package porttest
