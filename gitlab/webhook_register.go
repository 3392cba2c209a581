package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"

	retryablehttp "github.com/hashicorp/go-retryablehttp"
	glapi "gitlab.com/gitlab-org/api/client-go/v2"
	"golang.org/x/sync/errgroup"

	"github.com/oceankit/oceankit/ocean"
)

// hookNamePrefix starts the name of every webhook oceankit manages.
const hookNamePrefix = "Port Ocean gitlab-v2"

// groupHookEvents are the events a group webhook subscribes to: exactly
// those the processors handle. The others are set false, so that a hook
// created by hand or by an older version is corrected.
var groupHookEvents = map[string]bool{
	"push_events": true, "tag_push_events": true, "merge_requests_events": true, "issues_events": true,
	"confidential_issues_events": true, "pipeline_events": true, "job_events": true, "deployment_events": true,
	"releases_events": true, "subgroup_events": true, "member_events": true, "project_events": true,
	"note_events": false, "confidential_note_events": false, "wiki_page_events": false,
	"feature_flag_events": false, "repository_update_events": false,
}

// projectHookEvents are the events of a personal project's hook. Merge
// requests and issues are left out: the resync lists them per group, so
// those of personal projects never enter the catalog (gitlab-v2 created
// them live, and its next resync deleted them).
var projectHookEvents = map[string]bool{
	"push_events": true, "tag_push_events": true, "pipeline_events": true, "job_events": true,
	"deployment_events": true, "releases_events": true,
	"merge_requests_events": false, "issues_events": false, "confidential_issues_events": false,
	"note_events": false, "confidential_note_events": false, "wiki_page_events": false,
	"feature_flag_events": false, "repository_update_events": false,
}

// ScopeError says the token lacks the scope webhooks need.
type ScopeError struct {
	Scopes []string
}

func (e *ScopeError) Error() string {
	return fmt.Sprintf("gitlab: the token's scopes (%s) do not include api, which managing webhooks needs", strings.Join(e.Scopes, ", "))
}

// HookReport says what RegisterWebhooks did.
type HookReport struct {
	// Owners counts the groups and projects that should have a hook.
	Owners int
	// Created, Updated and Deleted count hooks; Updated counts every hook
	// of ours that was found, since its secret is always re-set (GitLab
	// never returns a hook's token, so a changed secret cannot be seen).
	Created, Updated, Deleted int
	// Stale lists the owners ("groups/12", "projects/7") whose hook had a
	// different URL or event set.
	Stale []string
	// Forbidden lists the owners where the token may not manage hooks
	// (403, or 404 where group webhooks need a paid tier).
	Forbidden []string
	// Failed holds other failures by owner.
	Failed map[string]error
}

