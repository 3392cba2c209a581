package mapping

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/itchyny/gojq"
)

// Ocean's extract_jq_deletion_path_revised, translated regex by regex
// (Python's \w is Unicode-aware, hence the classes below).
var (
	reParenChain = regexp.MustCompile(`(?s)^\((.*?)\)`)
	reAsBinding  = regexp.MustCompile(`^\.\s+as\s+\$[\p{L}\p{N}_]+`)
	reSimplePath = regexp.MustCompile(`^(\.[\p{L}\p{N}_]+|\.\[[^\]]+\])(\.[\p{L}\p{N}_]+|\[[^\]]+\]|\.\[[^\]]+\])*`)
	reIdent      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// extractDeletionPath returns the path Ocean deletes from the parent item
// when itemsToParseTopLevelTransform is true (".file.content" for
// ".file.content | fromjson"), or "" when it finds none.
func extractDeletionPath(expr string) string {
	expr = strings.TrimSpace(expr)
	chain := expr
	if strings.HasPrefix(expr, "(") {
		m := reParenChain.FindStringSubmatch(expr)
		if m == nil {
			return ""
		}
		chain = strings.TrimSpace(m[1])
	}
	for _, seg := range strings.Split(chain, "|") {
		seg = strings.TrimSpace(seg)
		if reAsBinding.MatchString(seg) || seg == "." || strings.HasPrefix(seg, "$") {
			continue
		}
		if p := reSimplePath.FindString(seg); p != "" {
			return strings.TrimSpace(p)
		}
	}
	return ""
}

// deletePath removes the itemsToParse source array from a copy of the parent
// item. Plain key paths are handled in Go; anything else runs del(path) with
// gojq (which never mutates its input).
type deletePath struct {
	path string
	keys []string
	code *gojq.Code
}

func newDeletePath(itemsToParse string, jqOpts []gojq.CompilerOption) deletePath {
	p := extractDeletionPath(itemsToParse)
	if p == "" {
		// Ocean would run del(.) and fail on the null parent; keeping the
		// parent whole is the useful reading of a path it cannot derive.
		return deletePath{}
	}
	d := deletePath{path: p}
	if q, err := gojq.Parse("del(" + p + ")"); err == nil {
		if code, err := gojq.Compile(q, jqOpts...); err == nil {
			d.code = code
		}
	}
	keys := strings.Split(strings.TrimPrefix(p, "."), ".")
	for _, k := range keys {
		if !reIdent.MatchString(k) {
			return d
		}
	}
	d.keys = keys
	return d
}

func (d deletePath) active() bool { return d.keys != nil || d.code != nil }

// apply returns parent without the path. The result may share parent's
// untouched sub-values but never modifies parent.
func (d deletePath) apply(ctx context.Context, parent map[string]any) (map[string]any, error) {
	if d.keys != nil {
		if out, ok := deleteKeys(parent, d.keys); ok {
			return out, nil
		}
	}
	if d.code == nil {
		return parent, nil
	}
	v, ok := d.code.RunWithContext(ctx, parent).Next()
	if !ok {
		return parent, nil
	}
	switch v := v.(type) {
	case error:
		return nil, fmt.Errorf("del(%s): %w", d.path, v)
	case map[string]any:
		return v, nil
	default:
		return nil, fmt.Errorf("del(%s): produced %s", d.path, typeName(v))
	}
}

// deleteKeys copies the maps along keys and deletes the last key. It reports
// false when a value on the way is neither an object nor null.
func deleteKeys(m map[string]any, keys []string) (map[string]any, bool) {
	child, present := m[keys[0]]
	if len(keys) == 1 {
		if !present {
			return m, true
		}
		out := make(map[string]any, len(m))
		for k, v := range m {
			if k != keys[0] {
				out[k] = v
			}
		}
		return out, true
	}
	switch c := child.(type) {
	case nil:
		return m, true
	case map[string]any:
		nc, ok := deleteKeys(c, keys[1:])
		if !ok {
			return nil, false
		}
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[k] = v
		}
		out[keys[0]] = nc
		return out, true
	}
	return nil, false
}
