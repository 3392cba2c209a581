package port

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestBulkUpsertBodies checks the bytes of bulk bodies when the scratch
// buffer grows while the entities are encoded, with entities left out
// between the others (too large, another blueprint): every body holds,
// in order, each entity's own encoding.
func TestBulkUpsertBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		n      int
		blob   int            // bytes of a property of every entity
		skip   map[int]string // entities left out, and why
		bodies int
	}{
		{"fits the scratch buffer", 5, 100, nil, 1},
		{"scratch buffer grows", 45, 4 << 10, nil, 3},
		{"entities left out", 30, 8 << 10, map[int]string{3: "too large", 17: "blueprint", 29: "too large"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var (
				mu     sync.Mutex
				bodies [][]byte
			)
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if r.URL.Path == "/v1/auth/access_token" {
					_, _ = w.Write([]byte(`{"accessToken":"tok","expiresIn":3600,"tokenType":"Bearer"}`))
					return
				}
				mu.Lock()
				bodies = append(bodies, body)
				mu.Unlock()
				var in struct{ Entities []json.RawMessage }
				_ = json.Unmarshal(body, &in)
				ans := `{"ok":true,"entities":[`
				for i := range in.Entities {
					if i > 0 {
						ans += ","
					}
					ans += `{"identifier":"x","index":` + strconv.Itoa(i) + `,"created":true}`
				}
				_, _ = w.Write([]byte(ans + `],"errors":[]}`))
			}))
			t.Cleanup(ts.Close)
			c, err := New(ts.URL, "id", "secret")
			if err != nil {
				t.Fatal(err)
			}
			ents := make([]Entity, tt.n)
			var want [][]byte
			for i := range ents {
				ents[i] = Entity{Identifier: "e-" + strconv.Itoa(i), Title: "E " + strconv.Itoa(i),
					Properties: map[string]any{"blob": strings.Repeat(string(rune('a'+i%26)), tt.blob), "n": float64(i)}}
				switch tt.skip[i] {
				case "too large":
					ents[i].Properties["blob"] = strings.Repeat("z", MaxRequestBytes)
					continue
				case "blueprint":
					ents[i].Blueprint = "other"
					continue
				}
				enc, err := encodeWrite(nil, &ents[i])
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, enc)
			}
			res, err := c.BulkUpsert(t.Context(), "service", ents, UpsertOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res {
				if _, skipped := tt.skip[i]; skipped != (r.Err != nil) {
					t.Errorf("entity %d: error %v, skipped %v", i, r.Err, skipped)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(bodies) != tt.bodies {
				t.Fatalf("%d requests, want %d", len(bodies), tt.bodies)
			}
			var got [][]byte
			for _, body := range bodies {
				var in struct{ Entities []json.RawMessage }
				if err := json.Unmarshal(body, &in); err != nil {
					t.Fatal(err)
				}
				for _, e := range in.Entities {
					got = append(got, e)
				}
				// The body is exactly the entities, as sent.
				if w := []byte(`{"entities":[` + string(bytes.Join(toBytes(in.Entities), []byte(","))) + `]}`); !bytes.Equal(body, w) {
					t.Errorf("body is not the bare list of entities: %.200s", body)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("%d entities sent, want %d", len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Errorf("entity %d sent as %.100s, want %.100s", i, got[i], want[i])
				}
			}
		})
	}
}

func toBytes(rs []json.RawMessage) [][]byte {
	out := make([][]byte, len(rs))
	for i, r := range rs {
		out[i] = r
	}
	return out
}
