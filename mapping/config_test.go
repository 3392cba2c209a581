package mapping

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const fullYAML = `
deleteDependentEntities: false
createMissingRelatedEntities: false
enableMergeEntity: false
entityDeletionThreshold: 0.5
resources:
  - kind: project
    selector:
      query: 'true'
      includeLanguages: true
      exportEnvVariables: [HOME]
    port:
      itemsToParse: .files
      itemsToParseName: file
      itemsToParseTopLevelTransform: false
      entity:
        mappings:
          identifier: .id | tostring
          title: .name
          icon: '"GitLab"'
          blueprint: '"service"'
          team: .team
          properties:
            url: .web_url
            count: 1
          relations:
            owner: .owner
            group:
              combinator: '"and"'
              rules:
                - property: '"$identifier"'
                  operator: '"="'
                  value: .group
                - combinator: '"or"'
                  rules:
                    - property: '"name"'
                      operator: '"="'
                      value: .g
`

func TestParseEveryField(t *testing.T) {
	t.Parallel()
	cfg, err := Parse([]byte(fullYAML))
	require.NoError(t, err)
	assert.False(t, cfg.DeleteDependentEntities)
	assert.False(t, cfg.CreateMissingRelatedEntities)
	assert.False(t, cfg.EnableMergeEntity)
	assert.Equal(t, 0.5, cfg.EntityDeletionThreshold)
	require.Len(t, cfg.Resources, 1)
	r := cfg.Resources[0]
	assert.Equal(t, "project", r.Kind)
	assert.Equal(t, "true", r.Selector.Query)
	assert.Equal(t, []string{"HOME"}, r.Selector.ExportEnvVariables)
	var sel struct {
		IncludeLanguages bool `json:"includeLanguages"`
	}
	require.NoError(t, r.Selector.Decode(&sel))
	assert.True(t, sel.IncludeLanguages)
	assert.Equal(t, ".files", r.Port.ItemsToParse)
	assert.Equal(t, "file", r.Port.ItemsToParseName)
	assert.False(t, r.Port.ItemsToParseTopLevelTransform)
	require.Len(t, r.Port.Entity.Mappings, 1)
	m := r.Port.Entity.Mappings[0]
	assert.Equal(t, Field{JQ: ".id | tostring"}, m.Identifier)
	assert.Equal(t, ".name", m.Title)
	assert.Equal(t, `"GitLab"`, m.Icon)
	assert.Equal(t, `"service"`, m.Blueprint)
	assert.Equal(t, &Field{JQ: ".team"}, m.Team)
	assert.Equal(t, map[string]string{"url": ".web_url", "count": "1"}, m.Properties)
	assert.Equal(t, Field{JQ: ".owner"}, m.Relations["owner"])
	assert.Equal(t, &SearchQuery{Combinator: `"and"`, Rules: []Rule{
		{Property: `"$identifier"`, Operator: `"="`, Value: ".group"},
		{Query: &SearchQuery{Combinator: `"or"`, Rules: []Rule{{Property: `"name"`, Operator: `"="`, Value: ".g"}}}},
	}}, m.Relations["group"].Query)
}

