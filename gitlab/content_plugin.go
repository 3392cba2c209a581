package gitlab

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/oceankit/oceankit/ocean"
)

// pluginManifests are the manifest files of each provider.
var pluginManifests = map[string][]string{
	"claude":      {".claude-plugin/plugin.json", ".claude-plugin/marketplace.json"},
	"cursor":      {".cursor-plugin/plugin.json"},
	"codex":       {".codex-plugin/plugin.json"},
	"agents":      {".agents/plugins/marketplace.json"},
	"kimi":        {".kimi-plugin/plugin.json"},
	"antigravity": {"gemini-extension.json"},
}

// pluginDirs are the providers packaged as a directory of files.
var pluginDirs = map[string]string{
	"opencode": ".opencode/plugins",
	"pi":       ".pi/extensions",
}

// listPlugins is the `plugin` kind: per project, the agent plugin
// manifests of the selected providers, merged into one gitlab-v2 plugin
// item ({plugin, repo, __branch}). Manifests are read for a whole page of
// projects per GraphQL batch (a missing one is simply not returned);
// directory-only providers need a tree listing.
func (g *Integration) listPlugins(ctx context.Context, sel PluginSelector, send ocean.Sender) error {
	providers := sel.Providers
	if len(providers) == 0 {
		return nil
	}
	r := g.newContentRun(0)
	var manifests []string
	var dirs []walk
	for _, pv := range providers {
		manifests = append(manifests, pluginManifests[pv]...)
		if d, ok := pluginDirs[pv]; ok {
			dirs = append(dirs, walk{dir: d})
		}
	}
	return r.projectsFor(ctx, sel.Repos, sel.IncludeOnlyActiveGroups, func(page []ocean.Item) error {
		items, err := r.pagePlugins(ctx, page, providers, manifests, dirs)
		if err != nil || len(items) == 0 {
			return err
		}
		return send.Send(ctx, items)
	})
}

