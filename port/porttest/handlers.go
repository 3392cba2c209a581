package porttest

import (
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/oceankit/oceankit/port"
)

func (s *Server) routes(mux *http.ServeMux) {
	s.handle(mux, RouteToken, s.handleToken)
	s.handle(mux, RouteUpsertEntity, s.handleUpsert)
	s.handle(mux, RouteBulkUpsert, s.handleBulkUpsert)
	s.handle(mux, RouteGetEntity, s.handleGetEntity)
	s.handle(mux, RouteDeleteEntity, s.handleDeleteEntity)
	s.handle(mux, RouteBulkDelete, s.handleBulkDelete)
	s.handle(mux, RouteSearch, s.handleSearch)
	s.handle(mux, RouteBlueprintSearch, s.handleBlueprintSearch)
	s.handle(mux, RouteDatasourceEntities, s.handleDatasourceEntities)
	s.handle(mux, RouteCreateBlueprint, s.handleCreateBlueprint)
	s.handle(mux, RouteGetBlueprint, s.handleGetBlueprint)
	s.handle(mux, RouteListBlueprints, s.handleListBlueprints)
	s.handle(mux, RoutePatchBlueprint, s.handlePatchBlueprint)
	s.handle(mux, RouteDeleteBlueprint, s.handleDeleteBlueprint)
	s.handle(mux, RouteCreateIntegration, s.handleCreateIntegration)
	s.handle(mux, RouteGetIntegration, s.handleGetIntegration)
	s.handle(mux, RoutePatchIntegration, s.handlePatchIntegration)
	s.handle(mux, RouteDeleteIntegration, s.handleDeleteIntegration)
	s.handle(mux, RoutePatchConfig, s.handlePatchConfig)
	s.handle(mux, RoutePatchResyncState, s.handlePatchResyncState)
	s.handle(mux, RouteGetResyncRequest, s.handleGetResyncRequest)
	s.handle(mux, RoutePostKindExamples, s.handlePostKindExamples)
	s.handle(mux, RouteGetKinds, s.handleGetKinds)
	s.handle(mux, RouteGetCursor, s.handleGetCursor)
	s.handle(mux, RoutePutCursor, s.handleSetCursor(false))
	s.handle(mux, RoutePostCursor, s.handleSetCursor(true))
	s.handle(mux, RouteProvisionEnabled, s.handleProvisionEnabled)
	s.handle(mux, RouteOrganization, s.handleOrganization)
	s.handle(mux, RouteKafkaCredentials, s.handleKafkaCredentials)
	s.handle(mux, RouteClaimPendingRuns, s.handleClaimPendingRuns)
	s.handle(mux, RouteAckRun, s.handleAckRun)
	s.handle(mux, RoutePatchRun, s.handlePatchRun)
	s.handle(mux, RoutePostRunLog, s.handlePostRunLog)
	s.handle(mux, RouteGetRun, s.handleGetRun)
	s.handle(mux, RouteListRuns, s.handleListRuns)
	s.handle(mux, RouteCreateAction, s.resourceCreate("action"))
	s.handle(mux, RouteGetAction, s.resourceGet("action"))
	s.handle(mux, RouteCreateScorecard, s.resourceCreate("scorecard"))
	s.handle(mux, RouteGetScorecard, s.resourceGet("scorecard"))
	s.handle(mux, RouteCreatePage, s.resourceCreate("page"))
	s.handle(mux, RouteGetPage, s.resourceGet("page"))
	s.handle(mux, RouteDeletePage, s.handleDeletePage)
	s.ingestRoutes(mux)
	s.handle(mux, RouteUnknown, func(w http.ResponseWriter, c *call) {
		writeError(w, http.StatusNotFound, "not_found", "Route "+c.r.Method+" "+c.r.URL.Path+" was not found")
	})
}

// ---- entities ----

func (s *Server) handleUpsert(w http.ResponseWriter, c *call) {
	var in entityIn
	if aerr := decode(c, &in); aerr != nil {
		aerr.write(w)
		return
	}
	if aerr := routeCheck(&in); aerr != nil {
		aerr.write(w)
		return
	}
	o := writeOptsOf(c.r, c.ua)
	cat := &s.catalog
	cat.mu.Lock()
	bp, ok := cat.blueprints[c.r.PathValue("blueprint")]
	if !ok {
		cat.mu.Unlock()
		notFound("Blueprint", c.r.PathValue("blueprint")).write(w)
		return
	}
	e, created, aerr := cat.upsertLocked(bp, &in, o, cat.now())
	var out port.Entity
	if aerr == nil {
		out = e.toPort()
	}
	cat.mu.Unlock()
	if aerr != nil {
		aerr.write(w)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, map[string]any{"ok": true, "entity": out})
}

