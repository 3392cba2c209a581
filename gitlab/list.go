package gitlab

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/oceankit/oceankit/internal/jsonproj"
	"github.com/oceankit/oceankit/ocean"
)

// visibilityParams adds min_access_level as gitlab-v2 does on every group
// and project listing.
func (g *Integration) visibilityParams(ctx context.Context, q url.Values) {
	v := g.visibilityFor(ctx)
	if v.UseMinAccessLevel {
		q.Set("min_access_level", strconv.Itoa(v.MinAccessLevel))
	}
}

func setActive(q url.Values, active *bool) {
	if active != nil {
		q.Set("active", strconv.FormatBool(*active))
	}
}

// eachProjectPage streams the projects the token may list, 100 at a time,
// with keyset pagination (offset pagination stops at 50,000 projects and
// skips or repeats projects created during a long listing). Projects
// pending deletion are dropped, as in gitlab-v2; that needs the full
// representation (simple=true leaves marked_for_deletion_at out).
//
// Past the first page the listing runs from both ends at once (see
// keysetBothEnds), so pages come in no particular order; fn is never
// called concurrently.
//
// A non-zero since lists only the projects active since then (the project
// kind's incremental window). proj projects the items (nil: whole); the
// keys this listing reads itself are added to it.
func (g *Integration) eachProjectPage(ctx context.Context, active *bool, since time.Time, proj projection, fn func([]ocean.Item) error) error {
	q := url.Values{"pagination": {"keyset"}, "order_by": {"id"}, "sort": {"asc"}}
	g.visibilityParams(ctx, q)
	setActive(q, active)
	if !since.IsZero() {
		q.Set("last_activity_after", since.UTC().Format(time.RFC3339))
	}
	if proj != nil {
		inner := proj
		proj = func() *jsonproj.Keys {
			k := inner()
			if k == nil {
				return nil
			}
			return k.With(concatReads(keysetReads, projectPendingDeletionReads)...)
		}
	}
	return listForbidden("projects", g.client.keysetBothEnds(ctx, "projects", q, proj, func(page []ocean.Item) error {
		page = dropPendingDeletion(page, projectPendingDeletion)
		if len(page) == 0 {
			return nil
		}
		return fn(page)
	}))
}

// eachGroupPage streams the groups the token may list (subgroups
// included). Within a resync the kinds that need groups (group,
// group-with-members, member, merge-request…) share one listing: each
// reads it from the start, with its own copies of the items.
func (g *Integration) eachGroupPage(ctx context.Context, active *bool, fn func([]ocean.Item) error) error {
	return g.groupPages(ctx, active, true, fn)
}

// groupPages is eachGroupPage; clone false is for readers that only read
// the items and never send or change them.
func (g *Integration) groupPages(ctx context.Context, active *bool, clone bool, fn func([]ocean.Item) error) error {
	base := url.Values{"all_available": {"true"}}
	g.visibilityParams(ctx, base)
	setActive(base, active)
	list := func(ctx context.Context, fn func([]ocean.Item) error) error {
		return g.listGroupPages(ctx, base, fn)
	}
	if !ocean.Memoized(ctx) {
		return list(ctx, fn)
	}
	shared, err := ocean.Memo(ctx, "gitlab:groups:"+base.Encode(), func(ctx context.Context) (*sharedList, error) {
		return startSharedList(ctx, sharedListCap, list), nil
	})
	if err != nil {
		return err
	}
	return shared.read(ctx, clone, list, fn)
}

// groupSendingKinds are the kinds that send the groups of the listing as
// GitLab lists them; the others read only groupListReads.
var groupSendingKinds = []string{KindGroup, KindGroupWithMembers}

// groupListReads are the group keys this package reads from the listing:
// ids (every reader), parents (topLevelGroups), deletion (the listing
// itself) and what fanOut logs.
var groupListReads = []string{"id", "parent_id", groupPendingDeletion, "path_with_namespace"}