func (r *contentRun) pagePlugins(ctx context.Context, page []ocean.Item, providers, manifests []string, dirs []walk) ([]ocean.Item, error) {
	var reqs []blobReq
	projects := page[:0:0]
	for _, p := range page {
		ref := refFor(p)
		if ref == "" {
			continue
		}
		projects = append(projects, p)
		for _, m := range manifests {
			reqs = append(reqs, blobReq{proj: p, ref: ref, path: m})
		}
	}
	detected := make([]map[string]bool, len(projects))
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(r.g.fanout)
	var data map[blobKey]*blobData
	eg.Go(func() error {
		var err error
		data, err = r.fetchBlobs(ectx, reqs)
		return err
	})
	if len(dirs) > 0 {
		var mu sync.Mutex
		for i, p := range projects {
			eg.Go(func() error {
				d, err := r.pluginDirs(ectx, p, refFor(p), dirs)
				if err != nil {
					if isInaccessible(err) && ectx.Err() == nil {
						return nil
					}
					return err
				}
				mu.Lock()
				detected[i] = d
				mu.Unlock()
				return nil
			})
		}
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	var items []ocean.Item
	for i, p := range projects {
		ref := refFor(p)
		found := map[string]map[string]any{}
		for _, m := range manifests {
			q := blobReq{proj: p, ref: ref, path: m}
			d := data[q.key()]
			if d == nil || d.status == blobMissing || !r.usable(ctx, q, d) {
				continue
			}
			var v any
			if err := json.Unmarshal([]byte(d.text), &v); err != nil {
				r.g.log.WarnContext(ctx, "gitlab: invalid plugin manifest JSON", "project", p["path_with_namespace"], "path", m, "error", err)
				continue
			}
			if obj, ok := v.(map[string]any); ok {
				found[m] = obj
			}
		}
		plugin := normalizePlugin(p, found, providers, detected[i])
		if plugin == nil {
			continue
		}
		items = append(items, ocean.Item{"plugin": plugin, "repo": p, "__branch": ref})
	}
	return items, nil
}

// pluginDirs reports the directory-only providers with a file directly
// under their directory.
func (r *contentRun) pluginDirs(ctx context.Context, p ocean.Item, ref string, dirs []walk) (map[string]bool, error) {
	ws, err := r.pruneWalks(ctx, p, ref, slices.Clone(dirs), false)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, w := range ws {
		err := r.listTree(ctx, p, ref, w, func(page []treeEntry) error {
			for _, e := range page {
				if str(e["type"]) == "blob" {
					for pv, d := range pluginDirs {
						if strings.HasPrefix(str(e["path"]), d+"/") {
							out[pv] = true
						}
					}
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func firstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := m[k].(string); ok && strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// normalizePlugin merges a project's manifests as gitlab-v2 does: fields
// by provider precedence (cursor, claude, codex, kimi, antigravity,
// agents), `supports` per provider, and each provider's manifest (or
// {detected: true} for directory providers). Nil when nothing is
// supported.
func normalizePlugin(repo ocean.Item, mf map[string]map[string]any, providers []string, dirs map[string]bool) map[string]any {
	get := func(p string) map[string]any {
		if m := mf[p]; m != nil {
			return m
		}
		return map[string]any{}
	}
	claude, claudeMkt := get(".claude-plugin/plugin.json"), get(".claude-plugin/marketplace.json")
	cursor, codex := get(".cursor-plugin/plugin.json"), get(".codex-plugin/plugin.json")
	agentsMkt, kimi := get(".agents/plugins/marketplace.json"), get(".kimi-plugin/plugin.json")
	anti := get("gemini-extension.json")
	has := func(p string) bool { return slices.Contains(providers, p) }
	supports := map[string]any{
		"claude":      (len(claude) > 0 || len(claudeMkt) > 0) && has("claude"),
		"cursor":      len(cursor) > 0 && has("cursor"),
		"codex":       len(codex) > 0 && has("codex"),
		"agents":      len(agentsMkt) > 0 && has("agents"),
		"kimi":        len(kimi) > 0 && has("kimi"),
		"opencode":    dirs["opencode"] && has("opencode"),
		"pi":          dirs["pi"] && has("pi"),
		"antigravity": len(anti) > 0 && has("antigravity"),
	}
	supported := false
	for _, v := range supports {
		supported = supported || v.(bool)
	}
	if !supported {
		return nil
	}
	if list, ok := claudeMkt["plugins"].([]any); ok && len(list) > 0 {
		if first, ok := list[0].(map[string]any); ok && len(claude) == 0 {
			claude = first
		}
	}
	agentsName := ""
	if list, ok := agentsMkt["plugins"].([]any); ok && len(list) > 0 {
		if first, ok := list[0].(map[string]any); ok {
			agentsName = firstString(first, "name")
		}
	}
	agentsDisplay := ""
	if iface, ok := agentsMkt["interface"].(map[string]any); ok {
		agentsDisplay = firstString(iface, "displayName", "display_name")
	}
	claudeName := firstString(claude, "name")
	repoName := firstString(repo, "name", "path")
	name := firstOf(firstString(cursor, "name"), claudeName, firstString(codex, "name"), firstString(kimi, "name"),
		firstString(anti, "name"), agentsName, repoName)
	field := func(k string, ms ...map[string]any) string {
		for _, m := range ms {
			if s := firstString(m, k); s != "" {
				return s
			}
		}
		return ""
	}
	out := map[string]any{
		"name":        name,
		"displayName": firstOf(firstString(cursor, "displayName", "display_name"), agentsDisplay, name),
		"description": field("description", cursor, claude, codex, kimi, anti, claudeMkt),
		"version":     orNil(field("version", cursor, claude, codex, kimi, anti)),
		"supports":    supports,
	}
	pick := func(pv string, m map[string]any) map[string]any {
		if supports[pv].(bool) {
			return m
		}
		return map[string]any{}
	}
	if supports["claude"].(bool) {
		c := cloneItem(claude)
		c["name"] = firstOf(claudeName, name)
		c["marketplaceName"] = orNil(firstString(claudeMkt, "name"))
		out["claude"] = c
	} else {
		out["claude"] = map[string]any{}
	}
	if supports["agents"].(bool) {
		a := cloneItem(agentsMkt)
		a["name"] = firstOf(agentsName, name)
		a["marketplaceName"] = orNil(firstString(agentsMkt, "name"))
		out["agents"] = a
	} else {
		out["agents"] = map[string]any{}
	}
	out["cursor"] = pick("cursor", cursor)
	out["codex"] = pick("codex", codex)
	out["kimi"] = pick("kimi", kimi)
	out["antigravity"] = pick("antigravity", anti)
	detected := map[string]any{"detected": true}
	out["opencode"] = pick("opencode", cloneItem(detected))
	out["pi"] = pick("pi", cloneItem(detected))
	return out
}
