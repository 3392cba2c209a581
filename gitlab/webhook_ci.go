package gitlab

import (
	"context"
	"slices"
	"strings"

	glapi "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/oceankit/oceankit/ocean"
)

// Live events of the tag, release, pipeline, job and deployment kinds.

func (g *Integration) tagProcessor(a *hookAuth) *hookProcessor {
	return &hookProcessor{
		name: "gitlab-tag", kind: KindTag, auth: a,
		headers: []string{hookTagPush}, events: []string{"tag_push"},
		validate: func(ev *ocean.Event) error {
			if !strings.HasPrefix(strField(ev.Payload, "ref"), "refs/tags/") {
				return requireFields(ev.Payload, "tag push", nil, [][]string{{"ref"}})
			}
			return validateProjectID("tag push")(ev)
		},
		key:    func(ev *ocean.Event) string { return "tag:" + projectOf(ev.Payload) + ":" + tagName(ev.Payload) },
		handle: withSelector(g.handleTag),
	}
}

func tagName(p map[string]any) string { return strings.TrimPrefix(strField(p, "ref"), "refs/tags/") }

func (g *Integration) handleTag(ctx context.Context, ev *ocean.Event, sel ProjectSelector) (ocean.Changes, error) {
	pid, name, proj := projectOf(ev.Payload), tagName(ev.Payload), eventProject(ev.Payload)
	stub := ocean.Item{"name": name}
	withProject(proj)(stub)
	if strField(ev.Payload, "after") == zeroSHA {
		return remove(stub), nil // gitlab-v2 ignores tag deletions
	}
	// Names with "/" are escaped (gitlab-v2 kept only the last segment).
	return g.refetchInProject(ctx, pid, sel.IncludeOnlyActiveProjects, "/repository/tags/"+glapi.PathEscape(name), proj, stub)
}

// refetchInProject fetches one object of a project (a tag, a release) for
// an event: it is upserted with __project when the project is selected and
// the object exists, and stub (its identity) is deleted otherwise.
func (g *Integration) refetchInProject(ctx context.Context, pid string, active *bool, sub string, proj ocean.Item, stub ocean.Item) (ocean.Changes, error) {
	if ok, err := g.projectGate(ctx, pid, active); err != nil || !ok {
		return remove(stub), err
	}
	it, gone, err := g.getItem(ctx, "projects/"+pid+sub, nil)
	switch {
	case err != nil:
		return ocean.Changes{}, err
	case gone:
		return remove(stub), nil
	}
	withProject(proj)(it)
	return upsert(it), nil
}

func (g *Integration) releaseProcessor(a *hookAuth) *hookProcessor {
	return &hookProcessor{
		name: "gitlab-release", kind: KindRelease, auth: a,
		headers: []string{hookRelease}, events: []string{"release"},
		validate: func(ev *ocean.Event) error {
			return requireFields(ev.Payload, "release", [][]string{{"project", "id"}}, [][]string{{"tag"}})
		},
		key: func(ev *ocean.Event) string {
			return "release:" + projectOf(ev.Payload) + ":" + strField(ev.Payload, "tag")
		},
		handle: withSelector(g.handleRelease),
	}
}

func (g *Integration) handleRelease(ctx context.Context, ev *ocean.Event, sel ProjectSelector) (ocean.Changes, error) {
	pid, tag, proj := projectOf(ev.Payload), strField(ev.Payload, "tag"), eventProject(ev.Payload)
	// The payload in the REST shape (tag_name), for mappings written for
	// the resync's items.
	stub := ocean.Item{"tag_name": tag}
	for _, k := range []string{"name", "description", "created_at", "released_at"} {
		if v, ok := ev.Payload[k]; ok {
			stub[k] = v
		}
	}
	withProject(proj)(stub)
	if strField(ev.Payload, "action") == "delete" {
		return remove(stub), nil
	}
	return g.refetchInProject(ctx, pid, sel.IncludeOnlyActiveProjects, "/releases/"+glapi.PathEscape(tag), proj, stub)
}