type bulkResult struct {
	Identifier     string         `json:"identifier"`
	Index          int            `json:"index"`
	Created        bool           `json:"created"`
	AdditionalData map[string]any `json:"additionalData"`
}

type bulkError struct {
	Identifier string `json:"identifier"`
	Index      int    `json:"index"`
	StatusCode int    `json:"statusCode"`
	Error      string `json:"error"`
	Message    string `json:"message"`
}

func (s *Server) handleBulkUpsert(w http.ResponseWriter, c *call) {
	var body struct {
		Entities []entityIn `json:"entities"`
	}
	if aerr := decode(c, &body); aerr != nil {
		aerr.write(w)
		return
	}
	if n := len(body.Entities); n < 1 || n > port.MaxBulkUpsert {
		badQuery(`"entities" must NOT have fewer than 1 or more than %d items (got %d)`, port.MaxBulkUpsert, n).write(w)
		return
	}
	for i := range body.Entities {
		if aerr := routeCheck(&body.Entities[i]); aerr != nil {
			aerr.message = "entities/" + strconv.Itoa(i) + ": " + aerr.message
			aerr.write(w)
			return
		}
	}
	o := writeOptsOf(c.r, c.ua)
	cat := &s.catalog
	results := make([]bulkResult, 0, len(body.Entities))
	var errs []bulkError
	cat.mu.Lock()
	bp, ok := cat.blueprints[c.r.PathValue("blueprint")]
	if !ok {
		cat.mu.Unlock()
		notFound("Blueprint", c.r.PathValue("blueprint")).write(w)
		return
	}
	now := cat.now()
	for i := range body.Entities {
		in := &body.Entities[i]
		e, created, aerr := cat.upsertLocked(bp, in, o, now)
		if aerr != nil {
			id, _ := in.Identifier.(string)
			if id == "" {
				id = "unknown"
			}
			errs = append(errs, bulkError{Identifier: id, Index: i, StatusCode: aerr.status, Error: aerr.code, Message: aerr.message})
			continue
		}
		results = append(results, bulkResult{Identifier: e.id, Index: i, Created: created, AdditionalData: map[string]any{}})
	}
	cat.mu.Unlock()
	status := http.StatusOK
	if len(errs) > 0 {
		status = http.StatusMultiStatus
	}
	ans := map[string]any{"ok": true, "maxBulkSize": port.MaxBulkUpsert, "entities": results}
	if len(errs) > 0 {
		ans["errors"] = errs
	} else {
		ans["errors"] = []bulkError{}
	}
	writeJSON(w, status, ans)
}

func (s *Server) handleGetEntity(w http.ResponseWriter, c *call) {
	cat := &s.catalog
	cat.mu.RLock()
	bpID, id := c.r.PathValue("blueprint"), c.r.PathValue("identifier")
	bp, ok := cat.blueprints[bpID]
	var e *entity
	if ok {
		e = bp.entities[id]
	}
	var out port.Entity
	if e != nil {
		out = e.toPort()
	}
	cat.mu.RUnlock()
	switch {
	case !ok:
		notFound("Blueprint", bpID).write(w)
	case e == nil:
		notFound("Entity", id).write(w)
	default:
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "entity": out})
	}
}

