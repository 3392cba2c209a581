package gitlab

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/oceankit/oceankit/ocean"
)

// Live events of the merge-request and issue kinds.

func (g *Integration) mergeRequestProcessor(a *hookAuth) *hookProcessor {
	return &hookProcessor{
		name: "gitlab-merge-request", kind: KindMergeRequest, auth: a,
		headers: []string{hookMergeRequest}, events: []string{"merge_request"},
		validate: func(ev *ocean.Event) error {
			if projectOf(ev.Payload) == "" {
				return requireFields(ev.Payload, "merge request", [][]string{{"object_attributes", "target_project_id"}}, nil)
			}
			return requireFields(ev.Payload, "merge request", [][]string{{"object_attributes", "iid"}}, nil)
		},
		key: func(ev *ocean.Event) string {
			return "mr:" + mrProject(ev.Payload) + ":" + idField(ev.Payload, "object_attributes", "iid")
		},
		version: timeField("object_attributes", "updated_at"),
		handle:  withSelector(g.handleMergeRequest),
	}
}

// mrProject is the merge request's (target) project.
func mrProject(p map[string]any) string {
	if id := idField(p, "object_attributes", "target_project_id"); id != "" {
		return id
	}
	return projectOf(p)
}

// listOne fetches one merge request or issue through the project list
// with iids[], which answers in the listing's shape (the single-object
// endpoints add fields the resync never has).
func (g *Integration) listOne(ctx context.Context, path, iid string) (ocean.Item, bool, error) {
	var items []ocean.Item
	err := g.client.Get(ctx, path, url.Values{"iids[]": {iid}, "state": {"all"}, "per_page": {"1"}}, &items)
	if err != nil {
		if isInaccessible(err) && ctx.Err() == nil {
			return nil, true, nil
		}
		return nil, false, err
	}
	if len(items) == 0 {
		return nil, true, nil
	}
	return items[0], false, nil
}

func (g *Integration) handleMergeRequest(ctx context.Context, ev *ocean.Event, sel MergeRequestSelector) (ocean.Changes, error) {
	mr, gone, err := g.listOne(ctx, "projects/"+mrProject(ev.Payload)+"/merge_requests", idField(ev.Payload, "object_attributes", "iid"))
	switch {
	case err != nil:
		return ocean.Changes{}, err
	case gone:
		return remove(object(ev.Payload, "object_attributes")), nil
	}
	state := str(mr["state"])
	if !slices.Contains(sel.States, state) {
		return remove(mr), nil
	}
	if state != "opened" && !updatedWithin(mr, sel.UpdatedAfter, g.now()) {
		return remove(mr), nil
	}
	return upsert(mr), nil
}

// updatedWithin reports whether the item's updated_at is within the last
// days before now, as the resync's updated_after filter selects it.
func updatedWithin(it ocean.Item, days float64, now time.Time) bool {
	t, ok := parseTime(str(it["updated_at"]))
	if !ok {
		return true
	}
	return !t.Before(now.Add(-time.Duration(days * float64(24*time.Hour))))
}

func (g *Integration) issueProcessor(a *hookAuth) *hookProcessor {
	return &hookProcessor{
		name: "gitlab-issue", kind: KindIssue, auth: a,
		// Confidential issues arrive under their own header (gitlab-v2
		// subscribes to them but drops them).
		headers: []string{hookIssue, hookConfidentialIssue}, events: []string{"issue"},
		validate: func(ev *ocean.Event) error {
			if projectOf(ev.Payload) == "" {
				return requireFields(ev.Payload, "issue", [][]string{{"object_attributes", "project_id"}}, nil)
			}
			return requireFields(ev.Payload, "issue", [][]string{{"object_attributes", "iid"}}, nil)
		},
		key: func(ev *ocean.Event) string {
			return "issue:" + issueProject(ev.Payload) + ":" + idField(ev.Payload, "object_attributes", "iid")
		},
		version: timeField("object_attributes", "updated_at"),
		handle:  withSelector(g.handleIssue),
	}
}

func issueProject(p map[string]any) string {
	if id := idField(p, "object_attributes", "project_id"); id != "" {
		return id
	}
	return projectOf(p)
}

func (g *Integration) handleIssue(ctx context.Context, ev *ocean.Event, sel IssueSelector) (ocean.Changes, error) {
	pid := issueProject(ev.Payload)
	is, gone, err := g.listOne(ctx, "projects/"+pid+"/issues", idField(ev.Payload, "object_attributes", "iid"))
	switch {
	case err != nil:
		return ocean.Changes{}, err
	case gone:
		return remove(object(ev.Payload, "object_attributes")), nil
	case !issueSelected(sel, is, g.now()):
		return remove(is), nil
	}
	if sel.NonArchived {
		p, gone, err := g.getProject(ctx, pid)
		switch {
		case err != nil:
			return ocean.Changes{}, err
		case gone:
			return remove(is), nil
		case p["archived"] == true:
			return remove(is), nil
		}
	}
	return upsert(is), nil
}

// issueSelected applies the selector's filters the way GitLab's issue list
// applies the query parameters the resync sends, at time now.
func issueSelected(sel IssueSelector, is ocean.Item, now time.Time) bool {
	if sel.State != nil && str(is["state"]) != *sel.State {
		return false
	}
	if sel.IssueType != nil && !strings.EqualFold(str(is["issue_type"]), *sel.IssueType) {
		return false
	}
	if sel.Labels != nil && *sel.Labels != "" {
		have := map[string]bool{}
		if ls, ok := is["labels"].([]any); ok {
			for _, l := range ls {
				switch v := l.(type) {
				case string:
					have[strings.ToLower(v)] = true
				case map[string]any:
					have[strings.ToLower(str(v["name"]))] = true
				}
			}
		}
		for _, want := range strings.Split(*sel.Labels, ",") {
			if w := strings.ToLower(strings.TrimSpace(want)); w != "" && !have[w] {
				return false
			}
		}
	}
	if sel.UpdatedAfter != nil && !updatedWithin(is, *sel.UpdatedAfter, now) {
		return false
	}
	return true
}
