package porttest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

// These tests speak raw HTTP, so they check the fake independently of package port.

type rawClient struct {
	t     testing.TB
	srv   *porttest.Server
	token string
	ua    string
}

func newRaw(t testing.TB, srv *porttest.Server) *rawClient {
	c := &rawClient{t: t, srv: srv, ua: "port-ocean/gitlab-v2/1.0.0/my-id/exporter"}
	status, body := c.do(http.MethodPost, "/v1/auth/access_token", map[string]any{"clientId": srv.ClientID, "clientSecret": srv.ClientSecret})
	require.Equal(t, http.StatusOK, status, "%s", body)
	c.token = body["accessToken"].(string)
	return c
}

func (c *rawClient) do(method, path string, in any) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	switch b := in.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(in)
		require.NoError(c.t, err)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.srv.URL+path, rd)
	require.NoError(c.t, err)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("User-Agent", c.ua)
	res, err := c.srv.Client().Do(req)
	require.NoError(c.t, err)
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func seed(t testing.TB, opts ...porttest.Option) (*porttest.Server, *rawClient) {
	srv := porttest.NewServer(t, opts...)
	require.NoError(t, srv.AddBlueprint(port.Blueprint{Identifier: "group", Title: "Group",
		Schema: port.BlueprintSchema{Properties: map[string]map[string]any{}}}))
	require.NoError(t, srv.AddBlueprint(port.Blueprint{Identifier: "service", Title: "Service",
		Schema: port.BlueprintSchema{
			Properties: map[string]map[string]any{
				"url":     {"type": "string"},
				"stars":   {"type": "number"},
				"ok":      {"type": "boolean"},
				"tags":    {"type": "array", "items": map[string]any{"type": "string"}},
				"meta":    {"type": "object"},
				"lang":    {"type": "string", "enum": []any{"go", "python"}},
				"created": {"type": "string", "format": "date-time"},
			},
		},
		Relations: map[string]port.Relation{
			"group":  {Target: "group"},
			"owners": {Target: "group", Many: true},
		}}))
	return srv, newRaw(t, srv)
}

func TestTokens(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv := porttest.NewServer(t, porttest.WithClock(clock), porttest.WithTokenLifetime(time.Hour))
	c := &rawClient{t: t, srv: srv}

	status, body := c.do(http.MethodPost, "/v1/auth/access_token", map[string]any{"clientId": srv.ClientID, "clientSecret": "wrong"})
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Equal(t, false, body["ok"])
	status, _ = c.do(http.MethodPost, "/v1/auth/access_token", map[string]any{"clientId": srv.ClientID})
	assert.Equal(t, http.StatusUnprocessableEntity, status)

	creds := map[string]any{"clientId": srv.ClientID, "clientSecret": srv.ClientSecret}
	status, first := c.do(http.MethodPost, "/v1/auth/access_token", creds)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "Bearer", first["tokenType"])
	assert.Equal(t, 3600.0, first["expiresIn"])

	mu.Lock()
	now = now.Add(20 * time.Minute)
	mu.Unlock()
	_, second := c.do(http.MethodPost, "/v1/auth/access_token", creds)
	assert.Equal(t, first["accessToken"], second["accessToken"], "the active token is returned again")
	assert.Equal(t, 2400.0, second["expiresIn"], "with what is left of its life")

	status, _ = c.do(http.MethodGet, "/v1/blueprints/x", nil)
	assert.Equal(t, http.StatusUnauthorized, status, "no token")
	c.token = second["accessToken"].(string)
	status, _ = c.do(http.MethodGet, "/v1/blueprints/x", nil)
	assert.Equal(t, http.StatusNotFound, status)

	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	status, _ = c.do(http.MethodGet, "/v1/blueprints/x", nil)
	assert.Equal(t, http.StatusUnauthorized, status, "expired")
	_, third := c.do(http.MethodPost, "/v1/auth/access_token", creds)
	assert.NotEqual(t, first["accessToken"], third["accessToken"])

	c.token = third["accessToken"].(string)
	srv.ExpireTokens()
	status, _ = c.do(http.MethodGet, "/v1/blueprints/x", nil)
	assert.Equal(t, http.StatusUnauthorized, status, "revoked")
}