func (s *Server) handleDeleteEntity(w http.ResponseWriter, c *call) {
	cat := &s.catalog
	bpID, id := c.r.PathValue("blueprint"), c.r.PathValue("identifier")
	cat.mu.Lock()
	defer cat.mu.Unlock()
	bp, ok := cat.blueprints[bpID]
	if !ok {
		notFound("Blueprint", bpID).write(w)
		return
	}
	e := bp.entities[id]
	if e == nil {
		notFound("Entity", id).write(w)
		return
	}
	if aerr := cat.deleteLocked(e, boolParam(c.r, "delete_dependents")); aerr != nil {
		aerr.write(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (s *Server) handleBulkDelete(w http.ResponseWriter, c *call) {
	var body struct {
		Entities []string `json:"entities"`
	}
	if aerr := decode(c, &body); aerr != nil {
		aerr.write(w)
		return
	}
	if n := len(body.Entities); n < 1 || n > port.MaxBulkDelete {
		badQuery(`"entities" must NOT have fewer than 1 or more than %d items (got %d)`, port.MaxBulkDelete, n).write(w)
		return
	}
	dependents := boolParam(c.r, "delete_dependents")
	cat := &s.catalog
	cat.mu.Lock()
	defer cat.mu.Unlock()
	bpID := c.r.PathValue("blueprint")
	bp, ok := cat.blueprints[bpID]
	if !ok {
		notFound("Blueprint", bpID).write(w)
		return
	}
	if !dependents {
		// "If any entity has dependent entities and delete_dependents is false, the
		// entire operation will fail and no entities will be deleted."
		set := map[string]bool{}
		for _, id := range body.Entities {
			set[key(bpID, id)] = true
		}
		for _, id := range body.Entities {
			if e := bp.entities[id]; e != nil {
				if aerr := cat.blockingDependent(e, set); aerr != nil {
					aerr.write(w)
					return
				}
			}
		}
	}
	deleted := []string{}
	for _, id := range body.Entities {
		e := bp.entities[id]
		if e == nil {
			continue
		}
		if dependents {
			_ = cat.deleteLocked(e, true)
		} else {
			// Dependents were checked for the whole request above.
			cat.detach(e)
			cat.removeEntity(e)
		}
		deleted = append(deleted, id)
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "deletedEntities": deleted, "maxBulkSize": port.MaxBulkDelete})
}

// blockingDependent reports an entity outside set that needs e through a required relation.
func (c *catalog) blockingDependent(e *entity, set map[string]bool) *apiError {
	k := key(e.bp.id, e.id)
	for src := range c.refs[k] {
		if set[key(src.bp.id, src.id)] {
			continue
		}
		var blocking string
		relTargets(src, func(rel, t string) {
			if t == k && src.bp.relations[rel].required {
				blocking = rel
			}
		})
		if blocking != "" {
			return errorf(http.StatusUnprocessableEntity, "has_dependents",
				"Entity %q has dependent entities (%q of blueprint %q); use delete_dependents=true", e.id, src.id, src.bp.id)
		}
	}
	return nil
}

func render(e *entity, include, exclude []string) any {
	if len(include) == 0 && len(exclude) == 0 {
		if e.packed != nil {
			return renderPacked(e)
		}
		return e.toPort()
	}
	m := map[string]any{"identifier": e.id, "blueprint": e.bp.id, "title": e.title, "icon": e.icon, "team": e.team,
		"properties": e.properties(), "relations": e.relations(), "createdAt": e.createdAt, "updatedAt": e.updatedAt,
		"createdBy": "porttest", "updatedBy": "porttest", "$datasource": e.datasource}
	return project(m, include, exclude)
}

func (s *Server) handleSearch(w http.ResponseWriter, c *call) {
	var q map[string]any
	if aerr := decode(c, &q); aerr != nil {
		aerr.write(w)
		return
	}
	if aerr := validQuery(q); aerr != nil {
		aerr.write(w)
		return
	}
	include, exclude := c.r.URL.Query()["include"], c.r.URL.Query()["exclude"]
	cat := &s.catalog
	cat.mu.RLock()
	var bps []*blueprint
	if id, ok := blueprintLookup(q); ok {
		if bp := cat.blueprints[id]; bp != nil {
			bps = append(bps, bp)
		}
	} else {
		for _, bp := range cat.blueprints {
			bps = append(bps, bp)
		}
		sort.Slice(bps, func(i, j int) bool { return bps[i].id < bps[j].id })
	}
	out := []any{}
	matching := []string{}
	for _, bp := range bps {
		found, aerr := cat.matchIn(bp, q, 0)
		if aerr != nil {
			cat.mu.RUnlock()
			aerr.write(w)
			return
		}
		matching = append(matching, bp.id)
		for _, e := range found {
			out = append(out, render(e, include, exclude))
		}
	}
	cat.mu.RUnlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "matchingBlueprints": matching, "failedBlueprints": []string{}, "entities": out})
}

func parseCursor(s string) (uint64, *apiError) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, badQuery(`"from" is not a cursor this server issued`)
	}
	return n, nil
}