func (g *Integration) pipelineProcessor(a *hookAuth) *hookProcessor {
	return &hookProcessor{
		name: "gitlab-pipeline", kind: KindPipeline, auth: a,
		headers: []string{hookPipeline}, events: []string{"pipeline"},
		validate: func(ev *ocean.Event) error {
			return requireFields(ev.Payload, "pipeline", [][]string{{"project", "id"}, {"object_attributes", "id"}}, nil)
		},
		key: func(ev *ocean.Event) string {
			return "pipeline:" + projectOf(ev.Payload) + ":" + idField(ev.Payload, "object_attributes", "id")
		},
		handle: withSelector(g.handlePipeline),
	}
}

// pipelineListFields are the fields of a pipeline in GitLab's pipeline
// list, which the resync reads; the single-pipeline answer has more.
var pipelineListFields = []string{"id", "iid", "project_id", "sha", "ref", "status", "source", "created_at", "updated_at", "web_url", "name"}

func (g *Integration) handlePipeline(ctx context.Context, ev *ocean.Event, sel PipelineSelector) (ocean.Changes, error) {
	pid, id, proj := projectOf(ev.Payload), idField(ev.Payload, "object_attributes", "id"), eventProject(ev.Payload)
	stub := ocean.Item{"id": jsonNumber(id), "project_id": jsonNumber(pid)}
	for _, k := range []string{"iid", "sha", "ref", "status", "source", "created_at", "name"} {
		if v, ok := object(ev.Payload, "object_attributes")[k]; ok {
			stub[k] = v
		}
	}
	withProject(proj)(stub)
	if ok, err := g.projectGate(ctx, pid, sel.IncludeOnlyActiveProjects); err != nil || !ok {
		return remove(stub), err
	}
	pl, gone, err := g.getItem(ctx, "projects/"+pid+"/pipelines/"+id, nil)
	switch {
	case err != nil:
		return ocean.Changes{}, err
	case gone:
		return remove(stub), nil
	}
	user := strField(pl, "user", "username")
	if user == "" {
		user = strField(ev.Payload, "user", "username")
	}
	selected := pipelineSelected(sel.APIQueryParams, pl, user)
	listed := make(ocean.Item, len(pipelineListFields)+1)
	for _, k := range pipelineListFields {
		if v, ok := pl[k]; ok {
			listed[k] = v
		}
	}
	withProject(proj)(listed)
	if !selected {
		return remove(listed), nil
	}
	return upsert(listed), nil
}

var finishedStatuses = []string{"success", "failed", "canceled", "skipped"}

// pipelineSelected applies the pipeline-list filters to one pipeline.
func pipelineSelected(q *PipelineQueryParams, pl ocean.Item, username string) bool {
	if q == nil {
		return true
	}
	eq := func(want string, got any) bool { return want == "" || want == str(got) }
	if !eq(q.Status, pl["status"]) || !eq(q.Ref, pl["ref"]) || !eq(q.SHA, pl["sha"]) ||
		!eq(q.Source, pl["source"]) || !eq(q.Name, pl["name"]) || (q.Username != "" && q.Username != username) {
		return false
	}
	switch q.Scope {
	case "running", "pending":
		if str(pl["status"]) != q.Scope {
			return false
		}
	case "finished":
		if !slices.Contains(finishedStatuses, str(pl["status"])) {
			return false
		}
	case "branches", "tags":
		if tag, ok := pl["tag"].(bool); ok && tag != (q.Scope == "tags") {
			return false
		}
	}
	if q.YamlErrors != nil {
		if ye, ok := pl["yaml_errors"]; ok && (ye != nil && ye != "") != *q.YamlErrors {
			return false
		}
	}
	return timeWindow(pl["updated_at"], q.UpdatedAfter, q.UpdatedBefore) && timeWindow(pl["created_at"], q.CreatedAfter, q.CreatedBefore)
}

// timeWindow checks after ≤ v ≤ before on parsed times (gitlab-v2
// compared the strings).
func timeWindow(v any, after, before string) bool {
	if after == "" && before == "" {
		return true
	}
	t, ok := parseTime(str(v))
	if !ok {
		return false
	}
	if a, ok := parseTime(after); ok && t.Before(a) {
		return false
	}
	if b, ok := parseTime(before); ok && t.After(b) {
		return false
	}
	return true
}

