package port

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func TestBulkRouteFor(t *testing.T) {
	t.Parallel()
	c, err := New("https://port.example.com/", "id", "secret")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		blueprint string
		opts      UpsertOptions
	}{
		{"zero options", "service", UpsertOptions{}},
		{"every option", "service", UpsertOptions{Merge: true, CreateMissingRelatedEntities: true, ValidationOnly: true,
			RunID: "r 1&x", EventType: "resync", ResyncID: "a/b"}},
		{"blueprint to escape", "my blue/print", UpsertOptions{Merge: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := c.bulkRouteFor(tt.blueprint, tt.opts)
			// What every bulk request built for itself before routes were kept.
			path := entitiesPath(tt.blueprint) + "/bulk"
			q := tt.opts.query().Encode()
			want := bulkRoute{path: path, apiPath: "/v1" + path, rawQuery: q, url: c.apiURL + path + "?" + q}
			if *r != want {
				t.Errorf("route %+v, want %+v", *r, want)
			}
			if again := c.bulkRouteFor(tt.blueprint, tt.opts); again != r {
				t.Error("the same blueprint and options built a second route")
			}
		})
	}
}

func TestBulkRoutesBounded(t *testing.T) {
	t.Parallel()
	c, err := New("", "id", "secret")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 * maxBulkRoutes {
		r := c.bulkRouteFor("service", UpsertOptions{ResyncID: strconv.Itoa(i)})
		if want := "&ocean_info_resync_id=" + strconv.Itoa(i) + "&"; !strings.Contains(r.rawQuery, want) {
			t.Fatalf("route %d has query %q", i, r.rawQuery)
		}
	}
	if n := len(c.bulkRoutes.m); n > maxBulkRoutes {
		t.Errorf("client keeps %d routes, want at most %d", n, maxBulkRoutes)
	}
}

func TestHeaderNamesCanonical(t *testing.T) {
	t.Parallel()
	for _, name := range []string{headerTraceID, headerRateLimitRemaining, headerRateLimitLimit, headerRateLimitReset} {
		if c := http.CanonicalHeaderKey(strings.ToLower(name)); c != name {
			t.Errorf("%q is not canonical: %q", name, c)
		}
	}
}
