package porttest

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oceankit/oceankit/port"
)

// integ is a stored integration.
type integ struct {
	raw      map[string]any
	history  []port.ResyncState
	request  *port.ResyncRequest
	examples map[string][]any
	cursors  map[string]string // "kind\x00index" → primary
}

func remarshal(in, out any) error {
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, out)
}

// integrations is guarded by catalog.mu.
func (s *Server) integrations() map[string]*integ { return s.catalog.integrations }

func (s *Server) handleCreateIntegration(w http.ResponseWriter, c *call) {
	var raw map[string]any
	if aerr := decode(c, &raw); aerr != nil {
		aerr.write(w)
		return
	}
	id, _ := raw["installationId"].(string)
	if id == "" {
		id, _ = raw["identifier"].(string)
	}
	if id == "" {
		badQuery("integration must have required property 'installationId'").write(w)
		return
	}
	s.catalog.mu.Lock()
	defer s.catalog.mu.Unlock()
	ints := s.integrations()
	if _, ok := ints[id]; ok {
		errorf(http.StatusConflict, "identifier_taken", "An integration with identifier %q already exists", id).write(w)
		return
	}
	now := s.cfg.now().UTC().Format(time.RFC3339Nano)
	raw["identifier"], raw["installationId"] = id, id
	if _, ok := raw["config"]; !ok || raw["config"] == nil {
		raw["config"] = map[string]any{}
	}
	if t, ok := raw["installationAppType"].(string); ok {
		raw["integrationType"] = t
	}
	raw["installationType"] = "OnPrem"
	raw["createdAt"], raw["updatedAt"] = now, now
	if _, ok := raw["arePortResourcesInitialized"]; !ok {
		raw["arePortResourcesInitialized"] = false
	}
	if slices.Contains(c.r.URL.Query()["integration_modes"], "create_resources") {
		t, _ := raw["installationAppType"].(string)
		if cfg, ok := s.catalog.provisioned[t]; ok {
			raw["config"] = cfg
		}
	}
	s.addIngestAttributes(raw, id)
	ints[id] = &integ{raw: raw, examples: map[string][]any{}}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "integration": maps.Clone(raw)})
}

// withIntegration runs fn with the integration under the catalog write lock, or answers 404.
func (s *Server) withIntegration(w http.ResponseWriter, c *call, fn func(in *integ)) {
	id := c.r.PathValue("id")
	s.catalog.mu.Lock()
	defer s.catalog.mu.Unlock()
	in, ok := s.integrations()[id]
	if !ok {
		notFound("Integration", id).write(w)
		return
	}
	fn(in)
}

func (s *Server) touch(in *integ) {
	in.raw["updatedAt"] = s.cfg.now().UTC().Format(time.RFC3339Nano)
}

func (s *Server) handleGetIntegration(w http.ResponseWriter, c *call) {
	s.withIntegration(w, c, func(in *integ) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "integration": in.raw})
	})
}

func (s *Server) handlePatchIntegration(w http.ResponseWriter, c *call) {
	var patch map[string]any
	if len(c.body) > 0 {
		if aerr := decode(c, &patch); aerr != nil {
			aerr.write(w)
			return
		}
	}
	s.withIntegration(w, c, func(in *integ) {
		raw := maps.Clone(in.raw)
		for k, v := range patch {
			if k != "identifier" && k != "installationId" {
				raw[k] = v
			}
		}
		in.raw = raw
		s.touch(in)
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "integration": in.raw})
	})
}

func (s *Server) handleDeleteIntegration(w http.ResponseWriter, c *call) {
	s.withIntegration(w, c, func(in *integ) {
		delete(s.integrations(), c.r.PathValue("id"))
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	})
}

