package port_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

func TestUpsertEntity(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t, porttest.WithRecordBodies())
	c := newClient(t, srv)
	ctx := t.Context()
	got, err := c.UpsertEntity(ctx, port.Entity{Identifier: "a/b", Blueprint: "service", Title: "A",
		Properties: map[string]any{"url": "https://x", "stars": 3.0}}, port.UpsertOptions{
		Merge: true, CreateMissingRelatedEntities: true, RunID: "r1", EventType: "resync", ResyncID: "rs-1"})
	require.NoError(t, err)
	assert.Equal(t, "a/b", got.ID())
	assert.Equal(t, "service", got.Blueprint)
	assert.False(t, got.CreatedAt.IsZero())

	reqs := srv.Requests()
	last := reqs[len(reqs)-1]
	assert.Equal(t, "/v1/blueprints/service/entities", last.Path)
	assert.Equal(t, map[string][]string{"upsert": {"true"}, "merge": {"true"}, "create_missing_related_entities": {"true"},
		"validation_only": {"false"}, "run_id": {"r1"}, "ocean_info_event_type": {"resync"}, "ocean_info_resync_id": {"rs-1"}},
		map[string][]string(last.Query))
	assert.NotContains(t, string(last.Body), `"blueprint"`, "the blueprint is in the path")

	// merge keeps properties that are not sent; replace drops them.
	_, err = c.UpsertEntity(ctx, port.Entity{Identifier: "a/b", Blueprint: "service", Properties: map[string]any{"stars": 4.0}}, port.UpsertOptions{Merge: true})
	require.NoError(t, err)
	e, _ := srv.Entity("service", "a/b")
	assert.Equal(t, map[string]any{"url": "https://x", "stars": 4.0}, e.Properties)
	assert.Equal(t, "A", e.Title)
	_, err = c.UpsertEntity(ctx, port.Entity{Identifier: "a/b", Blueprint: "service", Properties: map[string]any{"stars": 5.0}}, port.UpsertOptions{})
	require.NoError(t, err)
	e, _ = srv.Entity("service", "a/b")
	assert.Equal(t, map[string]any{"stars": 5.0}, e.Properties)

	// validation_only writes nothing.
	_, err = c.UpsertEntity(ctx, port.Entity{Identifier: "v", Blueprint: "service"}, port.UpsertOptions{ValidationOnly: true})
	require.NoError(t, err)
	_, ok := srv.Entity("service", "v")
	assert.False(t, ok)

	_, err = c.UpsertEntity(ctx, port.Entity{Identifier: "x", Blueprint: "service", Relations: map[string]any{"group": "missing"}}, port.UpsertOptions{})
	assert.True(t, port.IsNotFound(err), "missing related entity: %v", err)
	_, err = c.UpsertEntity(ctx, port.Entity{Identifier: "x"}, port.UpsertOptions{})
	require.Error(t, err)
}

func TestBulkUpsertSplitsByCount(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t)
	c := newClient(t, srv)
	res, err := c.BulkUpsert(t.Context(), "service", services(45, "s"), port.UpsertOptions{Merge: true})
	require.NoError(t, err)
	require.Len(t, res, 45)
	for i, r := range res {
		assert.Equal(t, i, r.Index)
		assert.Equal(t, "s"+itoa(i), r.Identifier)
		assert.True(t, r.Created)
		assert.NoError(t, r.Err)
	}
	assert.Equal(t, 3, srv.Count(porttest.RouteBulkUpsert))
	assert.Equal(t, 45, srv.EntityCount("service"))

	res, err = c.BulkUpsert(t.Context(), "service", services(2, "s"), port.UpsertOptions{Merge: true})
	require.NoError(t, err)
	assert.False(t, res[0].Created, "second write updates")
}

