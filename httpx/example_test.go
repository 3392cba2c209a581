package httpx_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/oceankit/oceankit/httpx"
)

// A provider's kind lists a paginated collection: each page is handed on
// as it arrives (in a Kind, to send.Send), with retries, the token kept
// out of errors, and the next page found from the Link header.
func ExampleClient_Pages() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t0ken" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.URL.Query().Get("page") == "" {
			w.Header().Set("Link", `<http://`+r.Host+`/api/tickets?status=open&page=2>; rel="next"`)
			fmt.Fprint(w, `[{"id":"T-1"},{"id":"T-2"}]`)
			return
		}
		fmt.Fprint(w, `[{"id":"T-3"}]`)
	}))
	defer api.Close()

	c, err := httpx.New(api.URL+"/api", httpx.WithBearerToken("t0ken"))
	if err != nil {
		log.Fatal(err)
	}
	err = c.Pages(context.Background(), "/tickets", url.Values{"status": {"open"}}, func(items []map[string]any) error {
		fmt.Println(len(items), "tickets, first", items[0]["id"])
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// 2 tickets, first T-1
	// 1 tickets, first T-3
}