func TestIdentifierPattern(t *testing.T) {
	t.Parallel()
	srv, c := seed(t)
	tests := []struct {
		id    string
		valid bool
	}{
		{"simple", true}, {"a/b", true}, {"ünïcödé", true}, {"a=b'c", true}, {`back\slash`, true},
		{"x@y.z+w:v-1_2", true}, {"...", true}, {".", false}, {"..", false}, {"has space", false},
		{"hash#", false}, {"", false}, {strings.Repeat("a", 1000), true}, {strings.Repeat("a", 1001), false},
	}
	for _, tt := range tests {
		status, body := c.do(http.MethodPost, "/v1/blueprints/service/entities?upsert=true", map[string]any{"identifier": tt.id})
		if tt.valid {
			assert.Equal(t, http.StatusCreated, status, "%q: %v", tt.id, body)
			_, ok := srv.Entity("service", tt.id)
			assert.True(t, ok, tt.id)
		} else {
			assert.Equal(t, http.StatusUnprocessableEntity, status, "%q", tt.id)
		}
	}
}

func TestBlueprintValidation(t *testing.T) {
	t.Parallel()
	srv, c := seed(t)
	tests := []struct {
		name   string
		entity map[string]any
		status int
		code   string
	}{
		{"valid", map[string]any{"identifier": "a", "properties": map[string]any{"url": "u", "stars": 1, "ok": true,
			"tags": []any{"x"}, "meta": map[string]any{}, "lang": "go", "created": "2026-01-01T00:00:00Z"}}, 201, ""},
		{"null property", map[string]any{"identifier": "a", "properties": map[string]any{"url": nil}}, 200, ""},
		{"unknown property", map[string]any{"identifier": "b", "properties": map[string]any{"nope": 1}}, 422, "invalid_request"},
		{"wrong type string", map[string]any{"identifier": "b", "properties": map[string]any{"url": 1}}, 422, "invalid_request"},
		{"wrong type number", map[string]any{"identifier": "b", "properties": map[string]any{"stars": "1"}}, 422, "invalid_request"},
		{"wrong item type", map[string]any{"identifier": "b", "properties": map[string]any{"tags": []any{1}}}, 422, "invalid_request"},
		{"not in enum", map[string]any{"identifier": "b", "properties": map[string]any{"lang": "cobol"}}, 422, "invalid_request"},
		{"bad date-time", map[string]any{"identifier": "b", "properties": map[string]any{"created": "yesterday"}}, 422, "invalid_request"},
		{"unknown relation", map[string]any{"identifier": "b", "relations": map[string]any{"nope": "x"}}, 422, "invalid_request"},
		{"many relation given scalar", map[string]any{"identifier": "b", "relations": map[string]any{"owners": "x"}}, 422, "invalid_request"},
		{"single relation given array", map[string]any{"identifier": "b", "relations": map[string]any{"group": []any{"x"}}}, 422, "invalid_request"},
		{"missing related entity", map[string]any{"identifier": "b", "relations": map[string]any{"group": "g1"}}, 404, "not_found"},
		{"properties not an object", map[string]any{"identifier": "b", "properties": []any{}}, 422, "invalid_request"},
	}
	for _, tt := range tests {
		status, body := c.do(http.MethodPost, "/v1/blueprints/service/entities?upsert=true", tt.entity)
		assert.Equal(t, tt.status, status, "%s: %v", tt.name, body)
		if tt.code != "" {
			assert.Equal(t, tt.code, body["error"], tt.name)
			assert.Equal(t, false, body["ok"], tt.name)
			assert.NotEmpty(t, body["message"], tt.name)
		}
	}
	_, ok := srv.Entity("service", "b")
	assert.False(t, ok, "no failed write landed")

	status, body := c.do(http.MethodPost, "/v1/blueprints/nope/entities?upsert=true", map[string]any{"identifier": "a"})
	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, map[string]any{"resource": "Blueprint", "byField": "identifier", "withValue": "nope"}, body["details"])

	status, _ = c.do(http.MethodPost, "/v1/blueprints/service/entities?upsert=false", map[string]any{"identifier": "a"})
	assert.Equal(t, http.StatusConflict, status, "create-only on an existing entity")
}

