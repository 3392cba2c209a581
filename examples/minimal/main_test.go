package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/httpx"
	"github.com/oceankit/oceankit/ocean"
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

func TestTicketHook(t *testing.T) {
	t.Parallel()
	hook := ticketHook{secret: "hook-secret"}
	openOnly := ocean.Resource{Kind: "ticket", Selector: json.RawMessage(`{"status":["open"]}`)}
	tests := []struct {
		name        string
		body        string
		res         ocean.Resource
		wantUpsert  int
		wantDelete  int
		wantInvalid bool
	}{
		{"an open ticket is upserted", `{"action":"updated","ticket":{"key":"T-1","status":"open"}}`, openOnly, 1, 0, false},
		{"a ticket the selector leaves out is deleted", `{"action":"updated","ticket":{"key":"T-1","status":"closed"}}`, openOnly, 0, 1, false},
		{"a deleted ticket is deleted", `{"action":"deleted","ticket":{"key":"T-1","status":"open"}}`, openOnly, 0, 1, false},
		{"without a status selector every ticket is kept", `{"action":"updated","ticket":{"key":"T-3","status":"closed"}}`, ocean.Resource{Kind: "ticket", Selector: json.RawMessage(`{}`)}, 1, 0, false},
		{"no ticket is a bad request", `{"action":"updated"}`, openOnly, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := &ocean.Event{Headers: http.Header{"X-Tracker-Event": {"ticket"}, "X-Tracker-Token": {"hook-secret"}}, Body: []byte(tt.body)}
			require.NoError(t, json.Unmarshal(ev.Body, &ev.Payload))
			require.True(t, hook.Match(ev))
			require.NoError(t, hook.Authenticate(t.Context(), ev))
			if tt.wantInvalid {
				assert.Error(t, hook.Validate(ev))
				return
			}
			require.NoError(t, hook.Validate(ev))
			ch, err := hook.Handle(t.Context(), ev, tt.res)
			require.NoError(t, err)
			assert.Len(t, ch.Upsert, tt.wantUpsert)
			assert.Len(t, ch.Delete, tt.wantDelete)
		})
	}
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
		err := ticketHook{secret: tt.secret}.Authenticate(t.Context(), ev)
		assert.Equal(t, tt.wantErr, err != nil, tt.name)
	}
}
