// Package port is a client for Port's REST API (https://docs.port.io/api-reference/port-api),
// covering what an Ocean-style integration needs: authentication, entities (upsert, bulk
// upsert, delete, bulk delete, search, the datasource listing used for stale-entity
// deletion), blueprints, the integration object (config, resync state, resync requests,
// kind examples), and the actions, scorecards and pages created at start-up.
//
// # Configuration
//
// [New] takes the Port base URL ([EUBaseURL] or [USBaseURL]; the client appends /v1), a
// client ID and a client secret, plus options: [WithHTTPClient], [WithLogger],
// [WithUserAgent], [WithDatasource], [WithRetryPolicy] and [WithRateLimit].
//
// # Datasource
//
// Port records the User-Agent of every entity write as the entity's $datasource, and
// "the entities this integration owns" are found by the prefix and suffix of that string.
// [WithDatasource] sets the User-Agent exactly as Port's Python framework does
// (port-ocean/<type>/<version>/<identifier>/exporter), so entities written by either
// implementation for the same integration type and identifier are recognised by both.
//
// # Authentication
//
// Access tokens are fetched on first use, cached, refreshed about a minute before they
// expire and once more when Port answers 401. Concurrent callers share one refresh.
//
// # Retries and rate limits
//
// Requests are retried with exponential backoff and jitter on 408, 429, 502, 503, 504 and
// transport errors, honouring Retry-After and x-ratelimit-reset up to the policy's maximum
// delay. Calls that may already have been applied are retried only when the endpoint is
// idempotent (reads, upserts, deletes, searches); a 429 is always retried because Port did
// not process the request. The client reads Port's x-ratelimit-* headers and spreads the
// remaining budget over the rest of the window, so a large sync slows down before Port
// starts answering 429.
//
// # Errors
//
// Port's error answers become [*Error], carrying the status, Port's error code, message,
// method, path and x-trace-id. [IsNotFound], [IsUnauthorized], [IsRateLimited],
// [IsValidation] and [IsConflict] test for the common cases. Neither errors nor logs ever
// contain the client secret or an access token.
//
// # Pagination
//
// [Client.SearchBlueprintEntities] and [Client.DatasourceEntities] return iterators that
// fetch pages lazily; stop ranging to stop fetching.
//
// # Concurrency
//
// A [Client] is safe for concurrent use and is meant to be shared. Its default transport
// keeps enough idle connections per host for many small concurrent requests.
// [Client.BulkUpsert] sends its requests sequentially; run several calls at once to
// raise throughput.
package port
