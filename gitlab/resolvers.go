package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	glapi "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/oceankit/oceankit/mapping"
)

// Prefixes of gitlab-v2's deprecated mapping values: a property written
// "file://README.md" or "search://scope=blobs && query=filename:port.yml"
// is not jq but computed by the provider (see Integration.Resolvers).
const (
	FileValuePrefix   = "file://"
	SearchValuePrefix = "search://"
)

// searchValueInFlight is how many search:// values are resolved at once,
// as gitlab-v2 does (it also holds them to 2 a second); GitLab's search
// endpoint limits (Config.EndpointLimits) apply on top.
const searchValueInFlight = 2

// resolverState is what the deprecated-value resolvers keep: the values
// already warned about, and the search slots.
type resolverState struct {
	warned   sync.Map // mapping value → struct{}
	searches chan struct{}
}

// ErrValueForm is wrapped by the error of a file:// or search:// value
// that cannot be computed for an item (no project path, a malformed
// search string): fixing the mapping, not retrying, helps.
var ErrValueForm = errors.New("gitlab: deprecated mapping value")

// Resolvers returns the computations of gitlab-v2's deprecated mapping
// values, by prefix, in the framework's form (ocean.Provider.Resolvers):
//
//   - "file://<path>": the text of the file at <path> (from the repository
//     root) on the item's project's default branch — the project is
//     .path_with_namespace, else .repo.path_with_namespace, the branch
//     .default_branch, else .repo.default_branch; null when the file does
//     not exist. Files over maxFileSize and binary files are errors.
//   - "search://scope=<scope> && query=<query>": whether GitLab's search
//     of the item's project (.path_with_namespace) in that scope finds
//     anything (a boolean). Two run at a time.
//
// Both make one request per entity and field, and log once per distinct
// value the selector option that does the same in batches: includedFiles
// and searchQueries.
func (g *Integration) Resolvers() map[string]mapping.Resolver {
	return map[string]mapping.Resolver{
		FileValuePrefix:   g.resolveFile,
		SearchValuePrefix: g.resolveSearch,
	}
}

// warnDeprecated logs, once per value, that a deprecated form is in use.
func (g *Integration) warnDeprecated(ctx context.Context, text, instead string) {
	if _, seen := g.resolve.warned.LoadOrStore(text, struct{}{}); seen {
		return
	}
	g.log.WarnContext(ctx, "gitlab: a mapping value uses gitlab-v2's deprecated "+strings.SplitAfter(text, "://")[0]+" form; it works, with one GitLab request per entity, but "+instead,
		"value", text)
}

// itemString reads key from the item, else from its repo object.
func itemString(item map[string]any, key string) string {
	if s := str(item[key]); s != "" {
		return s
	}
	if repo, ok := item["repo"].(map[string]any); ok {
		return str(repo[key])
	}
	return ""
}

func (g *Integration) resolveFile(ctx context.Context, item map[string]any, text string) (any, error) {
	filePath := strings.TrimPrefix(text, FileValuePrefix)
	g.warnDeprecated(ctx, text, fmt.Sprintf("the selector's includedFiles: [%q] reads it in batches into .__includedFiles[%q]", filePath, filePath))
	project := itemString(item, "path_with_namespace")
	if project == "" {
		return nil, fmt.Errorf("%w %s: the item has no .path_with_namespace or .repo.path_with_namespace", ErrValueForm, text)
	}
	ref := itemString(item, "default_branch")
	if ref == "" {
		return nil, fmt.Errorf("%w %s: the item has no .default_branch or .repo.default_branch", ErrValueForm, text)
	}
	run := g.newContentRun(0)
	q := blobReq{proj: map[string]any{"path_with_namespace": project}, ref: ref, path: filePath}
	d, err := run.restBlob(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("gitlab: %s of %s: %w", text, project, err)
	}
	switch d.status {
	case blobMissing:
		return nil, nil
	case blobTooLarge:
		return nil, &FileTooLargeError{Project: project, Path: filePath, Size: d.size, Max: run.maxSize}
	case blobBinary:
		return nil, fmt.Errorf("gitlab: %s of %s is a binary file", text, project)
	}
	return d.text, nil
}

// FileTooLargeError is a file over the size cap (maxFileSize).
type FileTooLargeError struct {
	Project, Path string
	Size, Max     int64
}

func (e *FileTooLargeError) Error() string {
	return fmt.Sprintf("gitlab: %s of %s is %d bytes, over the %d-byte cap; raise %s (or the selector's files.maxFileSize) to read it",
		e.Path, e.Project, e.Size, e.Max, envMaxFileSize)
}

// parseSearchValue splits "scope=<s> && query=<q>" as gitlab-v2 does: at
// the first &&, each part trimmed.
func parseSearchValue(s string) (scope, query string, err error) {
	scopePart, queryPart, ok := strings.Cut(s, "&&")
	scopePart, queryPart = strings.TrimSpace(scopePart), strings.TrimSpace(queryPart)
	if !ok || !strings.HasPrefix(scopePart, "scope=") || !strings.HasPrefix(queryPart, "query=") {
		return "", "", fmt.Errorf("%w: want search://scope=<scope> && query=<query>", ErrValueForm)
	}
	return strings.TrimSpace(strings.TrimPrefix(scopePart, "scope=")), strings.TrimSpace(strings.TrimPrefix(queryPart, "query=")), nil
}

func (g *Integration) resolveSearch(ctx context.Context, item map[string]any, text string) (any, error) {
	scope, query, err := parseSearchValue(strings.TrimSpace(strings.TrimPrefix(text, SearchValuePrefix)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", text, err)
	}
	g.warnDeprecated(ctx, text, fmt.Sprintf("the project selector's searchQueries: [{name: <name>, scope: %s, query: %q}] answers it in batches into .__searchQueries[<name>]", scope, query))
	project := str(item["path_with_namespace"])
	if project == "" {
		return nil, fmt.Errorf("%w %s: the item has no .path_with_namespace", ErrValueForm, text)
	}
	select {
	case g.resolve.searches <- struct{}{}:
		defer func() { <-g.resolve.searches }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var hits []any
	q := url.Values{"scope": {scope}, "search": {query}, "per_page": {"1"}}
	if err := g.client.Get(ctx, "projects/"+glapi.PathEscape(project)+"/search", q, &hits); err != nil {
		return nil, fmt.Errorf("gitlab: %s in %s: %w", text, project, err)
	}
	return len(hits) > 0, nil
}
