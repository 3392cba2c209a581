package port_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

func ExampleNew() {
	// Against Port itself: port.New(port.EUBaseURL, clientID, clientSecret, ...).
	srv := porttest.New()
	defer srv.Close()

	client, err := port.New(srv.URL, srv.ClientID, srv.ClientSecret,
		port.WithDatasource(port.Datasource{Type: "gitlab-v2", Version: "0.9.30", Identifier: "my-gitlab-v2-integration"}),
		port.WithRetryPolicy(port.RetryPolicy{MaxAttempts: 5, BaseDelay: 300 * time.Millisecond, MaxDelay: time.Minute}),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(client.UserAgent())
	// Output: port-ocean/gitlab-v2/0.9.30/my-gitlab-v2-integration/exporter
}

func ExampleClient_BulkUpsert() {
	ctx := context.Background()
	srv := porttest.New()
	defer srv.Close()
	_ = srv.AddBlueprint(port.Blueprint{Identifier: "service", Title: "Service", Schema: port.BlueprintSchema{
		Properties: map[string]map[string]any{"url": {"type": "string"}}}})

	client, err := port.New(srv.URL, srv.ClientID, srv.ClientSecret,
		port.WithDatasource(port.Datasource{Type: "gitlab-v2", Version: "0.9.30", Identifier: "my-gitlab"}))
	if err != nil {
		log.Fatal(err)
	}
	entities := []port.Entity{
		{Identifier: "api", Title: "API", Properties: map[string]any{"url": "https://gitlab.example.com/api"}},
		{Identifier: "web", Title: "Web", Properties: map[string]any{"url": 42}}, // wrong type: Port rejects it alone
	}
	results, err := client.BulkUpsert(ctx, "service", entities, port.UpsertOptions{Merge: true})
	if err != nil {
		log.Fatal(err) // ctx ended or credentials refused
	}
	for _, r := range results {
		fmt.Println(r.Identifier, r.Created, port.IsValidation(r.Err))
	}

	// Later, find every entity this integration owns (for stale-entity deletion).
	for page, err := range client.DatasourceEntities(ctx, port.DatasourceQuery{}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("owned:", len(page))
	}
	// Output:
	// api true false
	// web false true
	// owned: 1
}
