package gitlabtest

import (
	"net/http"
	"net/url"
	"strings"
)

type route struct {
	method  string
	pattern string
	segs    []string
	handler func(*reqCtx)
	graphql bool
}

func (rt *route) class(method string) string {
	if rt.pattern == "" {
		return method + " <unknown>"
	}
	return rt.method + " " + rt.pattern
}

var routeTable = buildRoutes()

func buildRoutes() []*route {
	defs := []struct {
		method, pattern string
		h               func(*reqCtx)
	}{
		{"GET", "/user", handleUser},
		{"GET", "/version", handleVersion},
		{"GET", "/personal_access_tokens/self", handleTokenSelf},
		{"GET", "/projects", handleProjects},
		{"GET", "/projects/:id", handleProject},
		{"GET", "/projects/:id/languages", handleLanguages},
		{"GET", "/projects/:id/members", handleProjectMembers(false)},
		{"GET", "/projects/:id/members/all", handleProjectMembers(true)},
		{"GET", "/projects/:id/members/:user_id", handleProjectMember(false)},
		{"GET", "/projects/:id/members/all/:user_id", handleProjectMember(true)},
		{"GET", "/projects/:id/merge_requests", handleProjectMRs},
		{"GET", "/projects/:id/merge_requests/:iid", handleProjectMR},
		{"GET", "/projects/:id/issues", handleProjectIssues},
		{"GET", "/projects/:id/issues/:iid", handleProjectIssue},
		{"GET", "/projects/:id/pipelines", handlePipelines},
		{"GET", "/projects/:id/pipelines/:pipeline_id", handlePipeline},
		{"GET", "/projects/:id/pipelines/:pipeline_id/jobs", handlePipelineJobs},
		{"POST", "/projects/:id/pipeline", handleCreatePipeline},
		{"GET", "/projects/:id/jobs", handleProjectJobs},
		{"GET", "/projects/:id/jobs/:job_id", handleJob},
		{"GET", "/projects/:id/deployments", handleDeployments},
		{"GET", "/projects/:id/deployments/:deployment_id", handleDeployment},
		{"GET", "/projects/:id/environments", handleEnvironments},
		{"GET", "/projects/:id/releases", handleReleases},
		{"GET", "/projects/:id/releases/:tag_name", handleRelease},
		{"GET", "/projects/:id/repository/tags", handleTags},
		{"GET", "/projects/:id/repository/tags/:tag_name", handleTag},
		{"GET", "/projects/:id/repository/branches", handleBranches},
		{"GET", "/projects/:id/repository/branches/:branch", handleBranch},
		{"GET", "/projects/:id/repository/files/:file_path", handleFile},
		{"HEAD", "/projects/:id/repository/files/:file_path", handleFile},
		{"GET", "/projects/:id/repository/files/:file_path/raw", handleFileRaw},
		{"GET", "/projects/:id/repository/tree", handleTree},
		{"GET", "/projects/:id/search", handleProjectSearch},
		{"GET", "/projects/:id/hooks", handleListHooks(false)},
		{"POST", "/projects/:id/hooks", handleCreateHook(false)},
		{"GET", "/projects/:id/hooks/:hook_id", handleGetHook(false)},
		{"PUT", "/projects/:id/hooks/:hook_id", handleUpdateHook(false)},
		{"DELETE", "/projects/:id/hooks/:hook_id", handleDeleteHook(false)},
		{"GET", "/groups", handleGroups},
		{"GET", "/groups/:id", handleGroup},
		{"GET", "/groups/:id/subgroups", handleSubgroups(false)},
		{"GET", "/groups/:id/descendant_groups", handleSubgroups(true)},
		{"GET", "/groups/:id/projects", handleGroupProjects},
		{"GET", "/groups/:id/members", handleGroupMembers(false)},
		{"GET", "/groups/:id/members/all", handleGroupMembers(true)},
		{"GET", "/groups/:id/members/:user_id", handleGroupMember(false)},
		{"GET", "/groups/:id/members/all/:user_id", handleGroupMember(true)},
		{"GET", "/groups/:id/merge_requests", handleGroupMRs},
		{"GET", "/groups/:id/issues", handleGroupIssues},
		{"GET", "/groups/:id/search", handleGroupSearch},
		{"GET", "/groups/:id/hooks", handleListHooks(true)},
		{"POST", "/groups/:id/hooks", handleCreateHook(true)},
		{"GET", "/groups/:id/hooks/:hook_id", handleGetHook(true)},
		{"PUT", "/groups/:id/hooks/:hook_id", handleUpdateHook(true)},
		{"DELETE", "/groups/:id/hooks/:hook_id", handleDeleteHook(true)},
		{"GET", "/merge_requests", handleAllMRs},
		{"GET", "/issues", handleAllIssues},
	}
	out := make([]*route, 0, len(defs)+1)
	for _, d := range defs {
		out = append(out, &route{method: d.method, pattern: d.pattern, segs: strings.Split(d.pattern[1:], "/"), handler: d.h})
	}
	return out
}

var graphqlRoute = &route{method: "POST", pattern: "/graphql", handler: handleGraphQL, graphql: true}

// Routes lists the route classes the server implements, as request counters
// name them ("GET /projects/:id/merge_requests", "POST /graphql", …).
func Routes() []string {
	out := make([]string, 0, len(routeTable)+1)
	for _, rt := range routeTable {
		out = append(out, rt.method+" "+rt.pattern)
	}
	return append(out, "POST /graphql")
}

var notFoundRoute = &route{}

// match finds the route of a request. Path segments are split on the escaped
// path, so URL-encoded project paths and file paths ("a%2Fb") stay one
// segment, as on GitLab.
func (s *Server) match(r *http.Request) (*route, map[string]string) {
	esc := r.URL.EscapedPath()
	if esc == "/api/graphql" {
		if r.Method == http.MethodPost {
			return graphqlRoute, nil
		}
		return &route{method: r.Method, pattern: "/graphql", graphql: true}, nil
	}
	rest, ok := strings.CutPrefix(esc, "/api/v4/")
	if !ok {
		return notFoundRoute, nil
	}
	rest = strings.TrimSuffix(rest, "/")
	parts := strings.Split(rest, "/")
	for i, p := range parts {
		if u, err := url.PathUnescape(p); err == nil {
			parts[i] = u
		}
	}
	var methodMismatch *route
	for _, rt := range routeTable {
		if len(rt.segs) != len(parts) {
			continue
		}
		params, ok := matchSegs(rt.segs, parts)
		if !ok {
			continue
		}
		if rt.method != r.Method {
			if methodMismatch == nil {
				methodMismatch = rt
			}
			continue
		}
		return rt, params
	}
	if methodMismatch != nil {
		return &route{method: r.Method, pattern: methodMismatch.pattern}, nil
	}
	return notFoundRoute, nil
}

func matchSegs(segs, parts []string) (map[string]string, bool) {
	var params map[string]string
	for i, s := range segs {
		if strings.HasPrefix(s, ":") {
			if parts[i] == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[s[1:]] = parts[i]
			continue
		}
		if s != parts[i] {
			return nil, false
		}
	}
	// A literal segment must win over a parameter ("members/all" is not
	// member "all"): routes are declared literal-first where they overlap.
	return params, true
}