func TestBulkUpsertSplitsBySize(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t, porttest.WithRecordBodies())
	c := newClient(t, srv)
	big := strings.Repeat("x", 300<<10) // 300 KiB: three fit in 1 MiB, four do not
	ents := services(10, "big")
	for i := range ents {
		ents[i].Properties["blob"] = big
	}
	res, err := c.BulkUpsert(t.Context(), "service", ents, port.UpsertOptions{})
	require.NoError(t, err)
	for _, r := range res {
		require.NoError(t, r.Err)
	}
	reqs := srv.Requests()
	n := 0
	for _, r := range reqs {
		if r.Route == porttest.RouteBulkUpsert {
			n++
			assert.LessOrEqual(t, len(r.Body), port.MaxRequestBytes)
			var body struct{ Entities []json.RawMessage }
			require.NoError(t, json.Unmarshal(r.Body, &body))
			assert.LessOrEqual(t, len(body.Entities), 3)
		}
	}
	assert.Equal(t, 4, n)
	assert.Equal(t, 10, srv.EntityCount("service"))
}

func TestBulkUpsertEntityTooLarge(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t)
	c := newClient(t, srv)
	ents := services(3, "s")
	ents[1].Properties["blob"] = strings.Repeat("y", port.MaxRequestBytes)
	res, err := c.BulkUpsert(t.Context(), "service", ents, port.UpsertOptions{})
	require.NoError(t, err)
	assert.NoError(t, res[0].Err)
	assert.ErrorIs(t, res[1].Err, port.ErrEntityTooLarge)
	assert.True(t, port.IsTooLarge(res[1].Err))
	assert.NoError(t, res[2].Err)
	assert.Equal(t, 1, srv.Count(porttest.RouteBulkUpsert))
}

func TestBulkUpsertPartialFailure(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t)
	c := newClient(t, srv)
	ents := services(5, "s")
	ents[1].Properties["nope"] = 1                           // unknown property: 422
	ents[3].Properties["language"] = "cobol"                 // not in enum: 422
	ents[4].Relations = map[string]any{"group": "g-missing"} // missing related entity: 404
	res, err := c.BulkUpsert(t.Context(), "service", ents, port.UpsertOptions{})
	require.NoError(t, err, "per-entity failures do not stop the bulk")
	assert.NoError(t, res[0].Err)
	assert.NoError(t, res[2].Err)
	assert.True(t, port.IsValidation(res[1].Err))
	assert.True(t, port.IsValidation(res[3].Err))
	assert.True(t, port.IsNotFound(res[4].Err))
	var pe *port.Error
	require.ErrorAs(t, res[1].Err, &pe)
	assert.Equal(t, "s1", pe.Identifier)
	assert.Contains(t, pe.Message, "nope")
	assert.Equal(t, 2, srv.EntityCount("service"))
	assert.Equal(t, 1, srv.Count(porttest.RouteBulkUpsert))

	// With create_missing_related_entities the relation target is created.
	res, err = c.BulkUpsert(t.Context(), "service", ents[4:], port.UpsertOptions{CreateMissingRelatedEntities: true})
	require.NoError(t, err)
	require.NoError(t, res[0].Err)
	_, ok := srv.Entity("group", "g-missing")
	assert.True(t, ok)
}

func TestBulkUpsertWholeRequest413FallsBack(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t)
	c := newClient(t, srv)
	// Port rejects the first request and both halves' first tries as too large.
	srv.InjectFault(porttest.Fault{Route: porttest.RouteBulkUpsert, Status: http.StatusRequestEntityTooLarge, Times: 1})
	res, err := c.BulkUpsert(t.Context(), "service", services(6, "s"), port.UpsertOptions{})
	require.NoError(t, err)
	for _, r := range res {
		assert.NoError(t, r.Err)
	}
	assert.Equal(t, 3, srv.Count(porttest.RouteBulkUpsert), "one rejected request, then two halves")
	assert.Equal(t, 6, srv.EntityCount("service"))

	// A lone entity that still gets 413 goes through the single-entity route.
	srv.InjectFault(porttest.Fault{Route: porttest.RouteBulkUpsert, Status: http.StatusRequestEntityTooLarge, Times: 1})
	res, err = c.BulkUpsert(t.Context(), "service", services(1, "lone"), port.UpsertOptions{})
	require.NoError(t, err)
	require.NoError(t, res[0].Err)
	assert.Equal(t, 1, srv.Count(porttest.RouteUpsertEntity))
	_, ok := srv.Entity("service", "lone0")
	assert.True(t, ok)
}

