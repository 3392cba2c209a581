package port_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/port"
)

// Every attempt of a bulk upsert, retries included, carries the whole body,
// while other bulk upserts of the same client run and reuse its buffers:
// Port receives each entity as encoding/json would have sent it.
func TestBulkUpsertRetriesResendTheWholeBody(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	attempts := map[string][]string{} // first identifier of a body → the bodies received
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/auth/access_token" {
			_, _ = w.Write([]byte(`{"ok":true,"accessToken":"t","expiresIn":10800,"tokenType":"Bearer"}`))
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var req struct {
			Entities []struct {
				Identifier string `json:"identifier"`
			} `json:"entities"`
		}
		if err := json.Unmarshal(body, &req); err != nil || len(req.Entities) == 0 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		first := req.Entities[0].Identifier
		mu.Lock()
		attempts[first] = append(attempts[first], string(body))
		n := len(attempts[first])
		mu.Unlock()
		if n < 3 { // the first two attempts of every request fail
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"ok":false,"error":"unavailable","message":"try again"}`))
			return
		}
		ans := `{"ok":true,"entities":[`
		for i, e := range req.Entities {
			if i > 0 {
				ans += ","
			}
			ans += fmt.Sprintf(`{"identifier":%q,"index":%d,"created":true,"additionalData":{}}`, e.Identifier, i)
		}
		_, _ = w.Write([]byte(ans + `],"errors":[]}`))
	}))
	defer ts.Close()
	c, err := port.New(ts.URL, "id", "secret", port.WithRetryPolicy(fastRetry))
	require.NoError(t, err)

	const workers, perWorker = 4, 45
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			ents := make([]port.Entity, perWorker)
			for i := range ents {
				id := fmt.Sprintf("w%d-e%02d", w, i)
				ents[i] = port.Entity{Identifier: id, Title: "<" + id + ">", Properties: map[string]any{
					"n": float64(i) / 3, "tags": []any{"a&b", id}, "nested": map[string]any{"z": nil, "a": 1e21}}}
			}
			res, err := c.BulkUpsert(t.Context(), "service", ents, port.UpsertOptions{})
			assert.NoError(t, err)
			for i, r := range res {
				assert.NoError(t, r.Err, "entity %d", i)
			}
			// What each request carried, three times over.
			for start := 0; start < perWorker; start += port.MaxBulkUpsert {
				chunk := ents[start:min(start+port.MaxBulkUpsert, perWorker)]
				want := `{"entities":[`
				for i := range chunk {
					if i > 0 {
						want += ","
					}
					b, err := marshalNoHTML(struct {
						Identifier any            `json:"identifier"`
						Title      string         `json:"title"`
						Properties map[string]any `json:"properties"`
					}{chunk[i].Identifier, chunk[i].Title, chunk[i].Properties})
					assert.NoError(t, err)
					want += b
				}
				want += `]}`
				mu.Lock()
				got := attempts[chunk[0].ID()]
				mu.Unlock()
				assert.Equal(t, []string{want, want, want}, got)
			}
		})
	}
	wg.Wait()
}

// marshalNoHTML is json.Marshal without HTML escaping, as the client sends.
func marshalNoHTML(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return strings.TrimSuffix(buf.String(), "\n"), err
}