func (s *Server) handleBlueprintSearch(w http.ResponseWriter, c *call) {
	var body struct {
		Query   map[string]any `json:"query"`
		Include []string       `json:"include"`
		Exclude []string       `json:"exclude"`
		Limit   *int           `json:"limit"`
		From    string         `json:"from"`
	}
	if aerr := decode(c, &body); aerr != nil {
		aerr.write(w)
		return
	}
	if body.Query == nil {
		body.Query = map[string]any{"combinator": "and", "rules": []any{}}
	}
	if aerr := validQuery(body.Query); aerr != nil {
		aerr.write(w)
		return
	}
	limit := 200
	if body.Limit != nil {
		limit = *body.Limit
	}
	if limit < 1 || limit > 1000 {
		badQuery(`"limit" must be between 1 and 1000`).write(w)
		return
	}
	from, aerr := parseCursor(body.From)
	if aerr != nil {
		aerr.write(w)
		return
	}
	cat := &s.catalog
	cat.mu.RLock()
	bpID := c.r.PathValue("blueprint")
	bp, ok := cat.blueprints[bpID]
	if !ok {
		cat.mu.RUnlock()
		notFound("Blueprint", bpID).write(w)
		return
	}
	out := make([]any, 0, min(limit, len(bp.entities)))
	var next any
	i := seek(bp.order, from)
	for ; i < len(bp.order); i++ {
		e := bp.order[i]
		if e.deleted {
			continue
		}
		if len(out) == limit {
			next = strconv.FormatUint(e.seq, 10)
			break
		}
		m, aerr := match(e, body.Query)
		if aerr != nil {
			cat.mu.RUnlock()
			aerr.write(w)
			return
		}
		if m {
			out = append(out, render(e, body.Include, body.Exclude))
		}
	}
	cat.mu.RUnlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "entities": out, "next": next})
}

func (s *Server) handleDatasourceEntities(w http.ResponseWriter, c *call) {
	var body struct {
		Prefix string `json:"datasource_prefix"`
		Suffix string `json:"datasource_suffix"`
		Limit  *int   `json:"limit"`
		From   string `json:"from"`
		Before string `json:"before"`
	}
	if aerr := decode(c, &body); aerr != nil {
		aerr.write(w)
		return
	}
	limit := 5000
	if body.Limit != nil {
		limit = *body.Limit
	}
	if limit < 1 {
		badQuery(`"limit" must be positive`).write(w)
		return
	}
	var before time.Time
	if body.Before != "" {
		t, err := time.Parse(time.RFC3339Nano, body.Before)
		if err != nil {
			badQuery(`"before" must be an ISO-8601 date-time`).write(w)
			return
		}
		before = t
	}
	from, aerr := parseCursor(body.From)
	if aerr != nil {
		aerr.write(w)
		return
	}
	include, exclude := c.r.URL.Query()["include"], c.r.URL.Query()["exclude"]
	cat := &s.catalog
	cat.mu.RLock()
	out := make([]any, 0, min(limit, len(cat.all)))
	var next any
	for i := seek(cat.all, from); i < len(cat.all); i++ {
		e := cat.all[i]
		if e.deleted || !hasAffixes(e.datasource, body.Prefix, body.Suffix) || (!before.IsZero() && !e.updatedAt.Before(before)) {
			continue
		}
		if len(out) == limit {
			next = strconv.FormatUint(e.seq, 10)
			break
		}
		out = append(out, render(e, include, exclude))
	}
	cat.mu.RUnlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "entities": out, "next": next})
}

func hasAffixes(ds, prefix, suffix string) bool {
	return ds != "" && len(ds) >= len(prefix)+len(suffix) && ds[:len(prefix)] == prefix && ds[len(ds)-len(suffix):] == suffix
}

// ---- blueprints ----

func (s *Server) handleCreateBlueprint(w http.ResponseWriter, c *call) {
	var raw map[string]any
	if aerr := decode(c, &raw); aerr != nil {
		aerr.write(w)
		return
	}
	bp, aerr := s.catalog.createBlueprint(raw)
	if aerr != nil {
		aerr.write(w)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"ok": true, "blueprint": bp})
}

func (s *Server) handleGetBlueprint(w http.ResponseWriter, c *call) {
	bp, aerr := s.catalog.getBlueprint(c.r.PathValue("blueprint"))
	if aerr != nil {
		aerr.write(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "blueprint": bp})
}

