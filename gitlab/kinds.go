package gitlab

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"time"

	glapi "gitlab.com/gitlab-org/api/client-go/v2"
	"golang.org/x/sync/errgroup"

	"github.com/oceankit/oceankit/ocean"
)

// listProjects is the `project` kind: projects stream page by page; a
// page is enriched (GraphQL batches, REST searches) while the next one is
// being listed.
func (g *Integration) listProjects(ctx context.Context, sel ProjectSelector, send ocean.Sender) error {
	// Only this kind lists projects since the incremental window: the
	// kinds that fan out over projects (pipelines, tags…) see every
	// project.
	since, _ := ocean.Since(ctx)
	what := sel.enrichment()
	if what.empty() {
		return g.eachProjectPage(ctx, sel.IncludeOnlyActiveProjects, since, g.sentItems(ctx), func(page []ocean.Item) error {
			return send.Send(ctx, page)
		})
	}
	eg, ectx := errgroup.WithContext(ctx)
	if len(what.searches) > 0 {
		// The group searches depend on GitLab's version; ask for it while
		// the first page is listed rather than after.
		var version sync.WaitGroup
		version.Go(func() { g.client.serverVersion(ectx) })
		defer version.Wait()
	}
	// Two pages in enrichment at once keep the list and the enrichment
	// requests overlapping without holding more than a few pages.
	eg.SetLimit(2)
	listErr := g.eachProjectPage(ectx, sel.IncludeOnlyActiveProjects, since, g.sentItems(ectx, enrichReads), func(page []ocean.Item) error {
		eg.Go(func() error {
			if err := g.enrich.enrich(ectx, page, what); err != nil {
				return err
			}
			return send.Send(ectx, page)
		})
		return ectx.Err()
	})
	if err := eg.Wait(); err != nil {
		return err
	}
	return listErr
}

// listGroups is the `group` kind.
func (g *Integration) listGroups(ctx context.Context, sel GroupSelector, send ocean.Sender) error {
	return g.eachGroupPage(ctx, sel.IncludeOnlyActiveGroups, func(page []ocean.Item) error {
		return send.Send(ctx, page)
	})
}

var botUsername = regexp.MustCompile(`^(?:project|group)_\d+_bot_[a-f0-9]+$`)

// isBot follows gitlab-v2: the `bot` field when present, else the
// username pattern of access-token bots (members/all omits `bot`).
func isBot(m ocean.Item) bool {
	if b, ok := m["bot"].(bool); ok {
		return b
	}
	return botUsername.MatchString(str(m["username"]))
}

// memberSendingKinds are the kinds that send members as GitLab lists them;
// the ones that nest them (group-with-members, project-with-members) read
// memberRowReads.
var memberSendingKinds = []string{KindMember}

// isBotReads are the member keys isBot reads.
var isBotReads = []string{"bot", "username"}

// eachMemberPage lists the members of a group or project ("groups/1",
// "projects/2"), dropping bots unless asked to keep them. Within a resync
// they are decoded with what its kinds read of them (sharedItems).
func (g *Integration) eachMemberPage(ctx context.Context, owner string, inherited, bots bool, fn func([]ocean.Item) error) error {
	path := owner + "/members"
	if inherited {
		path += "/all"
	}
	// `member` and `group-with-members` both list every group's members:
	// within a resync the lists are fetched once and shared (read only),
	// the latest memberCacheLists of them at a time (see memberCache).
	cache, err := ocean.Memo(ctx, "gitlab:member-lists", func(context.Context) (*memberCache, error) {
		return newMemberCache(memberCacheLists), nil
	})
	if err != nil {
		return err
	}
	pages, err := cache.get(ctx, path, func(ctx context.Context) ([][]ocean.Item, error) {
		var pages [][]ocean.Item
		err := g.client.pages(ctx, path, nil, g.sharedItems(ctx, memberSendingKinds, memberRowReads, isBotReads), func(page []ocean.Item) error {
			pages = append(pages, page)
			return nil
		})
		return pages, err
	})
	if err != nil {
		return err
	}
	for _, page := range pages {
		out := make([]ocean.Item, 0, len(page))
		for _, m := range page {
			if bots || !isBot(m) {
				out = append(out, m)
			}
		}
		if len(out) == 0 {
			continue
		}
		if err := fn(out); err != nil {
			return err
		}
	}
	return nil
}

// memberRowReads are the member keys memberRows reads.
var memberRowReads = []string{"email", "username", "name", "access_level", "id"}

