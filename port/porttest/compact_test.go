package porttest_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/port/porttest"
)

// A compact catalog answers exactly as a plain one: the same steps give the
// same answers and the same entities.
func TestCompactEntitiesAnswerAsPlain(t *testing.T) {
	t.Parallel()
	type step struct {
		method, path string
		body         any
	}
	steps := []step{
		{http.MethodPost, "/v1/blueprints/group/entities?upsert=true", map[string]any{"identifier": "g1"}},
		{http.MethodPost, "/v1/blueprints/service/entities/bulk?upsert=true&create_missing_related_entities=true", map[string]any{"entities": []any{
			map[string]any{"identifier": "s1", "title": "S1", "properties": map[string]any{"url": "https://x", "stars": 3.5, "ok": true,
				"tags": []any{"a", "b"}, "meta": map[string]any{"k": []any{1.0, "v"}}}, "relations": map[string]any{"group": "g1", "owners": []any{"g1", "g2"}}},
			map[string]any{"identifier": "s2", "properties": map[string]any{"lang": "go"}, "relations": map[string]any{"group": "g2"}},
		}}},
		{http.MethodPost, "/v1/blueprints/service/entities?upsert=true&merge=true", map[string]any{"identifier": "s1", "properties": map[string]any{"stars": 4.0}}},
		{http.MethodGet, "/v1/blueprints/service/entities/s1", nil},
		{http.MethodPost, "/v1/entities/search", map[string]any{"combinator": "and", "rules": []any{
			map[string]any{"property": "$blueprint", "operator": "=", "value": "service"},
			map[string]any{"property": "stars", "operator": ">", "value": 3.0}}}},
		{http.MethodPost, "/v1/blueprints/service/entities?upsert=true", map[string]any{"identifier": "s3", "title": "<S3 & co>",
			"properties": map[string]any{"lang": "<b>&</b>", "stars": 1e21, "meta": nil}, "relations": map[string]any{"group": nil}}},
		{http.MethodPost, "/v1/blueprints/entities/datasource-entities", map[string]any{"datasource_prefix": "", "datasource_suffix": ""}},
		{http.MethodPost, "/v1/blueprints/entities/datasource-entities", map[string]any{"datasource_prefix": "", "datasource_suffix": "", "limit": 2}},
		{http.MethodDelete, "/v1/blueprints/group/entities/g2", nil},
		{http.MethodGet, "/v1/blueprints/service/entities/s1", nil},
		{http.MethodDelete, "/v1/blueprints/group/entities/g1?delete_dependents=true", nil},
		{http.MethodGet, "/v1/blueprints/service/entities/s2", nil},
	}
	plain, pc := seed(t)
	compact, cc := seed(t, porttest.WithCompactEntities())
	for _, st := range steps {
		ps, pb := pc.do(st.method, st.path, st.body)
		cs, cb := cc.do(st.method, st.path, st.body)
		require.Equal(t, ps, cs, "%s %s", st.method, st.path)
		for _, m := range []map[string]any{pb, cb} {
			scrubTimes(m)
		}
		assert.Equal(t, pb, cb, "%s %s", st.method, st.path)
	}
	for _, bp := range []string{"group", "service"} {
		pe, ce := plain.Entities(bp), compact.Entities(bp)
		require.Equal(t, len(pe), len(ce), bp)
		for i := range pe {
			assert.Equal(t, pe[i].Properties, ce[i].Properties)
			assert.Equal(t, pe[i].Relations, ce[i].Relations)
			pd, _ := plain.Digest(bp, pe[i].ID())
			cd, _ := compact.Digest(bp, ce[i].ID())
			assert.Equal(t, pd, cd, "digests do not depend on how entities are stored")
		}
	}
	n := 0
	var sums []porttest.EntitySummary
	compact.Each(func(e porttest.EntitySummary) { n++; sums = append(sums, e) })
	for _, e := range sums {
		pd, ok := plain.Digest(e.Blueprint, e.Identifier)
		require.True(t, ok, e.Identifier)
		assert.Equal(t, pd, e.Digest, "Each reports Digest's digest (%s)", e.Identifier)
	}
	assert.Equal(t, compact.TotalEntities(), n)
}

// scrubTimes drops timestamps, which differ between two servers.
func scrubTimes(v any) {
	switch x := v.(type) {
	case map[string]any:
		delete(x, "createdAt")
		delete(x, "updatedAt")
		for _, y := range x {
			scrubTimes(y)
		}
	case []any:
		for _, y := range x {
			scrubTimes(y)
		}
	}
}