func TestBulkUpsertIsolatesRouteLevelRejection(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t)
	c := newClient(t, srv)
	ents := services(8, "s")
	ents[5].Identifier = "has space" // violates Port's identifier pattern: the whole request is 422
	res, err := c.BulkUpsert(t.Context(), "service", ents, port.UpsertOptions{})
	require.NoError(t, err)
	for i, r := range res {
		if i == 5 {
			assert.True(t, port.IsValidation(r.Err))
			continue
		}
		assert.NoError(t, r.Err, "entity %d", i)
	}
	assert.Equal(t, 7, srv.EntityCount("service"))
}

func TestBulkUpsertWholeChunkFailure(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t)
	c := newClient(t, srv)
	res, err := c.BulkUpsert(t.Context(), "nope", services(3, "s"), port.UpsertOptions{})
	require.NoError(t, err, "a missing blueprint fails the entities, not the caller")
	for _, r := range res {
		assert.True(t, port.IsNotFound(r.Err))
	}

	srv.InjectFault(porttest.Fault{Route: porttest.RouteBulkUpsert, Status: http.StatusServiceUnavailable, Times: 100})
	res, err = c.BulkUpsert(t.Context(), "service", services(25, "s"), port.UpsertOptions{})
	require.NoError(t, err)
	for _, r := range res {
		var pe *port.Error
		require.ErrorAs(t, r.Err, &pe)
		assert.Equal(t, http.StatusServiceUnavailable, pe.StatusCode)
	}
	assert.Equal(t, 2*fastRetry.MaxAttempts+1, srv.Count(porttest.RouteBulkUpsert))
}

func TestBulkUpsertStopsOnAuthFailure(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t)
	c := newClient(t, srv)
	srv.InjectFault(porttest.Fault{Route: porttest.RouteBulkUpsert, Status: http.StatusUnauthorized, Times: 2})
	res, err := c.BulkUpsert(t.Context(), "service", services(45, "s"), port.UpsertOptions{})
	require.Error(t, err)
	assert.True(t, port.IsUnauthorized(err))
	require.Len(t, res, 45)
	for _, r := range res {
		assert.Error(t, r.Err)
	}
	assert.Equal(t, 2, srv.Count(porttest.RouteBulkUpsert), "one refresh, then stop")

	srv.InjectFault(porttest.Fault{Route: porttest.RouteBulkUpsert, Status: http.StatusForbidden})
	_, err = c.BulkUpsert(t.Context(), "service", services(3, "s"), port.UpsertOptions{})
	assert.True(t, port.IsForbidden(err))
}

func TestBulkUpsertContextCancelled(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t)
	c := newClient(t, srv)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res, err := c.BulkUpsert(ctx, "service", services(3, "s"), port.UpsertOptions{})
	require.ErrorIs(t, err, context.Canceled)
	for _, r := range res {
		assert.ErrorIs(t, r.Err, context.Canceled)
	}
}

func TestBulkUpsertRejectsForeignBlueprint(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t)
	c := newClient(t, srv)
	ents := services(2, "s")
	ents[1].Blueprint = "group"
	res, err := c.BulkUpsert(t.Context(), "service", ents, port.UpsertOptions{})
	require.NoError(t, err)
	assert.NoError(t, res[0].Err)
	assert.Error(t, res[1].Err)
}