// memberRows builds gitlab-v2's __members rows; members lacking one of
// id, username, name or access_level are left out.
func (g *Integration) memberRows(ctx context.Context, owner string, inherited, bots bool) ([]any, error) {
	rows := []any{}
	err := g.eachMemberPage(ctx, owner, inherited, bots, func(page []ocean.Item) error {
		for _, m := range page {
			if m["id"] == nil || m["username"] == nil || m["name"] == nil || m["access_level"] == nil {
				g.log.WarnContext(ctx, "gitlab: skipping malformed member", "owner", owner, "id", m["id"])
				continue
			}
			rows = append(rows, map[string]any{
				"email": m["email"], "username": m["username"], "name": m["name"],
				"access_level": m["access_level"], "id": m["id"],
			})
		}
		return nil
	})
	return rows, err
}

// withMembers adds __members to every item of each page, fetching members
// of up to fanout owners at once, and sends the page when it is complete.
// An owner whose members answer 403 or 404 keeps an empty list, as in
// gitlab-v2: it was listed, so its entity must stay.
func (g *Integration) withMembers(ctx context.Context, send ocean.Sender, prefix string, inherited, bots bool, list func(context.Context, func([]ocean.Item) error) error) error {
	return list(ctx, func(page []ocean.Item) error {
		eg, ectx := errgroup.WithContext(ctx)
		eg.SetLimit(g.fanout)
		rows := make([][]any, len(page))
		for i, it := range page {
			eg.Go(func() error {
				r, err := g.memberRows(ectx, prefix+idString(it["id"]), inherited, bots)
				if err != nil {
					if isInaccessible(err) && ectx.Err() == nil {
						g.log.WarnContext(ectx, "gitlab: members unavailable", "owner", prefix+idString(it["id"]), "error", err)
						r = []any{}
					} else {
						return err
					}
				}
				rows[i] = r
				return nil
			})
		}
		if err := eg.Wait(); err != nil {
			return err
		}
		for i, it := range page {
			it["__members"] = rows[i]
		}
		return send.Send(ctx, page)
	})
}

// listGroupsWithMembers is the `group-with-members` kind.
func (g *Integration) listGroupsWithMembers(ctx context.Context, sel GroupMembersSelector, send ocean.Sender) error {
	return g.withMembers(ctx, send, "groups/", sel.IncludeInheritedMembers, sel.IncludeBotMembers, g.groupLister(sel.IncludeOnlyActiveGroups))
}

// listProjectsWithMembers is the `project-with-members` kind.
func (g *Integration) listProjectsWithMembers(ctx context.Context, sel ProjectMembersSelector, send ocean.Sender) error {
	return g.withMembers(ctx, send, "projects/", sel.IncludeInheritedMembers, sel.IncludeBotMembers, g.projectLister(sel.IncludeOnlyActiveProjects))
}

// listMembers is the `member` kind: the raw member objects of every group.
func (g *Integration) listMembers(ctx context.Context, sel GroupMembersSelector, send ocean.Sender) error {
	// The groups are only read (their ids): no copies of the shared
	// listing's items.
	return g.fanOut(ctx, "group", g.groupReader(sel.IncludeOnlyActiveGroups), func(ctx context.Context, grp ocean.Item) error {
		return g.eachMemberPage(ctx, "groups/"+idString(grp["id"]), sel.IncludeInheritedMembers, sel.IncludeBotMembers, func(page []ocean.Item) error {
			return send.Send(ctx, page)
		})
	}, nil)
}

// daysAgo renders now − days for GitLab's updated_after.
func daysAgo(now time.Time, days float64) string {
	return now.UTC().Add(-time.Duration(days * float64(24*time.Hour))).Format(time.RFC3339)
}

// forTopGroups runs fn for every top-level group, bounded.
func (g *Integration) forTopGroups(ctx context.Context, active *bool, fn func(context.Context, ocean.Item) error) error {
	roots, err := g.topLevelGroups(ctx, active)
	if err != nil {
		return err
	}
	list := func(_ context.Context, f func([]ocean.Item) error) error { return f(roots) }
	return g.fanOut(ctx, "group", list, fn, nil)
}