func TestParseDefaults(t *testing.T) {
	t.Parallel()
	for name, doc := range map[string]string{
		"yaml": "resources:\n  - kind: a\n    port:\n      entity:\n        mappings:\n          identifier: .id\n          blueprint: '\"b\"'\n",
		"json": `{"resources":[{"kind":"a","port":{"entity":{"mappings":{"identifier":".id","blueprint":"\"b\""}}}}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Parse([]byte(doc))
			require.NoError(t, err)
			assert.True(t, cfg.DeleteDependentEntities)
			assert.True(t, cfg.CreateMissingRelatedEntities)
			assert.True(t, cfg.EnableMergeEntity)
			assert.Equal(t, 0.9, cfg.EntityDeletionThreshold)
			r := cfg.Resources[0]
			assert.Equal(t, "true", r.Selector.Query, "missing selector defaults to true")
			assert.JSONEq(t, `{"query":"true"}`, string(r.Selector.Raw))
			assert.Equal(t, "item", r.Port.ItemsToParseName)
			assert.True(t, r.Port.ItemsToParseTopLevelTransform)
			assert.Empty(t, r.Port.ItemsToParse)
			m := r.Port.Entity.Mappings[0]
			assert.Empty(t, m.Title)
			assert.Nil(t, m.Team)
			assert.NotNil(t, m.Properties)
			assert.NotNil(t, m.Relations)
		})
	}
}

func TestParseJSONFromPort(t *testing.T) {
	t.Parallel()
	doc := `{"deleteDependentEntities":true,"createMissingRelatedEntities":true,"enableMergeEntity":true,
	"entityDeletionThreshold":0,"resources":[{"kind":"merge-request","selector":{"query":"true","states":["opened"]},
	"port":{"entity":{"mappings":[{"identifier":".id|tostring","blueprint":"\"mr\""},{"identifier":".iid|tostring","blueprint":"\"mr2\""}]}}}]}`
	cfg, err := Parse([]byte(doc))
	require.NoError(t, err)
	assert.Equal(t, 0.0, cfg.EntityDeletionThreshold)
	r := cfg.Resources[0]
	assert.True(t, r.Port.Entity.MappingsList)
	require.Len(t, r.Port.Entity.Mappings, 2)
	assert.Equal(t, `"mr2"`, r.Port.Entity.Mappings[1].Blueprint)
	var sel struct {
		States []string `json:"states"`
	}
	require.NoError(t, r.Selector.Decode(&sel))
	assert.Equal(t, []string{"opened"}, sel.States)
}

func TestParseSnakeCaseTopLevel(t *testing.T) {
	t.Parallel()
	cfg, err := Parse([]byte(`{"delete_dependent_entities": false, "enable_merge_entity": false, "entity_deletion_threshold": 0.2}`))
	require.NoError(t, err)
	assert.False(t, cfg.DeleteDependentEntities)
	assert.False(t, cfg.EnableMergeEntity)
	assert.Equal(t, 0.2, cfg.EntityDeletionThreshold)
}

func TestParseIdentifierSearchQuery(t *testing.T) {
	t.Parallel()
	doc := `
resources:
  - kind: k
    port:
      entity:
        mappings:
          identifier:
            combinator: '"and"'
            rules:
              - property: '"email"'
                operator: '"="'
                value: .email
          blueprint: '"user"'
          team:
            combinator: '"and"'
            rules: [{property: '"$identifier"', operator: '"="', value: .team}]
`
	cfg, err := Parse([]byte(doc))
	require.NoError(t, err)
	m := cfg.Resources[0].Port.Entity.Mappings[0]
	require.True(t, m.Identifier.IsQuery())
	assert.Equal(t, ".email", m.Identifier.Query.Rules[0].Value)
	require.NotNil(t, m.Team)
	assert.True(t, m.Team.IsQuery())
}

func TestParseYAMLScalarsAsJQ(t *testing.T) {
	t.Parallel()
	doc := "resources:\n  - kind: a\n    selector:\n      query: true\n    port:\n      entity:\n        mappings:\n          identifier: .id\n          blueprint: '\"b\"'\n          properties:\n            n: 42\n"
	cfg, err := Parse([]byte(doc))
	require.NoError(t, err)
	assert.Equal(t, "true", cfg.Resources[0].Selector.Query)
	assert.Equal(t, "42", cfg.Resources[0].Port.Entity.Mappings[0].Properties["n"])
}

func TestParseExtraTopLevelKeys(t *testing.T) {
	t.Parallel()
	doc := []byte("visibility:\n  useMinAccessLevel: false\n  minAccessLevel: 40\nresources: []\n")
	_, err := Parse(doc)
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "visibility", ce.Path)

	cfg, err := Parse(doc, AllowTopLevelKeys("visibility"))
	require.NoError(t, err)
	var vis struct {
		UseMinAccessLevel bool `json:"useMinAccessLevel"`
		MinAccessLevel    int  `json:"minAccessLevel"`
	}
	ok, err := cfg.DecodeExtra("visibility", &vis)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, 40, vis.MinAccessLevel)
	assert.False(t, vis.UseMinAccessLevel)
	ok, err = cfg.DecodeExtra("absent", &vis)
	assert.NoError(t, err)
	assert.False(t, ok)
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		doc  string
		want []string // every message must appear
	}{
		{"unknown top-level key with suggestion", `{"deleteDependentEntites": true}`,
			[]string{`deleteDependentEntites: unknown top-level field (did you mean "deleteDependentEntities"?)`}},
		{"missing kind", `{"resources":[{"port":{"entity":{"mappings":{"identifier":".a","blueprint":"\"b\""}}}}]}`,
			[]string{"resources[0] .kind: missing required field"}},
		{"missing blueprint names index and kind", `{"resources":[{"kind":"a","port":{"entity":{"mappings":{"identifier":".a"}}}},
			{"kind":"merge-request","port":{"entity":{"mappings":{"identifier":".a"}}}}]}`,
			[]string{"resources[0] (a) .port.entity.mappings.blueprint: missing required field",
				"resources[1] (merge-request) .port.entity.mappings.blueprint: missing required field"}},
		{"missing identifier", `{"resources":[{"kind":"a","port":{"entity":{"mappings":{"blueprint":"\"b\""}}}}]}`,
			[]string{"resources[0] (a) .port.entity.mappings.identifier: missing required field"}},
		{"missing identifier in list form", `{"resources":[{"kind":"a","port":{"entity":{"mappings":[{"blueprint":"\"b\""}]}}}]}`,
			[]string{"resources[0] (a) .port.entity.mappings[0].identifier: missing required field"}},
		{"missing port", `{"resources":[{"kind":"a"}]}`, []string{"resources[0] (a) .port: missing required field"}},
		{"threshold out of range", `{"entityDeletionThreshold": 1.5}`, []string{"entityDeletionThreshold: must be between 0 and 1"}},
		{"wrong types", `{"enableMergeEntity":"yes","resources":{}}`,
			[]string{"enableMergeEntity: expected a boolean, got string", "resources: expected a list, got object"}},
		{"bad search query", `{"resources":[{"kind":"a","port":{"entity":{"mappings":{"identifier":{"combinator":"\"and\"","rules":[{"property":"\"x\""}]},"blueprint":"\"b\""}}}}]}`,
			[]string{".port.entity.mappings.identifier.rules[0].operator: missing required field",
				".port.entity.mappings.identifier.rules[0].value: missing required field"}},
		{"empty rules", `{"resources":[{"kind":"a","port":{"entity":{"mappings":{"identifier":".a","blueprint":"\"b\"","relations":{"r":{"combinator":"\"and\"","rules":[]}}}}}}]}`,
			[]string{".port.entity.mappings.relations.r.rules: expected a non-empty list of rules"}},
		{"non-string jq", `{"resources":[{"kind":"a","port":{"entity":{"mappings":{"identifier":".a","blueprint":["x"]}}}}]}`,
			[]string{"resources[0] (a) .port.entity.mappings.blueprint: expected a jq expression string, got array"}},
		{"empty itemsToParseName", `{"resources":[{"kind":"a","port":{"itemsToParseName":"","entity":{"mappings":{"identifier":".a","blueprint":"\"b\""}}}}]}`,
			[]string{".port.itemsToParseName: must not be empty"}},
		{"not an object", `[1]`, []string{"(root): expected an object, got array"}},
		{"scalar document", `hello`, []string{"(root): expected an object, got string"}},
		{"invalid JSON", `{"a":`, []string{"invalid JSON"}},
		{"empty", "  \n", []string{"empty port app config"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.doc))
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestParseErrorsAreTyped(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte(`{"resources":[{"kind":"a","port":{"entity":{"mappings":{"identifier":".a"}}}}],"x":1}`))
	require.Error(t, err)
	var all []*ConfigError
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var ce *ConfigError
		require.True(t, errors.As(e, &ce))
		all = append(all, ce)
	}
	require.Len(t, all, 2)
	// Top-level keys are checked in sorted order: "resources" before "x".
	assert.Equal(t, 0, all[0].Resource)
	assert.Equal(t, "a", all[0].Kind)
	assert.Equal(t, -1, all[1].Resource)
	assert.Equal(t, "x", all[1].Path)
}

func TestParseYAMLNonStringKeysAndAnchors(t *testing.T) {
	t.Parallel()
	doc := `
base: &base
  identifier: .id
  blueprint: '"b"'
resources:
  - kind: a
    port:
      entity:
        mappings:
          <<: *base
          properties:
            1: .one
`
	cfg, err := Parse([]byte(doc), AllowTopLevelKeys("base"))
	require.NoError(t, err)
	m := cfg.Resources[0].Port.Entity.Mappings[0]
	assert.Equal(t, ".id", m.Identifier.JQ)
	assert.Equal(t, ".one", m.Properties["1"])
	var base map[string]string
	_, err = cfg.DecodeExtra("base", &base)
	require.NoError(t, err)
	assert.Equal(t, ".id", base["identifier"])
}

func TestSelectorRawKeepsProviderFields(t *testing.T) {
	t.Parallel()
	cfg, err := Parse([]byte(`{"resources":[{"kind":"file","selector":{"query":"true","files":{"path":"**/x.yaml","repos":[{"name":"g/p","branch":"main"}]}},
	"port":{"entity":{"mappings":{"identifier":".a","blueprint":"\"b\""}}}}]}`))
	require.NoError(t, err)
	var sel map[string]any
	require.NoError(t, json.Unmarshal(cfg.Resources[0].Selector.Raw, &sel))
	assert.Equal(t, "**/x.yaml", sel["files"].(map[string]any)["path"])
}

// Ocean ignores unknown keys below the top level; so do we, but we say so.
func TestParseWarnsAboutUnknownNestedKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"unknown mapping key", `{"resources":[{"kind":"a","port":{"entity":{"mappings":{"identifier":".a","blueprint":"\"b\"","propertes":{}}}}}]}`,
			[]string{`resources[0] (a) .port.entity.mappings.propertes: unknown field (did you mean "properties"?)`}},
		{"unknown resource and port keys", `{"resources":[{"kind":"a","selectr":{},"port":{"itemToParse":".x","entity":{"mappings":{"identifier":".a","blueprint":"\"b\""}}}}]}`,
			[]string{`resources[0] (a) .selectr: unknown field (did you mean "selector"?)`,
				`resources[0] (a) .port.itemToParse: unknown field (did you mean "itemsToParse"?)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Parse([]byte(tt.doc))
			require.NoError(t, err, "a config Ocean accepts must parse")
			all := strings.Join(cfg.Warnings, "\n")
			for _, w := range tt.want {
				assert.Contains(t, all, w)
			}
		})
	}
}

func TestLiteralBlueprints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		bps  []string
		want []string
		ok   bool
	}{
		{"double quotes", []string{`"service"`}, []string{"service"}, true},
		{"single quotes", []string{`'service'`, ` "team" `}, []string{"service", "team"}, true},
		{"computed", []string{`"service"`, `.kind`}, nil, false},
		{"empty string", []string{`""`}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &Resource{Kind: "k"}
			for _, bp := range tt.bps {
				r.Port.Entity.Mappings = append(r.Port.Entity.Mappings, EntityMapping{Blueprint: bp})
			}
			got, ok := r.LiteralBlueprints()
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}