func TestCreateMissingRelatedEntities(t *testing.T) {
	t.Parallel()
	srv, c := seed(t)
	status, _ := c.do(http.MethodPost, "/v1/blueprints/service/entities?upsert=true&create_missing_related_entities=true",
		map[string]any{"identifier": "s", "relations": map[string]any{"group": "g1", "owners": []any{"g2", "g3"}}})
	require.Equal(t, http.StatusCreated, status)
	assert.Equal(t, 3, srv.EntityCount("group"))
	g, ok := srv.Entity("group", "g2")
	require.True(t, ok)
	assert.Empty(t, g.Datasource, "placeholders are not owned by the writer")
	s, _ := srv.Entity("service", "s")
	assert.Equal(t, []string{"g2", "g3"}, s.Relations["owners"])
}

func TestMergeSemantics(t *testing.T) {
	t.Parallel()
	srv, c := seed(t)
	c.do(http.MethodPost, "/v1/blueprints/group/entities?upsert=true", map[string]any{"identifier": "g"})
	c.do(http.MethodPost, "/v1/blueprints/service/entities?upsert=true", map[string]any{"identifier": "s", "title": "S",
		"properties": map[string]any{"url": "u", "stars": 1}, "relations": map[string]any{"group": "g"}})
	status, _ := c.do(http.MethodPost, "/v1/blueprints/service/entities?upsert=true&merge=true", map[string]any{"identifier": "s",
		"properties": map[string]any{"stars": 2}})
	assert.Equal(t, http.StatusOK, status)
	e, _ := srv.Entity("service", "s")
	assert.Equal(t, map[string]any{"url": "u", "stars": 2.0}, e.Properties)
	assert.Equal(t, "g", e.Relations["group"])
	assert.Equal(t, "S", e.Title)

	c.do(http.MethodPost, "/v1/blueprints/service/entities?upsert=true", map[string]any{"identifier": "s", "properties": map[string]any{"ok": true}})
	e, _ = srv.Entity("service", "s")
	assert.Equal(t, map[string]any{"ok": true}, e.Properties, "upsert without merge replaces")
	assert.Empty(t, e.Relations)
}

func TestBulkUpsertValidation(t *testing.T) {
	t.Parallel()
	srv, c := seed(t)
	many := make([]any, 21)
	for i := range many {
		many[i] = map[string]any{"identifier": "e" + string(rune('a'+i))}
	}
	status, _ := c.do(http.MethodPost, "/v1/blueprints/service/entities/bulk?upsert=true", map[string]any{"entities": many})
	assert.Equal(t, http.StatusUnprocessableEntity, status, "more than 20")
	status, _ = c.do(http.MethodPost, "/v1/blueprints/service/entities/bulk?upsert=true", map[string]any{"entities": []any{}})
	assert.Equal(t, http.StatusUnprocessableEntity, status, "empty")
	status, _ = c.do(http.MethodPost, "/v1/blueprints/service/entities/bulk?upsert=true",
		map[string]any{"entities": []any{map[string]any{"identifier": "ok"}, map[string]any{"identifier": "bad id"}}})
	assert.Equal(t, http.StatusUnprocessableEntity, status, "route schema rejects the whole request")
	assert.Zero(t, srv.EntityCount("service"))

	big := strings.Repeat("x", port.MaxRequestBytes)
	status, body := c.do(http.MethodPost, "/v1/blueprints/service/entities/bulk?upsert=true",
		map[string]any{"entities": []any{map[string]any{"identifier": "a", "properties": map[string]any{"url": big}}}})
	assert.Equal(t, http.StatusRequestEntityTooLarge, status)
	assert.Equal(t, "request_too_large", body["error"])

	status, body = c.do(http.MethodPost, "/v1/blueprints/service/entities/bulk?upsert=true", map[string]any{"entities": []any{
		map[string]any{"identifier": "a"},
		map[string]any{"identifier": "b", "properties": map[string]any{"stars": "many"}},
		map[string]any{"identifier": "c", "relations": map[string]any{"group": "missing"}},
		map[string]any{"identifier": "d"},
	}})
	require.Equal(t, http.StatusMultiStatus, status)
	assert.Equal(t, 20.0, body["maxBulkSize"])
	oks := body["entities"].([]any)
	require.Len(t, oks, 2)
	assert.Equal(t, map[string]any{"identifier": "d", "index": 3.0, "created": true, "additionalData": map[string]any{}}, oks[1])
	errs := body["errors"].([]any)
	require.Len(t, errs, 2)
	e0 := errs[0].(map[string]any)
	assert.Equal(t, "b", e0["identifier"])
	assert.Equal(t, 1.0, e0["index"])
	assert.Equal(t, 422.0, e0["statusCode"])
	assert.Equal(t, 404.0, errs[1].(map[string]any)["statusCode"])
	assert.Equal(t, 2, srv.EntityCount("service"))

	status, _ = c.do(http.MethodPost, "/v1/blueprints/service/entities/bulk?upsert=true", map[string]any{"entities": []any{map[string]any{"identifier": "a"}}})
	assert.Equal(t, http.StatusOK, status)
	status, _ = c.do(http.MethodPost, "/v1/blueprints/nope/entities/bulk?upsert=true", map[string]any{"entities": []any{map[string]any{"identifier": "a"}}})
	assert.Equal(t, http.StatusNotFound, status)
}