// listGroupPages lists groups with the base query. Keyset pagination is
// tried once per client and kept when GitLab accepts it for this token;
// otherwise offset pagination ordered by id. Within a resync the groups
// are decoded with what its kinds read of them (sharedItems).
func (g *Integration) listGroupPages(ctx context.Context, base url.Values, fn func([]ocean.Item) error) error {
	proj := g.sharedItems(ctx, groupSendingKinds, groupListReads)
	wrap := func(page []ocean.Item) error {
		page = dropPendingDeletion(page, groupPendingDeletion)
		if len(page) == 0 {
			return nil
		}
		return fn(page)
	}
	if g.client.groupsKeyset.Load() != 2 {
		q := cloneValues(base)
		q.Set("pagination", "keyset")
		q.Set("order_by", "name")
		q.Set("sort", "asc")
		started := false
		err := g.client.pages(ctx, "groups", q, proj, func(page []ocean.Item) error {
			started = true
			g.client.groupsKeyset.Store(1)
			return wrap(page)
		})
		s := StatusCode(err)
		if started || (s != http.StatusMethodNotAllowed && s != http.StatusBadRequest) {
			return listForbidden("groups", err)
		}
		g.client.groupsKeyset.Store(2)
	}
	q := cloneValues(base)
	q.Set("order_by", "id")
	q.Set("sort", "asc")
	return listForbidden("groups", g.client.pages(ctx, "groups", q, proj, wrap))
}

// ListForbiddenError is GitLab's 403 on a top-level listing (GET /groups,
// GET /projects): the token may not list them at all (it lacks the read_api
// scope, or an administrator restricted it). The kinds built on that
// listing fail, so that their entities are kept rather than deleted as
// stale, while the other kinds sync: a token that cannot list groups still
// syncs its projects. A 403 or 404 on one group's or project's resources is
// not this error: that group or project is skipped, as gitlab-v2 does.
type ListForbiddenError struct {
	// List is "groups" or "projects".
	List string
	Err  error
}

func (e *ListForbiddenError) Error() string {
	return fmt.Sprintf("gitlab: the token may not list %s (403; a token needs the read_api or api scope): the kinds built on them sync nothing this time and keep their entities, the others carry on: %v", e.List, e.Err)
}

func (e *ListForbiddenError) Unwrap() error { return e.Err }

// listForbidden wraps a 403 on a top-level listing.
func listForbidden(list string, err error) error {
	if err != nil && StatusCode(err) == http.StatusForbidden {
		return &ListForbiddenError{List: list, Err: err}
	}
	return err
}

// The keys dropPendingDeletion reads, for projects and for groups.
const (
	projectPendingDeletion = "marked_for_deletion_at"
	groupPendingDeletion   = "marked_for_deletion_on"
)

// projectPendingDeletionReads are the keys a project listing reads to
// drop projects pending deletion.
var projectPendingDeletionReads = []string{projectPendingDeletion}

func dropPendingDeletion(page []ocean.Item, field string) []ocean.Item {
	out := page[:0]
	for _, it := range page {
		if v, ok := it[field]; ok && v != nil && v != "" {
			continue
		}
		out = append(out, it)
	}
	return out
}

// fanOut runs fn for every item of the pages that list produces, at most
// limit at a time, while list keeps listing (its fn blocks when all
// workers are busy, which is the back-pressure). An item whose fn fails
// with 403 or 404 (deleted, or no access) is logged and skipped; skip can
// widen that.
func (g *Integration) fanOut(ctx context.Context, what string, list func(context.Context, func([]ocean.Item) error) error, fn func(context.Context, ocean.Item) error, skip func(error) bool) error {
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(g.fanout)
	listErr := list(ectx, func(page []ocean.Item) error {
		for _, it := range page {
			if ectx.Err() != nil {
				return ectx.Err()
			}
			eg.Go(func() error {
				err := fn(ectx, it)
				if err != nil && ectx.Err() == nil && (isInaccessible(err) || (skip != nil && skip(err))) {
					g.log.WarnContext(ectx, "gitlab: skipping "+what, what, it["path_with_namespace"], "id", it["id"], "error", err)
					return nil
				}
				return err
			})
		}
		return nil
	})
	if err := eg.Wait(); err != nil {
		return err
	}
	if listErr != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return listErr
}

func (g *Integration) projectLister(active *bool) func(context.Context, func([]ocean.Item) error) error {
	return func(ctx context.Context, fn func([]ocean.Item) error) error {
		// Whole: the per-project kinds nest the project as __project.
		return g.eachProjectPage(ctx, active, time.Time{}, nil, fn)
	}
}

