package porttest

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/oceankit/oceankit/port"
)

// Routes of self-service action runs, as an integration's actions
// processor uses them.
const (
	RouteClaimPendingRuns = "POST /v1/actions/runs/claim-pending"
	RouteAckRun           = "PATCH /v1/actions/runs/ack"
	RoutePatchRun         = "PATCH /v1/actions/runs/{id}"
	RoutePostRunLog       = "POST /v1/actions/runs/{id}/logs"
	RouteGetRun           = "GET /v1/actions/runs/{id}"
	RouteListRuns         = "GET /v1/actions/runs"
)

// NewActionRun describes a run to create with CreateActionRun, as if a
// user had executed an integration action in Port.
type NewActionRun struct {
	// InstallationID is the integration the run is for.
	InstallationID string
	// Type is the integration action type (gitlab-v2's "trigger_pipeline").
	Type string
	// Action is the action's identifier in Port; Type when empty.
	Action string
	// Properties are the user's inputs.
	Properties map[string]any
}

// ActionRunRecord is a run as the server holds it, with what happened to
// it: how often it was handed out by claim-pending, whether it was
// acknowledged, its log lines and every status it was set to.
type ActionRunRecord struct {
	port.ActionRun
	// Claims counts the claim-pending answers that included the run.
	Claims int
	// Acked is true once an ack succeeded.
	Acked bool
	// AckConflicts counts acks answered 409.
	AckConflicts int
	// Logs are the run's log lines, in order.
	Logs []string
	// Statuses lists every status a PATCH set, in order (the initial
	// IN_PROGRESS is not included).
	Statuses []port.RunStatus
	// Links lists every link a PATCH set.
	Links []string
}

// runStore holds action runs; the zero value is ready to use.
type runStore struct {
	mu    sync.Mutex
	runs  map[string]*storedRun
	order []*storedRun
	next  int
}

type storedRun struct {
	rec        ActionRunRecord
	link       any // as patched: a string or a list
	hiddenTill time.Time
	createdAt  time.Time
	updatedAt  time.Time
}

// CreateActionRun creates a pending run and returns its ID.
func (s *Server) CreateActionRun(r NewActionRun) string {
	st := &s.runs
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.runs == nil {
		st.runs = map[string]*storedRun{}
	}
	st.next++
	id := "r_" + strconv.Itoa(st.next) + "_" + randomHex(4)
	action := r.Action
	if action == "" {
		action = r.Type
	}
	props := maps.Clone(r.Properties)
	if props == nil {
		props = map[string]any{}
	}
	now := s.cfg.now().UTC()
	sr := &storedRun{createdAt: now, updatedAt: now, rec: ActionRunRecord{ActionRun: port.ActionRun{
		ID: id, Status: port.RunInProgress, Action: port.ActionRef{Identifier: action},
		Payload: port.ActionRunPayload{Type: "INTEGRATION_ACTION", InstallationID: r.InstallationID,
			IntegrationActionType: r.Type, IntegrationActionExecutionProperties: props},
	}}}
	st.runs[id] = sr
	st.order = append(st.order, sr)
	return id
}

// ActionRun returns a run and its history.
func (s *Server) ActionRun(id string) (ActionRunRecord, bool) {
	st := &s.runs
	st.mu.Lock()
	defer st.mu.Unlock()
	sr, ok := st.runs[id]
	if !ok {
		return ActionRunRecord{}, false
	}
	return sr.snapshot(), true
}

// ActionRuns returns every run, in creation order.
func (s *Server) ActionRuns() []ActionRunRecord {
	st := &s.runs
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]ActionRunRecord, len(st.order))
	for i, sr := range st.order {
		out[i] = sr.snapshot()
	}
	return out
}

func (sr *storedRun) snapshot() ActionRunRecord {
	r := sr.rec
	r.Payload.IntegrationActionExecutionProperties = maps.Clone(r.Payload.IntegrationActionExecutionProperties)
	r.Link = slices.Clone(r.Link)
	r.Logs = slices.Clone(r.Logs)
	r.Statuses = slices.Clone(r.Statuses)
	r.Links = slices.Clone(r.Links)
	return r
}

// render is the run as Port's API answers it.
func (sr *storedRun) render() map[string]any {
	r := &sr.rec
	m := map[string]any{
		"id": r.ID, "status": r.Status, "action": map[string]any{"identifier": r.Action.Identifier},
		"payload": map[string]any{
			"type": r.Payload.Type, "installationId": r.Payload.InstallationID,
			"integrationActionType":                r.Payload.IntegrationActionType,
			"integrationActionExecutionProperties": r.Payload.IntegrationActionExecutionProperties,
		},
		"createdAt": sr.createdAt.Format(time.RFC3339Nano), "updatedAt": sr.updatedAt.Format(time.RFC3339Nano),
	}
	if sr.link != nil {
		m["link"] = sr.link
	}
	if r.ExternalRunID != "" {
		m["externalRunId"] = r.ExternalRunID
	}
	if r.Summary != "" {
		m["summary"] = r.Summary
	}
	return m
}