func TestDeletesAndDependents(t *testing.T) {
	t.Parallel()
	srv, c := seed(t)
	require.NoError(t, srv.AddBlueprint(port.Blueprint{Identifier: "mr", Title: "MR", Schema: port.BlueprintSchema{},
		Relations: map[string]port.Relation{"service": {Target: "service", Required: true}}}))
	c.do(http.MethodPost, "/v1/blueprints/group/entities?upsert=true", map[string]any{"identifier": "g"})
	c.do(http.MethodPost, "/v1/blueprints/service/entities?upsert=true", map[string]any{"identifier": "s", "relations": map[string]any{"group": "g"}})
	c.do(http.MethodPost, "/v1/blueprints/mr/entities?upsert=true", map[string]any{"identifier": "m", "relations": map[string]any{"service": "s"}})

	status, body := c.do(http.MethodDelete, "/v1/blueprints/service/entities/s?delete_dependents=false", nil)
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Equal(t, "has_dependents", body["error"])
	status, _ = c.do(http.MethodPost, "/v1/blueprints/service/bulk/entities/delete?delete_dependents=false", map[string]any{"entities": []any{"s"}})
	assert.Equal(t, http.StatusUnprocessableEntity, status, "the whole bulk fails")
	assert.Equal(t, 1, srv.EntityCount("service"))

	// An optional relation is cleared instead.
	status, _ = c.do(http.MethodDelete, "/v1/blueprints/group/entities/g?delete_dependents=false", nil)
	assert.Equal(t, http.StatusOK, status)
	s, _ := srv.Entity("service", "s")
	assert.Nil(t, s.Relations["group"])

	status, body = c.do(http.MethodPost, "/v1/blueprints/service/bulk/entities/delete?delete_dependents=true", map[string]any{"entities": []any{"s", "ghost"}})
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, []any{"s"}, body["deletedEntities"])
	assert.Zero(t, srv.EntityCount("mr"), "dependents deleted too")

	status, _ = c.do(http.MethodDelete, "/v1/blueprints/service/entities/s?delete_dependents=false", nil)
	assert.Equal(t, http.StatusNotFound, status)
	ids := make([]any, 101)
	for i := range ids {
		ids[i] = "x"
	}
	status, _ = c.do(http.MethodPost, "/v1/blueprints/service/bulk/entities/delete?delete_dependents=true", map[string]any{"entities": ids})
	assert.Equal(t, http.StatusUnprocessableEntity, status, "more than 100")
}