func (s *Server) handlePatchConfig(w http.ResponseWriter, c *call) {
	var body struct {
		Config map[string]any `json:"config"`
	}
	if aerr := decode(c, &body); aerr != nil {
		aerr.write(w)
		return
	}
	if body.Config == nil {
		badQuery("body must have required property 'config'").write(w)
		return
	}
	s.withIntegration(w, c, func(in *integ) {
		raw := maps.Clone(in.raw)
		raw["config"] = body.Config
		in.raw = raw
		s.touch(in)
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "integration": in.raw})
	})
}

func (s *Server) handlePatchResyncState(w http.ResponseWriter, c *call) {
	var state map[string]any
	if aerr := decode(c, &state); aerr != nil {
		aerr.write(w)
		return
	}
	switch state["status"] {
	case "running", "completed", "failed", "aborted":
	default:
		badQuery(`"status" must be one of running, completed, failed, aborted`).write(w)
		return
	}
	s.withIntegration(w, c, func(in *integ) {
		state["updatedAt"] = s.cfg.now().UTC().Format(time.RFC3339Nano)
		var rs port.ResyncState
		if err := remarshal(state, &rs); err != nil {
			badQuery("resync state: %v", err).write(w)
			return
		}
		in.history = append(in.history, rs)
		raw := maps.Clone(in.raw)
		raw["resyncState"] = state
		in.raw = raw
		s.touch(in)
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "integration": in.raw})
	})
}

func (s *Server) handleGetResyncRequest(w http.ResponseWriter, c *call) {
	s.withIntegration(w, c, func(in *integ) {
		var req any
		if in.request != nil {
			req = in.request
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "request": req})
	})
}

func (s *Server) handlePostKindExamples(w http.ResponseWriter, c *call) {
	var body struct {
		Examples []any `json:"examples"`
	}
	if aerr := decode(c, &body); aerr != nil {
		aerr.write(w)
		return
	}
	if body.Examples == nil {
		badQuery("body must have required property 'examples'").write(w)
		return
	}
	s.withIntegration(w, c, func(in *integ) {
		in.examples[c.r.PathValue("kind")] = body.Examples
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	})
}

func (s *Server) handleGetKinds(w http.ResponseWriter, c *call) {
	s.withIntegration(w, c, func(in *integ) {
		data := map[string]any{}
		for kind, ex := range in.examples {
			items := make([]any, len(ex))
			for i, e := range ex {
				items[i] = map[string]any{"_id": strconv.Itoa(i), "data": e}
			}
			data[kind] = map[string]any{"examples": items}
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "data": data})
	})
}

func (s *Server) handleProvisionEnabled(w http.ResponseWriter, c *call) {
	s.catalog.mu.RLock()
	types := make([]string, 0, len(s.catalog.provisioned))
	for t := range s.catalog.provisioned {
		types = append(types, t)
	}
	s.catalog.mu.RUnlock()
	slices.Sort(types)
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "integrations": types})
}

// SetProvisionedDefaults makes Port able to provision the default
// resources of an integration type: the type is listed by GET
// /v1/integration/provision-enabled, and an integration of that type
// created with ?integration_modes=create_resources gets config as its
// mapping (blueprints are the test's to create, if it wants them).
func (s *Server) SetProvisionedDefaults(integrationType string, config any) {
	s.catalog.mu.Lock()
	defer s.catalog.mu.Unlock()
	if s.catalog.provisioned == nil {
		s.catalog.provisioned = map[string]any{}
	}
	s.catalog.provisioned[integrationType] = config
}

func (s *Server) handleOrganization(w http.ResponseWriter, c *call) {
	s.catalog.mu.RLock()
	flags := slices.Clone(s.catalog.featureFlags)
	s.catalog.mu.RUnlock()
	if flags == nil {
		flags = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true,
		"organization": map[string]any{"id": "org_porttest", "name": "porttest", "featureFlags": flags}})
}

// ---- actions, scorecards, pages ----

func (s *Server) resourceStore(kind string) map[string]map[string]any {
	switch kind {
	case "action":
		return s.catalog.actions
	case "page":
		return s.catalog.pages
	}
	return s.catalog.scorecards
}

