package mapping

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files")

type goldenMis struct {
	Item       int    `json:"item"`
	Element    int    `json:"element"`
	Field      string `json:"field"`
	Expr       string `json:"expr"`
	Error      string `json:"error"`
	Identifier string `json:"identifier,omitempty"`
	Blueprint  string `json:"blueprint,omitempty"`
}

type goldenEntity struct {
	Identifier any            `json:"identifier"`
	Blueprint  string         `json:"blueprint"`
	Title      string         `json:"title,omitempty"`
	Icon       string         `json:"icon,omitempty"`
	Team       any            `json:"team,omitempty"`
	Properties map[string]any `json:"properties"`
	Relations  map[string]any `json:"relations"`
}

type goldenResource struct {
	Kind          string         `json:"kind"`
	Entities      []goldenEntity `json:"entities"`
	Filtered      int            `json:"filtered"`
	Dropped       int            `json:"dropped"`
	Failed        int            `json:"failed"`
	Misconfigured []goldenMis    `json:"misconfigured"`
	FieldErrors   []goldenMis    `json:"fieldErrors"`
	NullFields    []NullField    `json:"nullFields"`
}

func loadGitLabFixture(t testing.TB) (*Mapper, map[string][]map[string]any) {
	t.Helper()
	cfgData, err := os.ReadFile(filepath.Join("testdata", "gitlab", "port-app-config.yml"))
	require.NoError(t, err)
	cfg, err := Parse(cfgData, AllowTopLevelKeys("visibility"))
	require.NoError(t, err)
	m, err := Compile(cfg)
	require.NoError(t, err)
	raw, err := os.ReadFile(filepath.Join("testdata", "gitlab", "items.json"))
	require.NoError(t, err)
	var byKind map[string][]map[string]any
	require.NoError(t, json.Unmarshal(raw, &byKind))
	return m, byKind
}

// TestGoldenGitLab maps GitLab-shaped items with a realistic gitlab-v2 style
// config (string ops, date maths, languages, search-query relations,
// itemsToParse) and compares everything with testdata/gitlab/golden.json.
// Run with -update to rewrite it after an intended change.
func TestGoldenGitLab(t *testing.T) {
	t.Parallel()
	m, byKind := loadGitLabFixture(t)
	var out []goldenResource
	for _, r := range m.Resources() {
		res, err := r.Map(context.Background(), byKind[r.Kind()])
		require.NoError(t, err)
		g := goldenResource{Kind: r.Kind(), Filtered: res.Filtered, Dropped: res.Dropped, Failed: res.Failed, NullFields: res.NullFields}
		for _, e := range res.Entities {
			g.Entities = append(g.Entities, goldenEntity(e))
		}
		for _, mc := range res.Misconfigured {
			g.Misconfigured = append(g.Misconfigured, goldenMis{mc.Item, mc.Element, mc.Field, mc.Expr, mc.Err.Error(), mc.Identifier, mc.Blueprint})
		}
		for _, mc := range res.FieldErrors {
			g.FieldErrors = append(g.FieldErrors, goldenMis{mc.Item, mc.Element, mc.Field, mc.Expr, mc.Err.Error(), mc.Identifier, mc.Blueprint})
		}
		out = append(out, g)
	}
	got, err := json.MarshalIndent(out, "", "  ")
	require.NoError(t, err)
	path := filepath.Join("testdata", "gitlab", "golden.json")
	if *update {
		require.NoError(t, os.WriteFile(path, append(got, '\n'), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(got))
}
