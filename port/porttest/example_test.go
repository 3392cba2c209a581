package porttest_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

func Example() {
	// In a test, porttest.NewServer(t) closes the server when the test ends.
	srv := porttest.New(porttest.WithRecordBodies())
	defer srv.Close()
	_ = srv.AddBlueprint(port.Blueprint{Identifier: "service", Title: "Service", Schema: port.BlueprintSchema{}})

	// Make the first bulk request fail the way an overloaded Port does.
	srv.InjectFault(porttest.Fault{Route: porttest.RouteBulkUpsert, Status: http.StatusServiceUnavailable, RetryAfter: "0"})

	client, err := port.New(srv.URL, srv.ClientID, srv.ClientSecret,
		port.WithRetryPolicy(port.RetryPolicy{MaxAttempts: 3}),
		port.WithDatasource(port.Datasource{Type: "gitlab-v2", Version: "1.0.0", Identifier: "demo"}))
	if err != nil {
		log.Fatal(err)
	}
	_, err = client.BulkUpsert(context.Background(), "service", []port.Entity{{Identifier: "api"}}, port.UpsertOptions{})
	if err != nil {
		log.Fatal(err)
	}

	e, _ := srv.Entity("service", "api")
	fmt.Println(e.ID(), e.Datasource)
	fmt.Println("bulk requests:", srv.Count(porttest.RouteBulkUpsert))
	// Output:
	// api port-ocean/gitlab-v2/1.0.0/demo/exporter
	// bulk requests: 2
}