func TestSearchIdentifierResolvesInBulk(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t)
	c := newClient(t, srv)
	ctx := t.Context()
	_, err := c.UpsertEntity(ctx, port.Entity{Identifier: "real-id", Blueprint: "service", Properties: map[string]any{"url": "u1"}}, port.UpsertOptions{})
	require.NoError(t, err)
	res, err := c.BulkUpsert(ctx, "service", []port.Entity{
		{Identifier: port.And(port.Rule{Property: "url", Operator: "=", Value: "u1"}), Properties: map[string]any{"stars": 9.0}},
		{Identifier: port.And(port.Rule{Property: "url", Operator: "=", Value: "none"})},
	}, port.UpsertOptions{Merge: true})
	require.NoError(t, err)
	require.NoError(t, res[0].Err)
	assert.Equal(t, "real-id", res[0].Identifier)
	assert.True(t, port.IsNotFound(res[1].Err))
	e, _ := srv.Entity("service", "real-id")
	assert.Equal(t, 9.0, e.Properties["stars"])
}

func TestDeleteEntity(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t)
	c := newClient(t, srv)
	ctx := t.Context()
	_, err := c.BulkUpsert(ctx, "service", services(2, "s"), port.UpsertOptions{})
	require.NoError(t, err)
	require.NoError(t, c.DeleteEntity(ctx, "service", "s0", port.DeleteOptions{DeleteDependents: true}))
	_, ok := srv.Entity("service", "s0")
	assert.False(t, ok)
	require.NoError(t, c.DeleteEntity(ctx, "service", "s0", port.DeleteOptions{}), "404 = already deleted")
	q := srv.Requests()[len(srv.Requests())-1].Query
	assert.Equal(t, "false", q.Get("delete_dependents"))
}

func TestBulkDelete(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t)
	c := newClient(t, srv)
	ctx := t.Context()
	for i := 0; i < 250; i += 50 {
		res, err := c.BulkUpsert(ctx, "service", services(250, "s")[i:i+50], port.UpsertOptions{})
		require.NoError(t, err)
		require.NoError(t, errors.Join(res[0].Err))
	}
	ids := make([]string, 0, 252)
	for i := range 250 {
		ids = append(ids, "s"+itoa(i))
	}
	ids = append(ids, "ghost-1", "ghost-2")
	deleted, err := c.BulkDelete(ctx, "service", ids, port.DeleteOptions{DeleteDependents: true})
	require.NoError(t, err)
	assert.Len(t, deleted, 250, "only what Port reports as deleted")
	assert.Equal(t, 3, srv.Count(porttest.RouteBulkDelete))
	assert.Zero(t, srv.EntityCount("service"))

	// A failing request does not stop the others; its error is reported.
	_, err = c.BulkUpsert(ctx, "service", services(150, "t"), port.UpsertOptions{})
	require.NoError(t, err)
	srv.InjectFault(porttest.Fault{Route: porttest.RouteBulkDelete, Status: http.StatusInternalServerError})
	tids := make([]string, 150)
	for i := range tids {
		tids[i] = "t" + itoa(i)
	}
	deleted, err = c.BulkDelete(ctx, "service", tids, port.DeleteOptions{})
	require.Error(t, err)
	assert.Len(t, deleted, 50)
}

func TestSearchEntities(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t)
	c := newClient(t, srv)
	ctx := t.Context()
	_, err := c.BulkUpsert(ctx, "service", services(10, "s"), port.UpsertOptions{})
	require.NoError(t, err)
	got, err := c.SearchEntities(ctx, port.And(
		port.Rule{Property: "$identifier", Operator: "in", Value: []string{"s1", "s2", "s9", "zz"}},
		port.Rule{Property: "$blueprint", Operator: "=", Value: "service"},
		port.Rule{Property: "$datasource", Operator: "contains", Value: testDS.Prefix()},
		port.Rule{Property: "$datasource", Operator: "contains", Value: testDS.Suffix()},
	), port.SearchOptions{Include: []string{"identifier", "properties.stars"}, ExcludeCalculatedProperties: true})
	require.NoError(t, err)
	require.Len(t, got, 3)
	assert.Equal(t, "s1", got[0].ID())
	assert.Equal(t, map[string]any{"stars": 1.0}, got[0].Properties)
	assert.Empty(t, got[0].Title, "not included")
	q := srv.Requests()[len(srv.Requests())-1].Query
	assert.Equal(t, []string{"identifier", "properties.stars"}, q["include"])
	assert.Equal(t, "true", q.Get("exclude_calculated_properties"))

	_, err = c.SearchEntities(ctx, port.Query{Combinator: "xor"}, port.SearchOptions{})
	assert.True(t, port.IsValidation(err))
}

