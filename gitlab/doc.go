// Package gitlab is oceankit's GitLab provider: a drop-in for Port's
// gitlab-v2 integration. It offers gitlab-v2's kinds (project, group,
// group-with-members, member, project-with-members, merge-request, issue,
// pipeline, job, deployment, release, tag, branch, and the repository
// content kinds file, folder, skill and plugin) with the same selector
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
//   - a global request window: at most Config.RequestsPerMinute, or 90%
//     of GitLab.com's 2,000/min, or — on self-managed instances — 90% of
//     the RateLimit-Limit GitLab announces, in any minute. GitLab counts
//     requests per minute, so a window lets a short resync spend the
//     minute's budget at once instead of trickling it out;
//   - one window per endpoint class with its own GitLab.com limit (group
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
// repeats projects created during a long listing. Keyset pages must come
// one after another, so past the first page the listing walks from both
// ends of the id range at once and stops where the walks meet. /groups
// tries keyset once per client and falls back to offset pagination ordered
// by id; within a resync every kind that needs the groups reads one shared
// listing. Other lists follow Link rel="next" or X-Next-Page, never totals.
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
// searchQueries have no GraphQL equivalent: within a resync one paged blob
// search per top-level group and query answers every project of the group
// (archived ones too from GitLab 18.9, which takes include_archived; the
// version is read once from GET /version). Personal projects, groups
// without Advanced Search and single projects of a live event are searched
// one by one, as gitlab-v2 does.
//
// Merge requests and issues are listed per top-level group (GitLab's group
// lists include subgroups) rather than per group, which fetched nested items
// once per ancestor; the result is the same set.
//
// # Repository content
//
// The file kind finds candidate files with GitLab's blob search (per
// top-level group, or per project) or repository tree listings scoped to
// the glob's literal prefix, filters them with the glob (wcmatch's
// GLOBSTAR|DOTGLOB reading, as gitlab-v2), and reads them in batches:
// one GraphQL query of repository.blobs(paths:) for the metadata of many
// projects' files, then one for the content of those under the size cap
// (Config.MaxFileSize, 10 MiB by default), so an oversized file is never
// downloaded. Binary and oversized files are skipped with a warning naming
// project and path. JSON and YAML are parsed (YAML always as a list of
// documents, as gitlab-v2 does for itemsToParse); a file that does not
// parse keeps its text, with a warning. `file://` values are replaced by
// the referenced file's text from the same project and ref. Items are
// gitlab-v2's {file, repo[, __includedFiles]}; folder, skill and plugin
// items are {folder|skill|plugin, repo, __branch}. Project lookups and
// top-level tree listings are cached for the length of a kind's fetch.
//
// # Live events
//
// With OCEAN__BASE_URL set (and a listener that serves live events), the
// provider registers group webhooks on the topmost groups the token owns,
// and project hooks on personal-namespace projects, pointing at
// POST /integration/webhook with webhookSecret as their token; restarts
// update them in place instead of duplicating them. Every delivery's
// X-Gitlab-Token is compared in constant time with webhookSecret: a wrong
// or missing token is 401. Without a configured webhookSecret (gitlab-v2
// has none) LoadConfig derives one from the Port client secret and the
// integration identifier (DeriveWebhookSecret), so every replica agrees
// with nothing stored; the hooks gitlab-v2 created, found by URL, are
// re-tokened with it at start, as they are when the Port client secret
// changes. allowUnauthenticatedWebhooks turns the check off instead. A
// token without the api scope cannot manage hooks: start says so once and
// live events stay off. One processor per
// event family and kind refetches the object through the same client as
// the resync, so a live item has the resync's shape and enrichments, and
// applies the resource's selector: an item the selector drops is deleted,
// not created. Processors key events by object (ordering), coalesce bursts
// (they refetch, so only the newest event matters) and version merge
// requests, issues and deployments by their update time, so an
// out-of-order delivery never leaves an older state. Pushes also update the
// content kinds: the paths a push touches are re-read through the resync's
// code, and removed files are deleted as they were at the push's `before`
// commit, so identifiers taken from their content still match.
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