// RegisterWebhooks makes sure every top-level group the token owns (and
// every personal-namespace project it maintains) has exactly one webhook
// for this integration, pointing at url, with the configured secret and
// the events the processors handle. It is idempotent: a hook of ours is
// found by its URL, or by its name (which holds the integration
// identifier) when the URL changed, and updated in place; duplicates are
// deleted. Hooks of others are left alone.
func (g *Integration) RegisterWebhooks(ctx context.Context, hookURL string) (*HookReport, error) {
	if err := g.checkScopes(ctx); err != nil {
		return nil, err
	}
	owners, err := g.hookOwners(ctx)
	if err != nil {
		return nil, err
	}
	rep := &HookReport{Owners: len(owners), Failed: map[string]error{}}
	var mu sync.Mutex
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(g.fanout)
	for _, o := range owners {
		eg.Go(func() error {
			created, updated, deleted, stale, err := g.reconcileHook(ectx, o, hookURL)
			mu.Lock()
			defer mu.Unlock()
			switch s := StatusCode(err); {
			case err == nil:
			case ectx.Err() != nil:
				return ectx.Err()
			case s == http.StatusForbidden || s == http.StatusNotFound || s == http.StatusUnauthorized:
				rep.Forbidden = append(rep.Forbidden, o.path)
				return nil
			default:
				rep.Failed[o.path] = err
				return nil
			}
			rep.Created += created
			rep.Updated += updated
			rep.Deleted += deleted
			if stale {
				rep.Stale = append(rep.Stale, o.path)
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	sort.Strings(rep.Forbidden)
	sort.Strings(rep.Stale)
	return rep, nil
}

// checkScopes reads the token's scopes where GitLab tells them
// (personal, group and project access tokens); OAuth tokens and older
// instances do not, and are then tried as they are.
func (g *Integration) checkScopes(ctx context.Context) error {
	var tok struct {
		Scopes []string `json:"scopes"`
	}
	if err := g.client.Get(ctx, "personal_access_tokens/self", nil, &tok); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return nil
	}
	if tok.Scopes != nil && !slices.Contains(tok.Scopes, "api") {
		return &ScopeError{Scopes: tok.Scopes}
	}
	return nil
}

type hookOwner struct {
	path   string // "groups/12" or "projects/7"
	events map[string]bool
}

// hookOwners lists where hooks go, as gitlab-v2 places them: the topmost
// groups the token owns (a group hook covers its subgroups and their
// projects), and projects in personal namespaces the token maintains.
func (g *Integration) hookOwners(ctx context.Context) ([]hookOwner, error) {
	type ref struct{ id, parent string }
	var groups []ref
	owned := map[string]bool{}
	err := g.client.Pages(ctx, "groups", url.Values{"min_access_level": {"50"}, "order_by": {"id"}, "sort": {"asc"}}, func(page []ocean.Item) error {
		for _, grp := range dropPendingDeletion(page, "marked_for_deletion_on") {
			id := idString(grp["id"])
			if id == "" || owned[id] {
				continue
			}
			owned[id] = true
			groups = append(groups, ref{id: id, parent: idString(grp["parent_id"])})
		}
		return nil
	})
	switch {
	case StatusCode(err) == http.StatusForbidden && ctx.Err() == nil:
		// A token that may not list groups still gets its personal
		// projects' hooks.
		g.log.WarnContext(ctx, "gitlab: the token may not list groups (403), so no group webhook is registered; personal projects still get theirs")
		groups = nil
	case err != nil:
		return nil, fmt.Errorf("gitlab: list owned groups: %w", err)
	}
	var out []hookOwner
	for _, r := range groups {
		if r.parent == "" || !owned[r.parent] {
			out = append(out, hookOwner{path: "groups/" + r.id, events: groupHookEvents})
		}
	}
	err = g.client.Pages(ctx, "projects", url.Values{"min_access_level": {"40"}, "simple": {"true"}, "order_by": {"id"}, "sort": {"asc"}}, func(page []ocean.Item) error {
		for _, p := range page {
			if strField(p, "namespace", "kind") == "user" {
				out = append(out, hookOwner{path: "projects/" + idString(p["id"]), events: projectHookEvents})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("gitlab: list personal projects: %w", err)
	}
	return out, nil
}

// hookName is the name that marks a hook as this integration's.
func (g *Integration) hookName() string {
	if id := g.cfg.IntegrationIdentifier; id != "" {
		return hookNamePrefix + " (" + id + ")"
	}
	return hookNamePrefix
}

// reconcileHook creates or updates the owner's hook of ours, deleting
// duplicates.
func (g *Integration) reconcileHook(ctx context.Context, o hookOwner, hookURL string) (created, updated, deleted int, stale bool, err error) {
	var hooks []ocean.Item
	if err := g.client.Pages(ctx, o.path+"/hooks", nil, func(page []ocean.Item) error {
		hooks = append(hooks, page...)
		return nil
	}); err != nil {
		return 0, 0, 0, false, err
	}
	name := g.hookName()
	var ours []ocean.Item
	for _, h := range hooks {
		// A hook is ours by URL (gitlab-v2's rule, which also adopts the
		// hooks gitlab-v2 created) or, when the identifier is known, by
		// name: then a hook whose URL went stale is found too.
		if str(h["url"]) == hookURL || (g.cfg.IntegrationIdentifier != "" && str(h["name"]) == name) {
			ours = append(ours, h)
		}
	}
	body := map[string]any{
		"url": hookURL, "name": name, "token": g.cfg.WebhookSecret.Value(),
		"description":               "Live events for Port (oceankit). Managed by the integration: changes are overwritten at its next start.",
		"push_events_branch_filter": "",
	}
	for k, v := range o.events {
		body[k] = v
	}
	if len(ours) == 0 {
		if err := g.client.send(ctx, http.MethodPost, o.path+"/hooks", body, nil); err != nil {
			return 0, 0, 0, false, err
		}
		return 1, 0, 0, false, nil
	}
	// Keep the hook with the right URL if there is one.
	keep := 0
	for i, h := range ours {
		if str(h["url"]) == hookURL {
			keep = i
			break
		}
	}
	h := ours[keep]
	stale = str(h["url"]) != hookURL
	for k, v := range o.events {
		if b, _ := h[k].(bool); b != v {
			stale = true
		}
	}
	if err := g.client.send(ctx, http.MethodPut, o.path+"/hooks/"+idString(h["id"]), body, nil); err != nil {
		return 0, 0, 0, false, err
	}
	for i, d := range ours {
		if i == keep {
			continue
		}
		if err := g.client.send(ctx, http.MethodDelete, o.path+"/hooks/"+idString(d["id"]), nil, nil); err != nil && !IsNotFound(err) {
			return 0, 1, deleted, stale, err
		}
		deleted++
	}
	return 0, 1, deleted, stale, nil
}

// send issues a write request with a JSON body. Writes go through the
// same limiter and retries as reads; a retried POST may create a second
// hook, which the next reconciliation deletes.
func (c *Client) send(ctx context.Context, method, path string, body any, out any) error {
	build := func() (*retryablehttp.Request, error) {
		return c.gl.NewRequest(method, path, body, []glapi.RequestOptionFunc{glapi.WithContext(ctx)})
	}
	var decode func([]byte) error
	if out != nil {
		decode = func(b []byte) error { return json.Unmarshal(b, out) }
	}
	_, err := c.do(ctx, method, path, build, decode)
	if err != nil && errors.Is(err, context.Canceled) {
		return ctx.Err()
	}
	return err
}