func TestDatasourceEntities(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv, c := seed(t, porttest.WithClock(clock))
	for i := range 7 {
		c.do(http.MethodPost, "/v1/blueprints/service/entities?upsert=true", map[string]any{"identifier": "old" + string(rune('a'+i))})
	}
	c.ua = "port-ocean/gitlab-v2/1.0.0/other/exporter"
	c.do(http.MethodPost, "/v1/blueprints/service/entities?upsert=true", map[string]any{"identifier": "foreign"})
	c.ua = "port-ocean/gitlab-v2/1.0.0/my-id/exporter"
	mu.Lock()
	now = now.Add(time.Hour)
	before := now
	now = now.Add(time.Second)
	mu.Unlock()
	c.do(http.MethodPost, "/v1/blueprints/group/entities?upsert=true", map[string]any{"identifier": "fresh"})
	require.NoError(t, srv.SeedEntity(port.Entity{Identifier: "seeded", Blueprint: "group", Datasource: "port-ocean/gitlab-v2/0.1/my-id/exporter",
		UpdatedAt: before.Add(-time.Minute)}))

	var ids []string
	from := ""
	pages := 0
	for {
		req := map[string]any{"datasource_prefix": "port-ocean/gitlab-v2/", "datasource_suffix": "/my-id/exporter", "limit": 3,
			"before": before.Format(time.RFC3339Nano)}
		if from != "" {
			req["from"] = from
		}
		status, body := c.do(http.MethodPost, "/v1/blueprints/entities/datasource-entities", req)
		require.Equal(t, http.StatusOK, status, "%v", body)
		pages++
		for _, e := range body["entities"].([]any) {
			ids = append(ids, e.(map[string]any)["identifier"].(string))
		}
		next, _ := body["next"].(string)
		if next == "" {
			break
		}
		from = next
	}
	assert.Equal(t, []string{"olda", "oldb", "oldc", "oldd", "olde", "oldf", "oldg", "seeded"}, ids)
	assert.Equal(t, 3, pages)
}