func (g *Integration) groupLister(active *bool) func(context.Context, func([]ocean.Item) error) error {
	return func(ctx context.Context, fn func([]ocean.Item) error) error {
		return g.eachGroupPage(ctx, active, fn)
	}
}

// groupReader is groupLister for readers that never change or send the
// groups (see groupPages).
func (g *Integration) groupReader(active *bool) func(context.Context, func([]ocean.Item) error) error {
	return func(ctx context.Context, fn func([]ocean.Item) error) error {
		return g.groupPages(ctx, active, false, fn)
	}
}

// topLevelGroups returns the ids of the topmost groups the token lists:
// those without a parent, or whose parent it cannot list. Group-level
// merge request and issue lists include subgroups, so fetching them per
// top-level group covers every group once (gitlab-v2 walks every group and
// fetches nested items once per ancestor). Only ids are kept in memory.
func (g *Integration) topLevelGroups(ctx context.Context, active *bool) ([]ocean.Item, error) {
	type ref struct {
		id     string
		parent string
	}
	var all []ref
	seen := map[string]bool{}
	err := g.groupPages(ctx, active, false, func(page []ocean.Item) error {
		for _, grp := range page {
			id := idString(grp["id"])
			if id == "" || seen[id] {
				continue
			}
			seen[id] = true
			all = append(all, ref{id: id, parent: idString(grp["parent_id"])})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var roots []ocean.Item
	for _, r := range all {
		if r.parent == "" || !seen[r.parent] {
			roots = append(roots, ocean.Item{"id": r.id})
		}
	}
	return roots, nil
}

// sendPages lists path and sends every page, after decorate. The items
// are sent as GitLab lists them (decorate only adds keys), so they are
// decoded with the keys the resync reads (sentItems).
func (g *Integration) sendPages(ctx context.Context, send ocean.Sender, path string, q url.Values, decorate func(ocean.Item)) error {
	return g.client.pages(ctx, path, q, g.sentItems(ctx), func(page []ocean.Item) error {
		if decorate != nil {
			for _, it := range page {
				decorate(it)
			}
		}
		return send.Send(ctx, page)
	})
}

// visibilityFor returns the visibility block of the port app config the
// resync or live event runs with, falling back to the configured one. The
// block is gitlab-v2's top-level `visibility`; a malformed one is ignored
// with the configured value kept (the mapping's own validation has passed
// by then, so this only happens with a hand-built config).
func (g *Integration) visibilityFor(ctx context.Context) Visibility {
	v := g.Visibility()
	if pac := ocean.PortAppConfigFrom(ctx); pac != nil {
		var raw struct {
			UseMinAccessLevel *bool `json:"useMinAccessLevel"`
			MinAccessLevel    *int  `json:"minAccessLevel"`
		}
		if ok, err := pac.DecodeExtra("visibility", &raw); ok && err == nil {
			if raw.UseMinAccessLevel != nil {
				v.UseMinAccessLevel = *raw.UseMinAccessLevel
			}
			if raw.MinAccessLevel != nil {
				v.MinAccessLevel = *raw.MinAccessLevel
			}
		}
	}
	return v
}

// laterOf returns the later of a GitLab timestamp parameter and since, so
// that an incremental window never widens a selector's own window.
func laterOf(param string, since time.Time) string {
	if param != "" {
		if t, err := time.Parse(time.RFC3339, param); err == nil && t.After(since) {
			return param
		}
	}
	return since.UTC().Format(time.RFC3339)
}

// EachProject streams, 100 at a time, the projects the provider syncs:
// the ones the token may list within the port app config's visibility
// block (read from the resync's context), without projects pending
// deletion, through keyset pagination. Custom GitLab kinds that work per
// project start from it, so they see the same projects as `project`.
// Pages come in no particular order (the listing walks from both ends of
// the id range at once); fn is never called concurrently.
func (g *Integration) EachProject(ctx context.Context, fn func(page []ocean.Item) error) error {
	return g.eachProjectPage(ctx, nil, time.Time{}, nil, fn)
}