func (s *Server) handleListBlueprints(w http.ResponseWriter, _ *call) {
	s.catalog.mu.RLock()
	ids := slices.Sorted(maps.Keys(s.catalog.blueprints))
	out := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		out = append(out, maps.Clone(s.catalog.blueprints[id].raw))
	}
	s.catalog.mu.RUnlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "blueprints": out})
}

func (s *Server) handlePatchBlueprint(w http.ResponseWriter, c *call) {
	var patch map[string]any
	if aerr := decode(c, &patch); aerr != nil {
		aerr.write(w)
		return
	}
	bp, aerr := s.catalog.patchBlueprint(c.r.PathValue("blueprint"), patch)
	if aerr != nil {
		aerr.write(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "blueprint": bp})
}

func (s *Server) handleDeleteBlueprint(w http.ResponseWriter, c *call) {
	if aerr := s.catalog.deleteBlueprint(c.r.PathValue("blueprint")); aerr != nil {
		aerr.write(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// ---- inspection and seeding ----

// Entities returns the entities of a blueprint, sorted by identifier.
func (s *Server) Entities(blueprint string) []port.Entity { return s.catalog.snapshot(blueprint) }

// Entity returns one entity.
func (s *Server) Entity(blueprint, identifier string) (port.Entity, bool) {
	s.catalog.mu.RLock()
	defer s.catalog.mu.RUnlock()
	bp := s.catalog.blueprints[blueprint]
	if bp == nil || bp.entities[identifier] == nil {
		return port.Entity{}, false
	}
	return bp.entities[identifier].toPort(), true
}

// EntityCount returns how many entities a blueprint has.
func (s *Server) EntityCount(blueprint string) int {
	s.catalog.mu.RLock()
	defer s.catalog.mu.RUnlock()
	if bp := s.catalog.blueprints[blueprint]; bp != nil {
		return len(bp.entities)
	}
	return 0
}

// TotalEntities returns how many entities the catalog holds.
func (s *Server) TotalEntities() int {
	s.catalog.mu.RLock()
	defer s.catalog.mu.RUnlock()
	n := 0
	for _, bp := range s.catalog.blueprints {
		n += len(bp.entities)
	}
	return n
}

// Blueprints returns the identifiers of every blueprint, sorted.
func (s *Server) Blueprints() []string {
	s.catalog.mu.RLock()
	defer s.catalog.mu.RUnlock()
	ids := make([]string, 0, len(s.catalog.blueprints))
	for id := range s.catalog.blueprints {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Blueprint returns a blueprint as the API would.
func (s *Server) Blueprint(id string) (port.Blueprint, bool) {
	raw, aerr := s.catalog.getBlueprint(id)
	if aerr != nil {
		return port.Blueprint{}, false
	}
	var bp port.Blueprint
	if err := remarshal(raw, &bp); err != nil {
		return port.Blueprint{}, false
	}
	return bp, true
}

// AddBlueprint creates a blueprint directly, validated as POST /v1/blueprints would.
func (s *Server) AddBlueprint(bp port.Blueprint) error {
	raw := decodeEntityJSON(bp)
	if _, aerr := s.catalog.createBlueprint(raw); aerr != nil {
		return aerr
	}
	return nil
}

// SeedEntity stores an entity directly, validated like an upsert (without
// create_missing_related_entities). e.Datasource becomes its $datasource, and a non-zero
// e.UpdatedAt its createdAt and updatedAt, so tests can seed entities "written earlier by
// another datasource".
func (s *Server) SeedEntity(e port.Entity) error {
	raw := decodeEntityJSON(e)
	var in entityIn
	if err := remarshal(raw, &in); err != nil {
		return err
	}
	if aerr := routeCheck(&in); aerr != nil {
		return aerr
	}
	cat := &s.catalog
	cat.mu.Lock()
	defer cat.mu.Unlock()
	bp, ok := cat.blueprints[e.Blueprint]
	if !ok {
		return notFound("Blueprint", e.Blueprint)
	}
	at := cat.now()
	if !e.UpdatedAt.IsZero() {
		at = e.UpdatedAt
	}
	_, _, aerr := cat.upsertLocked(bp, &in, writeOpts{upsert: true, datasource: e.Datasource}, at)
	if aerr != nil {
		return aerr
	}
	return nil
}

// Error makes apiError usable as an error for the seeding helpers.
func (e *apiError) Error() string {
	return "porttest: " + strconv.Itoa(e.status) + " " + e.code + ": " + e.message
}