func TestSearchOperators(t *testing.T) {
	t.Parallel()
	_, c := seed(t)
	for _, e := range []map[string]any{
		{"identifier": "a", "title": "Alpha", "properties": map[string]any{"url": "https://a", "stars": 5, "tags": []any{"x", "y"}}, "team": []any{"t1"}},
		{"identifier": "b", "title": "Beta", "properties": map[string]any{"url": "http://b", "stars": 10}},
		{"identifier": "c", "title": "Gamma", "properties": map[string]any{"stars": 1}},
	} {
		status, _ := c.do(http.MethodPost, "/v1/blueprints/service/entities?upsert=true", e)
		require.Equal(t, http.StatusCreated, status)
	}
	rule := func(p, op string, v any) map[string]any {
		return map[string]any{"property": p, "operator": op, "value": v}
	}
	tests := []struct {
		name  string
		query map[string]any
		want  []any
	}{
		{"=", map[string]any{"combinator": "and", "rules": []any{rule("$identifier", "=", "a")}}, []any{"a"}},
		{"!=", map[string]any{"combinator": "and", "rules": []any{rule("$identifier", "!=", "a")}}, []any{"b", "c"}},
		{"in", map[string]any{"combinator": "and", "rules": []any{rule("$identifier", "in", []any{"a", "c", "z"})}}, []any{"a", "c"}},
		{"notIn", map[string]any{"combinator": "and", "rules": []any{rule("$identifier", "notIn", []any{"a"})}}, []any{"b", "c"}},
		{"contains", map[string]any{"combinator": "and", "rules": []any{rule("$title", "contains", "et")}}, []any{"b"}},
		{"containsAny", map[string]any{"combinator": "and", "rules": []any{rule("tags", "containsAny", []any{"y", "q"})}}, []any{"a"}},
		{"beginsWith", map[string]any{"combinator": "and", "rules": []any{rule("url", "beginsWith", "https")}}, []any{"a"}},
		{"endsWith", map[string]any{"combinator": "and", "rules": []any{rule("$title", "endsWith", "ma")}}, []any{"c"}},
		{"isEmpty", map[string]any{"combinator": "and", "rules": []any{map[string]any{"property": "url", "operator": "isEmpty"}}}, []any{"c"}},
		{">=", map[string]any{"combinator": "and", "rules": []any{rule("stars", ">=", 5)}}, []any{"a", "b"}},
		{"team =", map[string]any{"combinator": "and", "rules": []any{rule("$team", "=", "t1")}}, []any{"a"}},
		{"or nested", map[string]any{"combinator": "or", "rules": []any{rule("$identifier", "=", "c"),
			map[string]any{"combinator": "and", "rules": []any{rule("stars", ">", 4), rule("stars", "<", 6)}}}}, []any{"a", "c"}},
		{"datasource", map[string]any{"combinator": "and", "rules": []any{rule("$datasource", "contains", "/my-id/exporter"), rule("$blueprint", "=", "service")}}, []any{"a", "b", "c"}},
	}
	for _, tt := range tests {
		status, body := c.do(http.MethodPost, "/v1/entities/search?include=identifier", tt.query)
		require.Equal(t, http.StatusOK, status, "%s: %v", tt.name, body)
		var ids []any
		for _, e := range body["entities"].([]any) {
			m := e.(map[string]any)
			assert.Len(t, m, 1, "include=identifier")
			ids = append(ids, m["identifier"])
		}
		assert.Equal(t, tt.want, ids, tt.name)
	}
	status, _ := c.do(http.MethodPost, "/v1/entities/search", map[string]any{"rules": []any{}})
	assert.Equal(t, http.StatusUnprocessableEntity, status, "combinator required")
	status, _ = c.do(http.MethodPost, "/v1/entities/search", map[string]any{"combinator": "and", "rules": []any{rule("x", "between", 1)}})
	assert.Equal(t, http.StatusUnprocessableEntity, status, "unsupported operators are explicit")

	// Paginated per-blueprint search.
	status, body := c.do(http.MethodPost, "/v1/blueprints/service/entities/search", map[string]any{"limit": 2})
	require.Equal(t, http.StatusOK, status)
	assert.Len(t, body["entities"], 2)
	next := body["next"].(string)
	_, body = c.do(http.MethodPost, "/v1/blueprints/service/entities/search", map[string]any{"limit": 2, "from": next})
	assert.Len(t, body["entities"], 1)
	assert.Nil(t, body["next"])
}

func TestFaultsAndRecording(t *testing.T) {
	t.Parallel()
	srv, c := seed(t, porttest.WithRecordBodies())
	srv.InjectFault(porttest.Fault{Route: porttest.RouteGetBlueprint, Status: http.StatusServiceUnavailable, RetryAfter: "2", Times: 2})
	for range 2 {
		status, body := c.do(http.MethodGet, "/v1/blueprints/service", nil)
		assert.Equal(t, http.StatusServiceUnavailable, status)
		assert.Equal(t, false, body["ok"])
	}
	status, _ := c.do(http.MethodGet, "/v1/blueprints/service", nil)
	assert.Equal(t, http.StatusOK, status, "fault consumed")
	assert.Equal(t, 3, srv.Count(porttest.RouteGetBlueprint))

	// A POST: Go's transport itself resends idempotent requests on a dropped reused connection.
	srv.InjectFault(porttest.Fault{Route: porttest.RouteSearch, Drop: true})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/entities/search", strings.NewReader(`{"combinator":"and","rules":[]}`))
	req.Header.Set("Authorization", "Bearer "+c.token)
	_, err := srv.Client().Do(req)
	assert.Error(t, err, "dropped connection")

	c.do(http.MethodPost, "/v1/blueprints/service/entities?upsert=true", map[string]any{"identifier": "a/b"})
	reqs := srv.Requests()
	last := reqs[len(reqs)-1]
	assert.Equal(t, porttest.RouteUpsertEntity, last.Route)
	assert.Equal(t, "true", last.Query.Get("upsert"))
	assert.JSONEq(t, `{"identifier":"a/b"}`, string(last.Body))
	assert.Equal(t, c.ua, last.UserAgent)
	assert.Equal(t, http.StatusCreated, last.Status)

	status, _ = c.do(http.MethodGet, "/v1/blueprints/service/entities/a%2Fb", nil)
	assert.Equal(t, http.StatusOK, status, "escaped identifiers are decoded")
	status, body := c.do(http.MethodGet, "/v1/nothing/here", nil)
	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, "not_found", body["error"])
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	_, c := seed(t, porttest.WithRateLimit(porttest.RateLimit{Limit: 3, Period: time.Hour}))
	for i := range 3 {
		req, _ := http.NewRequest(http.MethodPost, c.srv.URL+"/v1/blueprints/service/entities?upsert=true", strings.NewReader(`{"identifier":"x"}`))
		req.Header.Set("Authorization", "Bearer "+c.token)
		res, err := c.srv.Client().Do(req)
		require.NoError(t, err)
		res.Body.Close()
		assert.Less(t, res.StatusCode, 300)
		assert.Equal(t, "3", res.Header.Get("x-ratelimit-limit"))
		assert.Equal(t, string(rune('2'-i)), res.Header.Get("x-ratelimit-remaining"))
		assert.Equal(t, "3600", res.Header.Get("x-ratelimit-period"))
		assert.NotEmpty(t, res.Header.Get("x-ratelimit-reset"))
	}
	req, _ := http.NewRequest(http.MethodPost, c.srv.URL+"/v1/blueprints/service/entities?upsert=true", strings.NewReader(`{"identifier":"x"}`))
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := c.srv.Client().Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	assert.Equal(t, "3600", res.Header.Get("Retry-After"))
	assert.Equal(t, "0", res.Header.Get("x-ratelimit-remaining"))

	status, _ := c.do(http.MethodGet, "/v1/blueprints/service", nil)
	assert.Equal(t, http.StatusOK, status, "other routes are not limited")
}

