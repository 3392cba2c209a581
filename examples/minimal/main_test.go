package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/httpx"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/report"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port/porttest"
	"github.com/oceankit/oceankit/program"
)

const token = "tracker-token-0123456789"

// fakeTracker serves the made-up tracker's API: /people pages of two with
// Link rel="next", /tickets pages of two with a cursor, filtered by
// ?status=.
func fakeTracker(t *testing.T) *httptest.Server {
	t.Helper()
	people := []ocean.Item{
		{"login": "ada", "name": "Ada Lovelace", "email": "ada@example.com"},
		{"login": "alan", "name": "Alan Turing", "email": "alan@example.com"},
		{"login": "grace", "name": "Grace Hopper", "email": "grace@example.com"},
	}
	tickets := []ocean.Item{
		{"key": "T-1", "title": "Login fails", "status": "open", "priority": 1, "assignee": "ada"},
		{"key": "T-2", "title": "Slow search", "status": "in_progress", "priority": 2, "assignee": "alan"},
		{"key": "T-3", "title": "Old bug", "status": "closed", "priority": 3, "assignee": "grace"},
		{"key": "T-4", "title": "Typo", "status": "open", "priority": 3, "assignee": "grace"},
		{"key": "T-5", "title": "Dark mode", "status": "open", "priority": 2, "assignee": "ada"},
	}
	page := func(r *http.Request, items []ocean.Item) ([]ocean.Item, int) {
		from, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
		to := min(from+2, len(items))
		return items[from:to], to
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /people", func(w http.ResponseWriter, r *http.Request) {
		items, next := page(r, people)
		if next < len(people) {
			w.Header().Set("Link", `<`+"http://"+r.Host+"/people?cursor="+strconv.Itoa(next)+`>; rel="next"`)
		}
		_ = json.NewEncoder(w).Encode(items)
	})
	mux.HandleFunc("GET /tickets", func(w http.ResponseWriter, r *http.Request) {
		var selected []ocean.Item
		for _, tk := range tickets {
			if st := r.URL.Query()["status"]; len(st) == 0 || slices.Contains(st, tk["status"].(string)) {
				selected = append(selected, tk)
			}
		}
		items, next := page(r, selected)
		body := map[string]any{"data": items}
		if next < len(selected) {
			body["next_cursor"] = strconv.Itoa(next)
		}
		_ = json.NewEncoder(w).Encode(body)
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestSyncOnce runs the program as its users do, against the fake tracker
// and an in-memory Port.
func TestSyncOnce(t *testing.T) {
	t.Parallel()
	tracker, pt := fakeTracker(t), porttest.NewServer(t)
	env := append(pt.Env(),
		"OCEAN__INTEGRATION__CONFIG__TRACKER_URL="+tracker.URL,
		"OCEAN__INTEGRATION__CONFIG__TRACKER_TOKEN="+token,
		"OCEAN__INITIALIZE_PORT_RESOURCES=true",
	)
	var stdout, stderr bytes.Buffer
	code := program.Run(t.Context(), spec(), []string{"tracker-sync", "--once"}, env, &stdout, &stderr)
	require.Equal(t, program.ExitOK, code, stderr.String())

	assert.Equal(t, 3, pt.EntityCount("trackerPerson"))
	assert.Equal(t, 4, pt.EntityCount("trackerTicket"), "the closed ticket is filtered out in the API call")
	t1, ok := pt.Entity("trackerTicket", "T-1")
	require.True(t, ok)
	assert.Equal(t, "ada", t1.Relations["assignee"])
	assert.Equal(t, "open", t1.Properties["status"])
	assert.NotContains(t, stderr.String(), token, "the token is redacted")
}

// TestTicketKindPages is a unit test of one kind's API calls, with
// httpmock in place of the tracker.
func TestTicketKindPages(t *testing.T) {
	t.Parallel()
	const base = "https://tracker.example.com/api"
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodGet, base+"/tickets", func(r *http.Request) (*http.Response, error) {
		assert.Equal(t, []string{"open"}, r.URL.Query()["status"], "the selector filters in the API call")
		assert.Equal(t, "Bearer "+token, r.Header.Get("Authorization"))
		if r.URL.Query().Get("cursor") == "" {
			return httpmock.NewJsonResponse(200, map[string]any{"data": []ocean.Item{{"key": "T-1"}}, "next_cursor": "c2"})
		}
		return httpmock.NewJsonResponse(200, map[string]any{"data": []ocean.Item{{"key": "T-4"}}})
	})
	prov, err := provider(config{TrackerURL: base}, httpx.WithBearerToken(token), httpx.WithHTTPClient(&http.Client{Transport: mt}))
	require.NoError(t, err)
	var got []ocean.Item
	send := ocean.SenderFunc(func(_ context.Context, page []ocean.Item) error { got = append(got, page...); return nil })
	require.NoError(t, prov.Kinds[1].Fetch(t.Context(), json.RawMessage(`{"query":"true","status":["open"]}`), send))
	assert.Equal(t, []ocean.Item{{"key": "T-1"}, {"key": "T-4"}}, got)
	assert.Equal(t, 2, mt.GetTotalCallCount())
}

// TestTicketHook sends the tracker's webhooks through the framework,
// synchronously (App.HandleEvent), and checks what Port holds.
func TestTicketHook(t *testing.T) {
	t.Parallel()
	pt := porttest.NewServer(t)
	cfg, err := settings.Load(settings.LoadOptions{Environ: pt.Env(), ProviderType: "tracker"})
	require.NoError(t, err)
	prov, err := provider(config{TrackerURL: "https://tracker.example.com/api", WebhookSecret: "hook-secret"})
	require.NoError(t, err)
	app, err := ocean.New(cfg, prov)
	require.NoError(t, err)
	require.NoError(t, app.InitializePortResources(t.Context()))
	send := func(token, body string) *report.Event {
		r := httptest.NewRequest(http.MethodPost, "/integration/webhook", strings.NewReader(body))
		r.Header.Set("X-Tracker-Event", "ticket")
		r.Header.Set("X-Tracker-Token", token)
		res, err := app.HandleEvent(t.Context(), r)
		require.NoError(t, err)
		return res
	}
	tests := []struct {
		name, token, body string
		wantStatus        int
		wantUpserted      []string
		wantDeleted       []string
	}{
		{"an open ticket is upserted", "hook-secret", `{"action":"updated","ticket":{"key":"T-1","status":"open","assignee":"ada"}}`, 202, []string{"trackerTicket/T-1"}, nil},
		{"a ticket the selector leaves out is deleted", "hook-secret", `{"action":"updated","ticket":{"key":"T-1","status":"closed"}}`, 202, nil, []string{"trackerTicket/T-1"}},
		{"another open ticket is upserted", "hook-secret", `{"action":"updated","ticket":{"key":"T-2","status":"open"}}`, 202, []string{"trackerTicket/T-2"}, nil},
		{"a deleted ticket is deleted", "hook-secret", `{"action":"deleted","ticket":{"key":"T-2","status":"open"}}`, 202, nil, []string{"trackerTicket/T-2"}},
		{"a wrong token is refused", "guess", `{"action":"updated","ticket":{"key":"T-3","status":"open"}}`, 401, nil, nil},
		{"no ticket is a bad request", "hook-secret", `{"action":"updated"}`, 400, nil, nil},
	}
	for _, tt := range tests { // in order: they build on each other
		res := send(tt.token, tt.body)
		assert.Equal(t, tt.wantStatus, res.Status, tt.name)
		assert.Equal(t, tt.wantUpserted, res.Upserted, tt.name)
		assert.Equal(t, tt.wantDeleted, res.Deleted, tt.name)
	}
	assert.Zero(t, pt.EntityCount("trackerTicket"))
}

func TestTicketHookAuthenticates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, secret, sent string
		wantErr            bool
	}{
		{"the right token", "hook-secret", "hook-secret", false},
		{"a wrong token", "hook-secret", "guess", true},
		{"no token", "hook-secret", "", true},
		{"no secret configured refuses all", "", "", true},
	}
	for _, tt := range tests {
		ev := &ocean.Event{Headers: http.Header{"X-Tracker-Token": {tt.sent}}}
		err := ticketHook(tt.secret).Authenticate(t.Context(), ev)
		assert.Equal(t, tt.wantErr, err != nil, tt.name)
	}
}
