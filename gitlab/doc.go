// Package gitlab is oceankit's GitLab provider: a drop-in for Port's
// gitlab-v2 integration. It offers gitlab-v2's kinds (project, group,
// group-with-members, member, project-with-members, merge-request, issue,
// pipeline, job, deployment, release, tag, branch) with the same selector
// keys, defaults and enrichment keys (__languages, __includedFiles,
// __searchQueries, __members, __project), its configuration
// (gitlabHost/gitlabUrl, gitlabToken) and its default blueprints and
// mapping, embedded (Defaults).
//
// # Raw JSON
//
// Kinds hand the framework GitLab's JSON exactly as the API returned it:
// pages are decoded into []map[string]any, never into client-go's typed
// structs, which drop fields a user's jq mapping may read. client-go
// (gitlab.com/gitlab-org/api/client-go/v2) still provides the transport,
// authentication (PRIVATE-TOKEN for access tokens, bearer for OAuth
// tokens), base-URL handling for self-managed instances with a path prefix,
// and the pagination headers. All client-go use stays in this package.
//
// # Rate limits and retries
//
// client-go's own retries are off and its limiter is replaced
// (WithCustomLimiter: the built-in one is rebuilt racily on the first
// response). Every request, retries included, passes through one limiter:
//
//   - a global bound on requests in flight (Config.MaxConcurrency);
//   - a global token bucket: Config.RequestsPerMinute, or 90% of
//     GitLab.com's 2,000/min, or — on self-managed instances — 90% of the
//     RateLimit-Limit GitLab announces;
//   - one bucket per endpoint class with its own GitLab.com limit (group
//     list 50/min, search 100/min, project list 200/min, single project or
//     group 400/min, …), on for GitLab.com or when Config.EndpointLimits
//     says so;
//   - pauses: until RateLimit-Reset when RateLimit-Remaining drops below
//     the concurrency bound, and for Retry-After (else RateLimit-Reset,
//     else exponential backoff) after a 429 — for every class when the 429
//     came from the per-user limit, for the endpoint's class otherwise.
//
// 429, 408 and 5xx answers and network errors are retried with bounded
// attempts (Config.MaxRetries) and waits (Config.MaxRetryWait); every wait
// ends with the request's context.
//
// # Pagination
//
// Lists use per_page=100 and stream page by page to the framework's
// Sender, which applies back-pressure. /projects uses keyset pagination
// (order_by=id): offset pagination stops at 50,000 projects and skips or
// repeats projects created during a long listing. /groups tries keyset once
// per client and falls back to offset pagination ordered by id. Other lists
// follow Link rel="next" or X-Next-Page, never totals.
//
// # Request economy
//
// gitlab-v2 spends about four requests per project on its default
// mapping. Here languages and included files are fetched through GraphQL
// for many projects per query (aliases p0, p1, … over project(fullPath:)
// with languages and repository.blobs(paths:, ref:)), sized under GitLab's
// complexity limit (250) and query-size limit (10,000 characters), and
// resized when GitLab reports a higher complexity than planned: about one
// request per 24 projects. Projects GraphQL cannot answer, or every project
// when GraphQL is off (Config.UseGraphQL) or unavailable, fall back to REST.
// searchQueries have no GraphQL equivalent and stay REST, one request per
// project and query, under the search class limit.
//
// Merge requests and issues are listed per top-level group (GitLab's group
// lists include subgroups) rather than per group, which fetched nested items
// once per ancestor; the result is the same set.
//
// # Fan-out
//
// Per-project and per-group calls (pipelines, tags, members, …) run with
// bounded concurrency (errgroup with a limit of Config.MaxConcurrency)
// while the project or group list keeps streaming. A project or group that
// answers 403 or 404 (deleted meanwhile, no access) is logged and skipped;
// other failures fail the kind, so that the framework deletes nothing on
// partial data.
package gitlab