func (s *Server) handleClaimPendingRuns(w http.ResponseWriter, c *call) {
	var body struct {
		InstallationID      string   `json:"installationId"`
		Limit               *int     `json:"limit"`
		VisibilityTimeoutMs *int     `json:"visibilityTimeoutMs"`
		Exclude             []string `json:"exclude"`
	}
	if aerr := decode(c, &body); aerr != nil {
		aerr.write(w)
		return
	}
	if body.InstallationID == "" {
		badQuery("body must have required property 'installationId'").write(w)
		return
	}
	limit := 20
	if body.Limit != nil {
		limit = *body.Limit
	}
	if limit < 1 || limit > 1000 {
		badQuery(`"limit" must be between 1 and 1000`).write(w)
		return
	}
	visibility := 60000
	if body.VisibilityTimeoutMs != nil {
		visibility = *body.VisibilityTimeoutMs
	}
	if visibility < 1 || visibility > 600000 {
		badQuery(`"visibilityTimeoutMs" must be between 1 and 600000`).write(w)
		return
	}
	now := s.cfg.now()
	st := &s.runs
	st.mu.Lock()
	out := []any{}
	for _, sr := range st.order {
		if len(out) == limit {
			break
		}
		r := &sr.rec
		if r.Acked || r.Status != port.RunInProgress || r.Payload.InstallationID != body.InstallationID ||
			now.Before(sr.hiddenTill) || slices.Contains(body.Exclude, r.Action.Identifier) {
			continue
		}
		sr.hiddenTill = now.Add(time.Duration(visibility) * time.Millisecond)
		r.Claims++
		out = append(out, sr.render())
	}
	st.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "runs": out})
}

func (s *Server) handleAckRun(w http.ResponseWriter, c *call) {
	var body struct {
		RunID string `json:"runId"`
	}
	if aerr := decode(c, &body); aerr != nil {
		aerr.write(w)
		return
	}
	if body.RunID == "" {
		badQuery("body must have required property 'runId'").write(w)
		return
	}
	st := &s.runs
	st.mu.Lock()
	defer st.mu.Unlock()
	sr, ok := st.runs[body.RunID]
	switch {
	case !ok:
		notFound("Run", body.RunID).write(w)
	case sr.rec.Acked:
		sr.rec.AckConflicts++
		errorf(http.StatusConflict, "run_already_acknowledged", "Run %q was already acknowledged", body.RunID).write(w)
	default:
		sr.rec.Acked = true
		sr.updatedAt = s.cfg.now().UTC()
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	}
}

func (s *Server) handlePatchRun(w http.ResponseWriter, c *call) {
	var raw map[string]json.RawMessage
	if aerr := decode(c, &raw); aerr != nil {
		aerr.write(w)
		return
	}
	var patch struct {
		Status        *port.RunStatus `json:"status"`
		Summary       *string         `json:"summary"`
		Link          any             `json:"link"`
		ExternalRunID *string         `json:"externalRunId"`
		StatusLabel   *string         `json:"statusLabel"`
	}
	for k := range raw {
		switch k {
		case "status", "summary", "link", "externalRunId", "statusLabel":
		default:
			badQuery("body must NOT have additional properties (%q)", k).write(w)
			return
		}
	}
	if err := json.Unmarshal(c.body, &patch); err != nil {
		badQuery("%v", err).write(w)
		return
	}
	if patch.Status != nil && *patch.Status != port.RunInProgress && *patch.Status != port.RunSuccess && *patch.Status != port.RunFailure {
		badQuery(`"status" must be one of IN_PROGRESS, SUCCESS, FAILURE`).write(w)
		return
	}
	var links []string
	switch l := patch.Link.(type) {
	case nil:
	case string:
		links = []string{l}
	case []any:
		for _, v := range l {
			s, ok := v.(string)
			if !ok {
				badQuery(`"link" must be a URL or a list of URLs`).write(w)
				return
			}
			links = append(links, s)
		}
	default:
		badQuery(`"link" must be a URL or a list of URLs`).write(w)
		return
	}
	st := &s.runs
	st.mu.Lock()
	defer st.mu.Unlock()
	id := c.r.PathValue("id")
	sr, ok := st.runs[id]
	if !ok {
		notFound("Run", id).write(w)
		return
	}
	r := &sr.rec
	if patch.Status != nil {
		r.Status = *patch.Status
		r.Statuses = append(r.Statuses, *patch.Status)
	}
	if patch.Summary != nil {
		r.Summary = *patch.Summary
	}
	if patch.Link != nil {
		sr.link = patch.Link
		r.Link = links
		r.Links = append(r.Links, links...)
	}
	if patch.ExternalRunID != nil {
		r.ExternalRunID = *patch.ExternalRunID
	}
	sr.updatedAt = s.cfg.now().UTC()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "run": sr.render()})
}

func (s *Server) handlePostRunLog(w http.ResponseWriter, c *call) {
	var body struct {
		Message *string `json:"message"`
	}
	if aerr := decode(c, &body); aerr != nil {
		aerr.write(w)
		return
	}
	if body.Message == nil {
		badQuery("body must have required property 'message'").write(w)
		return
	}
	st := &s.runs
	st.mu.Lock()
	defer st.mu.Unlock()
	id := c.r.PathValue("id")
	sr, ok := st.runs[id]
	if !ok {
		notFound("Run", id).write(w)
		return
	}
	sr.rec.Logs = append(sr.rec.Logs, *body.Message)
	writeJSON(w, http.StatusCreated, map[string]any{"ok": true})
}

func (s *Server) handleGetRun(w http.ResponseWriter, c *call) {
	st := &s.runs
	st.mu.Lock()
	defer st.mu.Unlock()
	id := c.r.PathValue("id")
	sr, ok := st.runs[id]
	if !ok {
		notFound("Run", id).write(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "run": sr.render()})
}

// handleListRuns answers the external_run_id lookup (other filters of
// Port's run listing are not modelled).
func (s *Server) handleListRuns(w http.ResponseWriter, c *call) {
	ext := c.r.URL.Query().Get("external_run_id")
	st := &s.runs
	st.mu.Lock()
	defer st.mu.Unlock()
	out := []any{}
	for _, sr := range st.order {
		if ext == "" || sr.rec.ExternalRunID == ext {
			out = append(out, sr.render())
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "runs": out})
}