func TestBlueprintRules(t *testing.T) {
	t.Parallel()
	srv, c := seed(t)
	status, _ := c.do(http.MethodPost, "/v1/blueprints", map[string]any{"identifier": "x", "title": "X",
		"schema": map[string]any{"properties": map[string]any{}}, "relations": map[string]any{"r": map[string]any{"target": "missing", "required": false, "many": false}}})
	assert.Equal(t, http.StatusNotFound, status, "relation target must exist")
	status, _ = c.do(http.MethodPost, "/v1/blueprints", map[string]any{"identifier": "x", "title": "X"})
	assert.Equal(t, http.StatusUnprocessableEntity, status, "schema required")
	status, _ = c.do(http.MethodPost, "/v1/blueprints", map[string]any{"identifier": "x=y", "title": "X", "schema": map[string]any{"properties": map[string]any{}}})
	assert.Equal(t, http.StatusUnprocessableEntity, status, "no = in blueprint identifiers")
	status, _ = c.do(http.MethodPost, "/v1/blueprints", map[string]any{"identifier": "x", "title": "X", "schema": map[string]any{"properties": map[string]any{"p": map[string]any{"type": "date"}}}})
	assert.Equal(t, http.StatusUnprocessableEntity, status, "bad property type")
	c.do(http.MethodPost, "/v1/blueprints/group/entities?upsert=true", map[string]any{"identifier": "g"})
	status, _ = c.do(http.MethodDelete, "/v1/blueprints/group", nil)
	assert.Equal(t, http.StatusConflict, status, "blueprint with entities")
	assert.Equal(t, []string{"group", "service"}, srv.Blueprints())
}

func TestConcurrentWritesAreSafe(t *testing.T) {
	t.Parallel()
	srv, c := seed(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				id := string(rune('a'+g)) + "-" + string(rune('a'+i))
				c.do(http.MethodPost, "/v1/blueprints/service/entities/bulk?upsert=true&merge=true",
					map[string]any{"entities": []any{map[string]any{"identifier": id, "properties": map[string]any{"stars": i}}}})
				c.do(http.MethodPost, "/v1/blueprints/entities/datasource-entities", map[string]any{"datasource_prefix": "", "datasource_suffix": ""})
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 160, srv.EntityCount("service"))
	assert.Equal(t, 160, srv.TotalEntities())
}
