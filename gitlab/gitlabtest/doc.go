// Package gitlabtest is an in-memory fake of the GitLab REST (/api/v4) and
// GraphQL (/api/graphql) APIs, backed by a seeded, deterministic data
// generator.
//
// It exists so that GitLab clients — oceankit's own provider, the demo, the
// benchmarks and users testing their own GitLab kinds — can be exercised
// end to end without a GitLab instance. It reproduces the parts of GitLab's
// behaviour that clients get wrong most often:
//
//   - offset pagination headers (X-Page, X-Next-Page, X-Total, Link …), the
//     omission of totals above 10,000 records, and the 50,000-record offset
//     cap on /projects that forces keyset pagination;
//   - keyset pagination (pagination=keyset&order_by=id) with Link rel="next";
//   - PRIVATE-TOKEN / Bearer authentication, RateLimit-* headers, 429 with
//     Retry-After, per-endpoint rate limits like gitlab.com's, and injectable
//     faults (429/5xx) and per-project 403/404 answers;
//   - the GraphQL fields a provider batches over (projects, languages,
//     repository blobs), parsed and validated by a real GraphQL parser against
//     a schema subset written from GitLab's published schema, with GitLab's
//     complexity and query-size limits and error shapes.
//
// A Dataset is built by Generate from a seed and a Size; the same seed and
// Size always produce the same data. A Dataset is safe for concurrent use and
// has mutation helpers (create/update/delete projects, merge requests,
// issues, branches, files, members) so that a test can change the world
// while a client is syncing it.
//
// A test typically reads:
//
//	srv := gitlabtest.NewServer(t, gitlabtest.WithDataset(gitlabtest.Generate(1, gitlabtest.SizeSmall)))
//	srv.FailNext(2, http.StatusServiceUnavailable, time.Second, "/projects")
//	client := newMyClient(srv.URL, srv.Token) // REST under srv.URL+"/api/v4"
//	... run the code under test ...
//	require.EqualValues(t, 1, srv.RouteRequests("GET /projects"))
//
// The JSON shapes follow GitLab's API documentation (docs.gitlab.com/api):
// timestamps are RFC 3339 with milliseconds in UTC ("2024-01-02T03:04:05.123Z"),
// GraphQL BigInt values are strings, and so on. Only the routes listed by
// Routes are implemented; anything else answers 404 like an unknown GitLab
// route.
package gitlabtest