// listMergeRequests is the `merge-request` kind: per top-level group and
// state, GitLab's group merge requests (subgroups included).
func (g *Integration) listMergeRequests(ctx context.Context, sel MergeRequestSelector, send ocean.Sender) error {
	after := daysAgo(g.now(), sel.UpdatedAfter)
	since, incremental := ocean.Since(ctx)
	return g.forTopGroups(ctx, sel.IncludeOnlyActiveGroups, func(ctx context.Context, grp ocean.Item) error {
		for _, state := range sel.States {
			q := url.Values{"state": {state}}
			if state != "opened" {
				q.Set("updated_after", after)
			}
			if incremental {
				q.Set("updated_after", laterOf(q.Get("updated_after"), since))
			}
			if err := g.sendPages(ctx, send, "groups/"+idString(grp["id"])+"/merge_requests", q, nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// listIssues is the `issue` kind: per top-level group, GitLab's group
// issues (subgroups included).
func (g *Integration) listIssues(ctx context.Context, sel IssueSelector, send ocean.Sender) error {
	q := url.Values{"non_archived": {strconv.FormatBool(sel.NonArchived)}}
	if sel.IssueType != nil {
		q.Set("issue_type", *sel.IssueType)
	}
	if sel.Labels != nil && *sel.Labels != "" {
		q.Set("labels", *sel.Labels)
	}
	if sel.State != nil {
		q.Set("state", *sel.State)
	}
	if sel.UpdatedAfter != nil {
		q.Set("updated_after", daysAgo(g.now(), *sel.UpdatedAfter))
	}
	if since, ok := ocean.Since(ctx); ok {
		q.Set("updated_after", laterOf(q.Get("updated_after"), since))
	}
	return g.forTopGroups(ctx, sel.IncludeOnlyActiveGroups, func(ctx context.Context, grp ocean.Item) error {
		return g.sendPages(ctx, send, "groups/"+idString(grp["id"])+"/issues", q, nil)
	})
}

func paramValues(m map[string]string) url.Values {
	q := url.Values{}
	for k, v := range m {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// listPipelines is the `pipeline` kind, with __project.
func (g *Integration) listPipelines(ctx context.Context, sel PipelineSelector, send ocean.Sender) error {
	q := paramValues(sel.APIQueryParams.values())
	if since, ok := ocean.Since(ctx); ok {
		q.Set("updated_after", laterOf(q.Get("updated_after"), since))
	}
	return g.fanOut(ctx, "project", g.projectLister(sel.IncludeOnlyActiveProjects), func(ctx context.Context, p ocean.Item) error {
		return g.sendPages(ctx, send, "projects/"+projectRef(p)+"/pipelines", q, withProject(p))
	}, nil)
}

// listJobs is the `job` kind: for every pipeline the pipeline filters
// select, the first page (≤100) of its jobs, as gitlab-v2 lists them.
func (g *Integration) listJobs(ctx context.Context, sel JobSelector, send ocean.Sender) error {
	q := paramValues(sel.PipelineQueryParams.values())
	return g.fanOut(ctx, "project", g.projectLister(sel.IncludeOnlyActiveProjects), func(ctx context.Context, p ocean.Item) error {
		ref := projectRef(p)
		return g.client.Pages(ctx, "projects/"+ref+"/pipelines", q, func(pipelines []ocean.Item) error {
			eg, ectx := errgroup.WithContext(ctx)
			eg.SetLimit(4)
			for _, pl := range pipelines {
				eg.Go(func() error {
					var jobs []ocean.Item
					err := g.client.Get(ectx, "projects/"+ref+"/pipelines/"+idString(pl["id"])+"/jobs", url.Values{"per_page": {perPage}}, &jobs)
					if err != nil {
						if IsNotFound(err) && ectx.Err() == nil {
							return nil // the pipeline was deleted meanwhile
						}
						return err
					}
					if len(jobs) == 0 {
						return nil
					}
					return send.Send(ectx, jobs)
				})
			}
			return eg.Wait()
		})
	}, nil)
}

// listDeployments is the `deployment` kind, with the full project as
// __project. A project answering 400 (deployments unavailable or the
// filters refused) is skipped, as in gitlab-v2.
func (g *Integration) listDeployments(ctx context.Context, sel DeploymentSelector, send ocean.Sender) error {
	q := url.Values{}
	if p := sel.APIQueryParams; p != nil {
		q = paramValues(map[string]string{
			"environment": p.Environment, "status": p.Status,
			"updated_after": p.UpdatedAfter, "updated_before": p.UpdatedBefore,
			"finished_after": p.FinishedAfter, "finished_before": p.FinishedBefore,
		})
		if p.FinishedAfter != "" || p.FinishedBefore != "" {
			q.Set("order_by", "finished_at")
		}
	}
	skip400 := func(err error) bool { return StatusCode(err) == http.StatusBadRequest }
	return g.fanOut(ctx, "project", g.projectLister(sel.IncludeOnlyActiveProjects), func(ctx context.Context, p ocean.Item) error {
		return g.sendPages(ctx, send, "projects/"+projectRef(p)+"/deployments", q, func(it ocean.Item) {
			it["__project"] = cloneItem(p)
		})
	}, skip400)
}

// listReleases is the `release` kind, with __project.
func (g *Integration) listReleases(ctx context.Context, sel ProjectSelector, send ocean.Sender) error {
	return g.fanOut(ctx, "project", g.projectLister(sel.IncludeOnlyActiveProjects), func(ctx context.Context, p ocean.Item) error {
		return g.sendPages(ctx, send, "projects/"+projectRef(p)+"/releases", nil, withProject(p))
	}, nil)
}

// listTags is the `tag` kind, with __project.
func (g *Integration) listTags(ctx context.Context, sel ProjectSelector, send ocean.Sender) error {
	return g.fanOut(ctx, "project", g.projectLister(sel.IncludeOnlyActiveProjects), func(ctx context.Context, p ocean.Item) error {
		return g.sendPages(ctx, send, "projects/"+projectRef(p)+"/repository/tags", nil, withProject(p))
	}, nil)
}

// listBranches is the `branch` kind, with __project: each project's
// default branch, or its branches filtered by regex or search.
func (g *Integration) listBranches(ctx context.Context, sel BranchSelector, send ocean.Sender) error {
	q := url.Values{}
	if sel.Regex != nil && *sel.Regex != "" {
		q.Set("regex", *sel.Regex)
	} else if sel.Search != nil && *sel.Search != "" {
		q.Set("search", *sel.Search)
	}
	return g.fanOut(ctx, "project", g.projectLister(sel.IncludeOnlyActiveProjects), func(ctx context.Context, p ocean.Item) error {
		ref := projectRef(p)
		if !sel.DefaultBranchOnly {
			return g.sendPages(ctx, send, "projects/"+ref+"/repository/branches", q, withProject(p))
		}
		name := str(p["default_branch"])
		if name == "" {
			return nil // an empty repository has no branch
		}
		var b ocean.Item
		if err := g.client.Get(ctx, "projects/"+ref+"/repository/branches/"+glapi.PathEscape(name), nil, &b); err != nil {
			return err
		}
		if len(b) == 0 {
			return nil
		}
		withProject(p)(b)
		return send.Send(ctx, []ocean.Item{b})
	}, nil)
}

// memberCacheLists bounds how many groups' member lists a resync keeps.
const memberCacheLists = 1000

// memberCache shares member lists between the kinds of one resync that
// need them. `member` and `group-with-members` walk the groups in the same
// order at about the same pace, so a short window of recent lists saves
// the second fetch of each, while memory stays bounded whatever the number
// of groups (keeping every list until the resync ended made the sync's
// memory grow with the catalog). A list dropped before a kind reads it is
// fetched again.
type memberCache struct {
	mu    sync.Mutex
	limit int
	m     map[string]*memberList
	order []string // completed lists, oldest first
}

type memberList struct {
	done  chan struct{}
	pages [][]ocean.Item
	err   error
}

func newMemberCache(limit int) *memberCache {
	return &memberCache{limit: limit, m: map[string]*memberList{}}
}

// get returns the list of key, fetching it unless it is kept or being
// fetched. A failed fetch is not kept.
func (c *memberCache) get(ctx context.Context, key string, fetch func(context.Context) ([][]ocean.Item, error)) ([][]ocean.Item, error) {
	c.mu.Lock()
	if e, ok := c.m[key]; ok {
		c.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.err != nil && (errors.Is(e.err, context.Canceled) || errors.Is(e.err, context.DeadlineExceeded)) {
			// The fetching kind ended early: no reason for this one to.
			return fetch(ctx)
		}
		return e.pages, e.err
	}
	e := &memberList{done: make(chan struct{})}
	c.m[key] = e
	c.mu.Unlock()
	e.pages, e.err = fetch(ctx)
	c.mu.Lock()
	if e.err != nil {
		delete(c.m, key)
	} else {
		c.order = append(c.order, key)
		for len(c.order) > c.limit {
			delete(c.m, c.order[0])
			c.order = c.order[1:]
		}
	}
	c.mu.Unlock()
	close(e.done)
	return e.pages, e.err
}