func TestSearchBlueprintEntitiesStreamsPages(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t)
	c := newClient(t, srv)
	ctx := t.Context()
	_, err := c.BulkUpsert(ctx, "service", services(30, "s"), port.UpsertOptions{})
	require.NoError(t, err)
	var ids []string
	for e, err := range c.SearchBlueprintEntities(ctx, "service", port.Query{}, port.SearchOptions{Limit: 7}) {
		require.NoError(t, err)
		ids = append(ids, e.ID())
	}
	assert.Len(t, ids, 30)
	assert.Equal(t, 5, srv.Count(porttest.RouteBlueprintSearch))

	// Filtered, and stopping early stops fetching.
	srv.ResetRequests()
	n := 0
	for e, err := range c.SearchBlueprintEntities(ctx, "service", port.And(port.Rule{Property: "stars", Operator: ">=", Value: 10}), port.SearchOptions{Limit: 5}) {
		require.NoError(t, err)
		assert.GreaterOrEqual(t, e.Properties["stars"], 10.0)
		n++
		if n == 3 {
			break
		}
	}
	assert.Equal(t, 1, srv.Count(porttest.RouteBlueprintSearch))

	for _, err := range c.SearchBlueprintEntities(ctx, "nope", port.Query{}, port.SearchOptions{}) {
		assert.True(t, port.IsNotFound(err))
	}
}

func TestDatasourceEntitiesPagesAndBefore(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	srv := newCatalog(t, porttest.WithClock(clock.Now), porttest.WithRecordBodies())
	c := newClient(t, srv)
	port.SetClock(c, clock.Now)
	ctx := t.Context()
	_, err := c.BulkUpsert(ctx, "service", services(25, "old"), port.UpsertOptions{})
	require.NoError(t, err)
	clock.Advance(time.Minute)
	resyncStart := clock.Now()
	clock.Advance(time.Minute)
	_, err = c.BulkUpsert(ctx, "service", services(5, "new"), port.UpsertOptions{})
	require.NoError(t, err)
	srv.ResetRequests()

	var pages [][]port.Entity
	for page, err := range c.DatasourceEntities(ctx, port.DatasourceQuery{Before: resyncStart, Limit: 10}) {
		require.NoError(t, err)
		pages = append(pages, page)
	}
	require.Len(t, pages, 3)
	assert.Len(t, pages[0], 10)
	assert.Len(t, pages[2], 5)
	for _, p := range pages {
		for _, e := range p {
			assert.True(t, strings.HasPrefix(e.ID(), "old"), e.ID())
		}
	}
	var body map[string]any
	require.NoError(t, json.Unmarshal(srv.Requests()[0].Body, &body))
	assert.Equal(t, testDS.Prefix(), body["datasource_prefix"])
	assert.Equal(t, testDS.Suffix(), body["datasource_suffix"])
	assert.Equal(t, resyncStart.Format(time.RFC3339Nano), body["before"])

	n := 0
	for page, err := range c.DatasourceEntities(ctx, port.DatasourceQuery{Prefix: testDS.Prefix(), Suffix: testDS.Suffix()}) {
		require.NoError(t, err)
		n += len(page)
	}
	assert.Equal(t, 30, n, "default page size 5000: one page")
}