func (s *Server) resourceCreate(kind string) handlerFunc {
	return func(w http.ResponseWriter, c *call) {
		var raw map[string]any
		if aerr := decode(c, &raw); aerr != nil {
			aerr.write(w)
			return
		}
		id, _ := raw["identifier"].(string)
		if id == "" {
			badQuery("%s must have required property 'identifier'", kind).write(w)
			return
		}
		s.catalog.mu.Lock()
		defer s.catalog.mu.Unlock()
		k := id
		if kind == "scorecard" {
			bp := c.r.PathValue("blueprint")
			if _, ok := s.catalog.blueprints[bp]; !ok {
				notFound("Blueprint", bp).write(w)
				return
			}
			raw["blueprint"] = bp
			k = bp + "/" + id
		}
		store := s.resourceStore(kind)
		if _, ok := store[k]; ok {
			errorf(http.StatusConflict, "identifier_taken", "A %s with identifier %q already exists", kind, id).write(w)
			return
		}
		now := s.cfg.now().UTC().Format(time.RFC3339Nano)
		raw["createdAt"], raw["updatedAt"] = now, now
		store[k] = raw
		writeJSON(w, http.StatusCreated, map[string]any{"ok": true, kind: raw})
	}
}

func (s *Server) resourceGet(kind string) handlerFunc {
	return func(w http.ResponseWriter, c *call) {
		id := c.r.PathValue("id")
		k := id
		if kind == "scorecard" {
			k = c.r.PathValue("blueprint") + "/" + id
		}
		s.catalog.mu.RLock()
		raw, ok := s.resourceStore(kind)[k]
		s.catalog.mu.RUnlock()
		if !ok {
			notFound(kind, id).write(w)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, kind: raw})
	}
}

