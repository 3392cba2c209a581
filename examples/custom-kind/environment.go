package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"testing/fstest"

	"golang.org/x/sync/errgroup"

	"github.com/oceankit/oceankit/gitlab"
	"github.com/oceankit/oceankit/ocean"
)

// environmentSelector is what a user writes under `selector:` for the
// environment kind. Embedding BaseSelector keeps `query` next to our fields.
type environmentSelector struct {
	ocean.BaseSelector
	// States are the environment states to sync: available, stopping,
	// stopped. GitLab filters by one state per request.
	States []string `json:"states"`
	// Projects limits the sync to these projects (full paths); empty means
	// every project the GitLab provider syncs as a service.
	Projects []string `json:"projects"`
}

// Default runs before the user's selector is decoded over it, so a
// resource that says nothing about states syncs live environments only.
func (s *environmentSelector) Default() { s.States = []string{"available"} }

// Validate runs after decoding: a typo stops the resync with a message that
// names it, instead of silently syncing nothing.
func (s *environmentSelector) Validate() error {
	for _, st := range s.States {
		if st != "available" && st != "stopping" && st != "stopped" {
			return fmt.Errorf("states: unknown state %q (want available, stopping or stopped)", st)
		}
	}
	return nil
}

// environmentKind lists GitLab environments with the GitLab provider's own
// client, so it shares its auth, rate limits, retries and pagination.
func environmentKind(g *gitlab.Integration) ocean.Kind {
	c := g.Client()
	return ocean.NewKind("environment", func(ctx context.Context, sel environmentSelector, send ocean.Sender) error {
		// A few projects at a time: Send is safe for concurrent use.
		eg, ctx := errgroup.WithContext(ctx)
		eg.SetLimit(4)
		each := func(ref string, project ocean.Item) {
			eg.Go(func() error { return sendEnvironments(ctx, c, ref, project, sel.States, send) })
		}
		var listErr error
		if len(sel.Projects) > 0 {
			for _, path := range sel.Projects {
				each(url.PathEscape(path), ocean.Item{"path_with_namespace": path})
			}
		} else {
			q := url.Values{"pagination": {"keyset"}, "order_by": {"id"}, "sort": {"asc"}}
			if v := g.Visibility(); v.UseMinAccessLevel {
				q.Set("min_access_level", strconv.Itoa(v.MinAccessLevel))
			}
			listErr = c.Pages(ctx, "projects", q, func(page []ocean.Item) error {
				for _, p := range page {
					// The project kind drops projects pending deletion; an
					// environment of one would relate to no service.
					if id, ok := p["id"].(float64); ok && p["marked_for_deletion_at"] == nil {
						each(strconv.FormatInt(int64(id), 10), p)
					}
				}
				return nil
			})
		}
		if err := eg.Wait(); err != nil {
			return err
		}
		return listErr
	})
}

// sendEnvironments sends one project's environments in the given states,
// each with `__project` (GitLab's convention for what the item belongs to)
// so that the mapping can relate it to the project's service.
func sendEnvironments(ctx context.Context, c *gitlab.Client, ref string, project ocean.Item, states []string, send ocean.Sender) error {
	for _, state := range states {
		err := c.Pages(ctx, "projects/"+ref+"/environments", url.Values{"states": {state}}, func(page []ocean.Item) error {
			for _, env := range page {
				env["__project"] = map[string]any{"id": project["id"], "path_with_namespace": project["path_with_namespace"]}
			}
			return send.Send(ctx, page)
		})
		// A project without access to environments is skipped: failing the
		// kind would keep every stale environment from being deleted.
		if s := gitlab.StatusCode(err); s == http.StatusForbidden || s == http.StatusNotFound {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// mergeDefaults returns base's default blueprints and port app config with
// extra's appended, so that a first run (initializePortResources) creates
// the new kind's blueprint and resource next to the built-in ones.
// Only blueprints and the mapping are merged: GitLab's defaults have no
// actions, scorecards or pages.
func mergeDefaults(base, extra fs.FS) (fs.FS, error) {
	b, err := ocean.LoadDefaults(base)
	if err != nil {
		return nil, err
	}
	e, err := ocean.LoadDefaults(extra)
	if err != nil {
		return nil, err
	}
	var pac, more map[string]any
	if err := json.Unmarshal(b.PortAppConfig, &pac); err != nil {
		return nil, fmt.Errorf("base port app config: %w", err)
	}
	if err := json.Unmarshal(e.PortAppConfig, &more); err != nil {
		return nil, fmt.Errorf("extra port app config: %w", err)
	}
	if pac == nil {
		pac = map[string]any{}
	}
	res, _ := pac["resources"].([]any)
	add, _ := more["resources"].([]any)
	pac["resources"] = append(res, add...)
	bps, err := json.Marshal(append(b.Blueprints, e.Blueprints...))
	if err != nil {
		return nil, err
	}
	mapping, err := json.Marshal(pac)
	if err != nil {
		return nil, err
	}
	return fstest.MapFS{
		"blueprints.json":      {Data: bps},
		"port-app-config.json": {Data: mapping},
	}, nil
}