func (g *Integration) jobProcessor(a *hookAuth) *hookProcessor {
	return &hookProcessor{
		name: "gitlab-job", kind: KindJob, auth: a,
		headers: []string{hookJob}, events: []string{"build"},
		validate: func(ev *ocean.Event) error {
			return requireFields(ev.Payload, "job", [][]string{{"project_id"}, {"build_id"}}, nil)
		},
		key: func(ev *ocean.Event) string {
			return "job:" + projectOf(ev.Payload) + ":" + idField(ev.Payload, "build_id")
		},
		handle: withSelector(g.handleJob),
	}
}

func (g *Integration) handleJob(ctx context.Context, ev *ocean.Event, sel JobSelector) (ocean.Changes, error) {
	pid, id := projectOf(ev.Payload), idField(ev.Payload, "build_id")
	stub := ocean.Item{"id": jsonNumber(id), "name": strField(ev.Payload, "build_name"), "status": strField(ev.Payload, "build_status"),
		"stage": strField(ev.Payload, "build_stage"), "ref": strField(ev.Payload, "ref")}
	if ok, err := g.projectGate(ctx, pid, sel.IncludeOnlyActiveProjects); err != nil || !ok {
		return remove(stub), err
	}
	job, gone, err := g.getItem(ctx, "projects/"+pid+"/jobs/"+id, nil)
	switch {
	case err != nil:
		return ocean.Changes{}, err
	case gone:
		return remove(stub), nil
	}
	// The resync lists the jobs of the pipelines pipelineQueryParams
	// selects; the job carries its pipeline in the listing's shape.
	if pl := object(job, "pipeline"); pl != nil && !pipelineSelected(sel.PipelineQueryParams, pl, strField(job, "user", "username")) {
		return remove(job), nil
	}
	return upsert(job), nil
}

func (g *Integration) deploymentProcessor(a *hookAuth) *hookProcessor {
	return &hookProcessor{
		name: "gitlab-deployment", kind: KindDeployment, auth: a,
		headers: []string{hookDeployment}, events: []string{"deployment"},
		validate: func(ev *ocean.Event) error {
			return requireFields(ev.Payload, "deployment", [][]string{{"project", "id"}, {"deployment_id"}}, nil)
		},
		key: func(ev *ocean.Event) string {
			return "deployment:" + projectOf(ev.Payload) + ":" + idField(ev.Payload, "deployment_id")
		},
		version: timeField("status_changed_at"),
		handle:  withSelector(g.handleDeployment),
	}
}

func (g *Integration) handleDeployment(ctx context.Context, ev *ocean.Event, sel DeploymentSelector) (ocean.Changes, error) {
	pid, id := projectOf(ev.Payload), idField(ev.Payload, "deployment_id")
	stub := ocean.Item{"id": jsonNumber(id), "status": strField(ev.Payload, "status"), "ref": strField(ev.Payload, "ref"),
		"environment": map[string]any{"name": strField(ev.Payload, "environment")}, "__project": eventProject(ev.Payload)}
	p, gone, err := g.getProject(ctx, pid)
	switch {
	case err != nil:
		return ocean.Changes{}, err
	case gone, !activeOK(sel.IncludeOnlyActiveProjects, projectActive(p)):
		return remove(stub), nil
	}
	stub["__project"] = p
	dep, gone, err := g.getItem(ctx, "projects/"+pid+"/deployments/"+id, nil)
	switch {
	case err != nil:
		return ocean.Changes{}, err
	case gone:
		return remove(stub), nil
	}
	dep["__project"] = p
	if !deploymentSelected(sel.APIQueryParams, dep) {
		return remove(dep), nil
	}
	return upsert(dep), nil
}

func deploymentSelected(q *DeploymentQueryParams, dep ocean.Item) bool {
	if q == nil {
		return true
	}
	if q.Environment != "" && strField(dep, "environment", "name") != q.Environment {
		return false
	}
	if q.Status != "" && str(dep["status"]) != q.Status {
		return false
	}
	finished := dep["finished_at"]
	if finished == nil {
		finished = field(dep, "deployable", "finished_at")
	}
	return timeWindow(dep["updated_at"], q.UpdatedAfter, q.UpdatedBefore) && timeWindow(finished, q.FinishedAfter, q.FinishedBefore)
}