func (s *Server) handleDeletePage(w http.ResponseWriter, c *call) {
	id := c.r.PathValue("id")
	s.catalog.mu.Lock()
	_, ok := s.catalog.pages[id]
	delete(s.catalog.pages, id)
	s.catalog.mu.Unlock()
	if !ok {
		notFound("page", id).write(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// ---- inspection and helpers ----

// Integration returns a stored integration as the API would.
func (s *Server) Integration(id string) (port.Integration, bool) {
	s.catalog.mu.RLock()
	in, ok := s.integrations()[id]
	var raw map[string]any
	if ok {
		raw = in.raw
	}
	s.catalog.mu.RUnlock()
	if !ok {
		return port.Integration{}, false
	}
	var out port.Integration
	if remarshal(raw, &out) != nil {
		return port.Integration{}, false
	}
	return out, true
}

// AddIntegration stores an integration directly (identifier = in.Identifier or
// in.InstallationID).
func (s *Server) AddIntegration(in port.Integration) {
	raw := decodeEntityJSON(in)
	id := in.Identifier
	if id == "" {
		id = in.InstallationID
	}
	raw["identifier"], raw["installationId"] = id, id
	if raw["config"] == nil {
		raw["config"] = map[string]any{}
	}
	s.addIngestAttributes(raw, id)
	s.catalog.mu.Lock()
	defer s.catalog.mu.Unlock()
	s.integrations()[id] = &integ{raw: raw, examples: map[string][]any{}}
}

// ResyncStates returns every resync state the integration reported, oldest first.
func (s *Server) ResyncStates(id string) []port.ResyncState {
	s.catalog.mu.RLock()
	defer s.catalog.mu.RUnlock()
	if in, ok := s.integrations()[id]; ok {
		return slices.Clone(in.history)
	}
	return nil
}

// RequestResync records a resync request for the integration (as Port's UI does),
// bumping its updatedAt, and returns it. It reports false for an unknown integration.
func (s *Server) RequestResync(id string) (port.ResyncRequest, bool) {
	s.catalog.mu.Lock()
	defer s.catalog.mu.Unlock()
	in, ok := s.integrations()[id]
	if !ok {
		return port.ResyncRequest{}, false
	}
	now := s.cfg.now().UTC()
	if in.request != nil && !now.After(in.request.UpdatedAt) {
		now = in.request.UpdatedAt.Add(time.Millisecond)
	}
	req := port.ResyncRequest{ID: "resync_" + randomHex(6), UpdatedAt: now}
	in.request = &req
	return req, true
}

// KindExamples returns the examples posted for a kind.
func (s *Server) KindExamples(id, kind string) []any {
	s.catalog.mu.RLock()
	defer s.catalog.mu.RUnlock()
	if in, ok := s.integrations()[id]; ok {
		return slices.Clone(in.examples[kind])
	}
	return nil
}

// Action returns a stored action.
func (s *Server) Action(id string) (map[string]any, bool) { return s.resource("action", id) }

// Page returns a stored page.
func (s *Server) Page(id string) (map[string]any, bool) { return s.resource("page", id) }

// Scorecard returns a stored scorecard of a blueprint.
func (s *Server) Scorecard(blueprint, id string) (map[string]any, bool) {
	return s.resource("scorecard", blueprint+"/"+id)
}

func (s *Server) resource(kind, k string) (map[string]any, bool) {
	s.catalog.mu.RLock()
	defer s.catalog.mu.RUnlock()
	raw, ok := s.resourceStore(kind)[k]
	return maps.Clone(raw), ok
}

// SetFeatureFlags sets the organisation's feature flags (GET /v1/organization).
func (s *Server) SetFeatureFlags(flags ...string) {
	s.catalog.mu.Lock()
	defer s.catalog.mu.Unlock()
	s.catalog.featureFlags = slices.Clone(flags)
}

// cursorKey reads the kind and index query parameters of the incremental
// sync cursor routes.
func cursorKey(c *call) (string, *apiError) {
	q := c.r.URL.Query()
	kind, index := q.Get("kind"), q.Get("index")
	if kind == "" || index == "" {
		return "", badQuery("querystring must have required properties 'kind' and 'index'")
	}
	return kind + "\x00" + index, nil
}

// handleGetCursor answers GET /v1/integration/{id}/cursor?kind=&index=, the
// incremental sync cursor Ocean keeps per resource: 404 until one is set.
func (s *Server) handleGetCursor(w http.ResponseWriter, c *call) {
	key, aerr := cursorKey(c)
	if aerr != nil {
		aerr.write(w)
		return
	}
	s.withIntegration(w, c, func(in *integ) {
		primary, ok := in.cursors[key]
		if !ok {
			notFound("Cursor", strings.ReplaceAll(key, "\x00", "/")).write(w)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "cursor": map[string]any{"primary": primary}})
	})
}

// handleSetCursor answers PUT (update: 404 when absent, as Ocean expects)
// and POST (create) of a cursor.
func (s *Server) handleSetCursor(create bool) handlerFunc {
	return func(w http.ResponseWriter, c *call) {
		key, aerr := cursorKey(c)
		if aerr != nil {
			aerr.write(w)
			return
		}
		var body struct {
			Primary *string `json:"primary"`
		}
		if aerr := decode(c, &body); aerr != nil {
			aerr.write(w)
			return
		}
		if body.Primary == nil {
			badQuery("body must have required property 'primary'").write(w)
			return
		}
		s.withIntegration(w, c, func(in *integ) {
			if in.cursors == nil {
				in.cursors = map[string]string{}
			}
			if _, ok := in.cursors[key]; !ok && !create {
				notFound("Cursor", strings.ReplaceAll(key, "\x00", "/")).write(w)
				return
			}
			in.cursors[key] = *body.Primary
			writeJSON(w, http.StatusOK, map[string]any{"ok": true, "cursor": map[string]any{"primary": *body.Primary}})
		})
	}
}
