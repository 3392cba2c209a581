package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/oceankit/oceankit/mapping"
)

// GitLab's limits the floors are computed from (docs.gitlab.com).
const (
	gitlabPerPage = 100
	// gqlComplexity is GitLab's GraphQL complexity limit for authenticated
	// requests; a project block of the default mapping's enrichment
	// (project, languages{name share}, repository{blobs{nodes{path
	// rawTextBlob}}}) scores 9 with one field counted as one, so at most
	// (250-1)/9 = 27 projects fit in one query.
	gqlComplexity     = 250
	gqlProjectScore   = 9
	portBulkMax       = 20
	portDatasourcePag = 5000
)

func ceilDiv(a, b int64) int64 {
	if a <= 0 {
		return 0
	}
	return (a + b - 1) / b
}

// projectEnrichment reads what the project resource asks to enrich.
type projectEnrichment struct {
	IncludeLanguages bool              `json:"includeLanguages"`
	IncludedFiles    []string          `json:"includedFiles"`
	SearchQueries    []json.RawMessage `json:"searchQueries"`
}

// gitlabFloor is the fewest GitLab requests that can produce what the
// resync fetched, with per_page=100: one page per 100 items of each listed
// collection, each collection listed once even when several kinds need it,
// plus the calls no list can replace — the members of each group, the merge
// requests of each top-level group (subgroups included), one blob search
// per top-level group and search query (archived projects included, as
// GitLab 18.9 allows), one search per personal project and query (no group
// covers them), and the languages and files of 27 projects per GraphQL
// query.
func gitlabFloor(pac *mapping.Config, r *resyncRun) floor {
	var f floor
	if r == nil {
		return f
	}
	kinds := map[string]bool{}
	var enrich projectEnrichment
	for _, res := range pac.Resources {
		kinds[res.Kind] = true
		if res.Kind == "project" {
			_ = json.Unmarshal(res.Selector.Raw, &enrich)
		}
	}
	p := r.KindFetched["project"]
	g := max(r.KindFetched["group-with-members"], r.KindFetched["group"], int64(r.Summary.ByBlueprint["gitlabGroup"]))
	if kinds["project"] {
		f.add("GET /projects (list)", ceilDiv(p, gitlabPerPage))
		if n := int64(len(enrich.SearchQueries)); n > 0 {
			// One group blob search per top-level group and query answers
			// every project of the group (Advanced Search; the fake has it).
			f.add("GET /groups/:id/search (1 per top-level group and query)", int64(r.Summary.TopLevelGroups)*n)
			if pp := int64(r.Summary.PersonalProjects); pp > 0 {
				f.add("GET /projects/:id/search (1 per personal project and query)", pp*n)
			}
		}
		if enrich.IncludeLanguages || len(enrich.IncludedFiles) > 0 {
			f.add(fmt.Sprintf("POST /graphql (languages, files: %d projects per query)", (gqlComplexity-1)/gqlProjectScore),
				ceilDiv(p, (gqlComplexity-1)/gqlProjectScore))
		}
	}
	if kinds["group"] || kinds["group-with-members"] || kinds["member"] || kinds["merge-request"] {
		f.add("GET /groups (list, once for all group kinds)", max(1, ceilDiv(g, gitlabPerPage)))
	}
	if kinds["group-with-members"] || kinds["member"] {
		f.add("GET /groups/:id/members (1 per group, once for both member kinds)", g)
	}
	if kinds["merge-request"] {
		mr := r.KindFetched["merge-request"]
		f.add("GET /groups/:id/merge_requests (1 per top-level group)", max(int64(r.Summary.TopLevelGroups), ceilDiv(mr, gitlabPerPage)))
	}
	return f
}

// portFloor is the fewest Port requests for the resync: one bulk per 20
// distinct entities of each blueprint, the datasource pages of the stale
// check (one page per 5,000 entities the integration owned before, at least
// one), and the fixed calls of a resync: the integration read, two
// resync-state updates and one kind-examples post per kind.
func portFloor(pac *mapping.Config, r *resyncRun, ownedBefore int64) floor {
	var f floor
	if r == nil {
		return f
	}
	bps := make([]string, 0, len(r.Summary.ByBlueprint))
	for bp := range r.Summary.ByBlueprint {
		bps = append(bps, bp)
	}
	sort.Strings(bps)
	var bulks int64
	for _, bp := range bps {
		bulks += ceilDiv(int64(r.Summary.ByBlueprint[bp]), portBulkMax)
	}
	f.add("bulk upserts (distinct entities ÷ 20, per blueprint)", bulks)
	f.add("datasource-entities pages", max(1, ceilDiv(ownedBefore, portDatasourcePag)))
	f.add("GET integration", 1)
	f.add("PATCH resync-state (running, completed)", 2)
	kinds := map[string]bool{}
	for _, res := range pac.Resources {
		kinds[res.Kind] = true
	}
	f.add("POST kind examples (1 per kind)", int64(len(kinds)))
	return f
}

// timeFloor is the wall time the injected rate limits allow for the
// requests the resync made: requests ÷ allowed rate, for GitLab's global
// limit, each of its endpoint limits, and Port's entity-route limit; the
// largest wins.
func timeFloor(r *resyncRun, lim limits) (time.Duration, string) {
	if r == nil {
		return 0, ""
	}
	var best time.Duration
	var what string
	consider := func(d time.Duration, w string) {
		if d > best {
			best, what = d, w
		}
	}
	window := lim.GitLabWindow
	if window <= 0 {
		window = time.Minute
	}
	// Per minute as gitlab.com states them; a scaled window is said so in
	// the report, not in each line.
	if lim.GitLabPerMinute > 0 {
		consider(time.Duration(float64(r.GitLab.Total)/float64(lim.GitLabPerMinute)*float64(window)),
			fmt.Sprintf("GitLab: %d requests at %d/min", r.GitLab.Total, lim.GitLabPerMinute))
	}
	for route, n := range lim.GitLabEndpoints {
		c := r.GitLab.ByRoute[route]
		if c == 0 || n <= 0 {
			continue
		}
		consider(time.Duration(float64(c)/float64(n)*float64(window)),
			fmt.Sprintf("GitLab %s: %d requests at %d/min", route, c, n))
	}
	if lim.PortLimit > 0 && lim.PortPeriod > 0 {
		var ent int
		for route, n := range r.Port.ByRoute {
			if strings.Contains(route, "/entities") {
				ent += n
			}
		}
		consider(time.Duration(float64(ent)/float64(lim.PortLimit)*float64(lim.PortPeriod)),
			fmt.Sprintf("Port: %d entity requests at %d per %s", ent, lim.PortLimit, lim.PortPeriod*time.Duration(max(lim.Scale, 1))))
	}
	return best, what
}
