package main

import (
	"encoding/json"
	"maps"
	"net/http"
	"sync"
)

// fakeStatuspage serves the one route of Statuspage's public API that the
// component kind reads, with the same JSON shape, so that the example and
// its tests run offline. Tests change the world through setStatus and
// remove while it serves.
type fakeStatuspage struct {
	mu         sync.Mutex
	components []map[string]any
}

func newFakeStatuspage() *fakeStatuspage {
	c := func(id, name, status, groupID string, group bool) map[string]any {
		m := map[string]any{
			"id": id, "name": name, "status": status, "description": name + " of Acme",
			"group": group, "group_id": nil, "page_id": "acme0001",
			"created_at": "2024-01-02T03:04:05.000Z", "updated_at": "2025-06-07T08:09:10.000Z",
		}
		if groupID != "" {
			m["group_id"] = groupID
		}
		return m
	}
	return &fakeStatuspage{components: []map[string]any{
		c("api00001", "API", "operational", "", false),
		c("web00001", "Website", "degraded_performance", "", false),
		c("git00001", "Git Operations", "operational", "", false),
		c("int00001", "Integrations", "partial_outage", "", true),
		c("hooks001", "Webhooks", "major_outage", "int00001", false),
		c("chat0001", "Chat notifications", "operational", "int00001", false),
	}}
}

func (f *fakeStatuspage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != "/api/v2/components.json" {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	comps := make([]map[string]any, len(f.components))
	for i, c := range f.components {
		comps[i] = maps.Clone(c)
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"page": map[string]any{
			"id": "acme0001", "name": "Acme", "url": "https://status.acme.example",
			"time_zone": "Etc/UTC", "updated_at": "2025-06-07T08:09:10.000Z",
		},
		"components": comps,
	})
}

// setStatus changes a component's status, as an incident would.
func (f *fakeStatuspage) setStatus(id, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.components {
		if c["id"] == id {
			c["status"] = status
		}
	}
}

// remove deletes a component from the page.
func (f *fakeStatuspage) remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, c := range f.components {
		if c["id"] == id {
			f.components = append(f.components[:i], f.components[i+1:]...)
			return
		}
	}
}
