package gitlab

import (
	"encoding/json"
	"io/fs"
	"testing"

	"github.com/itchyny/gojq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/oceankit/oceankit/gitlab/gitlabtest"
)

func fsReadFile(fsys fs.FS, name string) ([]byte, error) { return fs.ReadFile(fsys, name) }

type defaultMapping struct {
	DeleteDependentEntities      bool       `yaml:"deleteDependentEntities"`
	CreateMissingRelatedEntities bool       `yaml:"createMissingRelatedEntities"`
	Visibility                   Visibility `yaml:"visibility"`
	Resources                    []struct {
		Kind     string         `yaml:"kind"`
		Selector map[string]any `yaml:"selector"`
		Port     struct {
			Entity struct {
				Mappings struct {
					Identifier string            `yaml:"identifier"`
					Title      string            `yaml:"title"`
					Blueprint  string            `yaml:"blueprint"`
					Properties map[string]string `yaml:"properties"`
					Relations  map[string]string `yaml:"relations"`
				} `yaml:"mappings"`
			} `yaml:"entity"`
		} `yaml:"port"`
	} `yaml:"resources"`
}

func loadDefaultMapping(t *testing.T) defaultMapping {
	t.Helper()
	b, err := fs.ReadFile(Defaults(), "port-app-config.yml")
	require.NoError(t, err)
	var m defaultMapping
	require.NoError(t, yaml.Unmarshal(b, &m))
	require.NotEmpty(t, m.Resources)
	return m
}

func runJQ(t *testing.T, expr string, input any) any {
	t.Helper()
	q, err := gojq.Parse(expr)
	require.NoError(t, err, expr)
	code, err := gojq.Compile(q)
	require.NoError(t, err, expr)
	v, ok := code.Run(input).Next()
	require.True(t, ok, expr)
	if err, isErr := v.(error); isErr {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// The default mapping's jq runs on what the kinds really produce.
func TestDefaultMappingRunsOnRealItems(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.NewServer(t)
	g, _ := newIntegration(t, srv)
	m := loadDefaultMapping(t)
	assert.True(t, m.DeleteDependentEntities)
	assert.Equal(t, DefaultVisibility(), m.Visibility)
	for _, r := range m.Resources {
		sel, err := json.Marshal(r.Selector)
		require.NoError(t, err)
		items := fetch(t, g, r.Kind, string(sel))
		require.NotEmpty(t, items, r.Kind)
		// JSON round trip: jq sees what the framework hands it.
		var it map[string]any
		b, err := json.Marshal(items[0])
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &it))
		mp := r.Port.Entity.Mappings
		assert.NotEmpty(t, runJQ(t, mp.Identifier, it), r.Kind)
		runJQ(t, mp.Title, it)
		for name, expr := range mp.Properties {
			runJQ(t, expr, it)
			_ = name
		}
		for _, expr := range mp.Relations {
			runJQ(t, expr, it)
		}
		switch r.Kind {
		case KindProject:
			assert.NotNil(t, runJQ(t, mp.Properties["language"], it))
			assert.NotNil(t, runJQ(t, mp.Properties["readme"], it))
			assert.IsType(t, true, runJQ(t, mp.Properties["hasPortConfig"], it))
		case KindMergeRequest:
			assert.NotContains(t, runJQ(t, mp.Relations["project"], it), "!")
		}
	}
}
