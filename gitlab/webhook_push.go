package gitlab

import (
	"context"
	"regexp"
	"slices"
	"strings"

	glapi "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/oceankit/oceankit/ocean"
)

// pushEvent is a branch push as the push processors read it. The content
// kinds (file, folder, skill, plugin) build on it: their processors are
// made with pushProcessor and get the parsed push.
type pushEvent struct {
	ProjectID     string
	Project       ocean.Item // the payload's project (path_with_namespace, default_branch, …)
	Branch        string
	DefaultBranch string
	Before, After string
	// Added, Modified and Removed are the paths of the payload's commits
	// (GitLab lists at most 20 commits; a processor needing exact changes
	// compares Before..After through the API).
	Added, Modified, Removed []string
}

// Created and Deleted report a push that creates or deletes the branch.
func (p pushEvent) Created() bool { return p.Before == zeroSHA }
func (p pushEvent) Deleted() bool { return p.After == zeroSHA }

// OnDefaultBranch reports a push to the project's default branch.
func (p pushEvent) OnDefaultBranch() bool {
	return p.DefaultBranch != "" && p.Branch == p.DefaultBranch
}

func parsePush(payload map[string]any) pushEvent {
	pe := pushEvent{
		ProjectID:     projectOf(payload),
		Project:       eventProject(payload),
		Branch:        strings.TrimPrefix(strField(payload, "ref"), "refs/heads/"),
		DefaultBranch: strField(payload, "project", "default_branch"),
		Before:        strField(payload, "before"),
		After:         strField(payload, "after"),
	}
	commits, _ := payload["commits"].([]any)
	for _, c := range commits {
		cm, _ := c.(map[string]any)
		for k, dst := range map[string]*[]string{"added": &pe.Added, "modified": &pe.Modified, "removed": &pe.Removed} {
			paths, _ := cm[k].([]any)
			for _, p := range paths {
				if s, ok := p.(string); ok && !slices.Contains(*dst, s) {
					*dst = append(*dst, s)
				}
			}
		}
	}
	return pe
}

func isBranchPush(payload map[string]any) bool {
	return strings.HasPrefix(strField(payload, "ref"), "refs/heads/")
}

// pushProcessor builds a processor for branch pushes that writes kind.
// Its key is the project and branch, so pushes to one branch are applied
// in order and a burst collapses into its newest push.
func pushProcessor[S any](a *hookAuth, name, kind string, handle func(ctx context.Context, push pushEvent, sel S) (ocean.Changes, error)) *hookProcessor {
	return &hookProcessor{
		name: name, kind: kind, auth: a,
		headers: []string{hookPush}, events: []string{"push"}, when: isBranchPush,
		validate: validateProjectID("push"),
		key: func(ev *ocean.Event) string {
			return projectOf(ev.Payload) + ":" + strings.TrimPrefix(strField(ev.Payload, "ref"), "refs/heads/")
		},
		handle: withSelector(func(ctx context.Context, ev *ocean.Event, sel S) (ocean.Changes, error) {
			return handle(ctx, parsePush(ev.Payload), sel)
		}),
	}
}

// --- branch ---

func (g *Integration) branchProcessor(a *hookAuth) *hookProcessor {
	return pushProcessor(a, "gitlab-branch", KindBranch, g.handleBranch)
}

func (g *Integration) handleBranch(ctx context.Context, push pushEvent, sel BranchSelector) (ocean.Changes, error) {
	stub := ocean.Item{"name": push.Branch}
	withProject(push.Project)(stub)
	if push.Deleted() {
		return remove(stub), nil
	}
	if !branchSelected(sel, push.Branch, push.DefaultBranch) {
		// Branch names do not change, so an unselected branch was never
		// written: nothing to do.
		return ocean.Changes{}, nil
	}
	if ok, err := g.projectGate(ctx, push.ProjectID, sel.IncludeOnlyActiveProjects); err != nil || !ok {
		return remove(stub), err
	}
	b, gone, err := g.getItem(ctx, "projects/"+push.ProjectID+"/repository/branches/"+glapi.PathEscape(push.Branch), nil)
	switch {
	case err != nil:
		return ocean.Changes{}, err
	case gone:
		return remove(stub), nil
	}
	withProject(push.Project)(b)
	return upsert(b), nil
}

// branchSelected applies the branch selector to a name as the resync's
// listing does: the default branch only, else GitLab's RE2 regex (an
// unanchored match, like Go's), else GitLab's search (case-insensitive
// substring; ^ anchors at the start, $ at the end).
func branchSelected(sel BranchSelector, name, defaultBranch string) bool {
	if sel.DefaultBranchOnly {
		return name == defaultBranch
	}
	if sel.Regex != nil && *sel.Regex != "" {
		re, err := regexp.Compile(*sel.Regex)
		return err == nil && re.MatchString(name)
	}
	if sel.Search != nil && *sel.Search != "" {
		return gitlabSearchMatch(name, *sel.Search)
	}
	return true
}

func gitlabSearchMatch(name, term string) bool {
	n, t := strings.ToLower(name), strings.ToLower(term)
	prefix, suffix := strings.HasPrefix(t, "^"), strings.HasSuffix(t, "$")
	t = strings.TrimSuffix(strings.TrimPrefix(t, "^"), "$")
	switch {
	case prefix && suffix:
		return n == t
	case prefix:
		return strings.HasPrefix(n, t)
	case suffix:
		return strings.HasSuffix(n, t)
	}
	return strings.Contains(n, t)
}
