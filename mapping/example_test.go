package mapping_test

import (
	"context"
	"fmt"
	"log"

	"github.com/oceankit/oceankit/mapping"
)

func Example() {
	cfg, err := mapping.Parse([]byte(`
resources:
  - kind: project
    selector:
      query: .archived | not
    port:
      entity:
        mappings:
          identifier: .path_with_namespace
          title: .name
          blueprint: '"service"'
          properties:
            url: .web_url
            language: .__languages | to_entries | max_by(.value) | .key
`))
	if err != nil {
		log.Fatal(err)
	}
	m, err := mapping.Compile(cfg)
	if err != nil {
		log.Fatal(err)
	}
	items := []map[string]any{
		{"path_with_namespace": "acme/billing", "name": "Billing", "web_url": "https://gitlab.example.com/acme/billing",
			"archived": false, "__languages": map[string]any{"Go": 80.0, "Shell": 20.0}},
		{"path_with_namespace": "acme/old", "name": "Old", "archived": true},
	}
	res, err := m.Resources()[0].Map(context.Background(), items)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range res.Entities {
		fmt.Println(e.Blueprint, e.ID(), e.Title, e.Properties["language"], e.Properties["url"])
	}
	fmt.Println("filtered:", res.Filtered)
	// Output:
	// service acme/billing Billing Go https://gitlab.example.com/acme/billing
	// filtered: 1
}

func ExampleCompile_errors() {
	cfg, err := mapping.Parse([]byte(`{"resources":[{"kind":"merge-request","port":{"entity":{"mappings":{
		"identifier":".id | tostring","blueprint":"\"mr\"","properties":{"leadTime":"(.merged_at | }"}}}}}]}`))
	if err != nil {
		log.Fatal(err)
	}
	_, err = mapping.Compile(cfg)
	fmt.Println(err)
	// Output:
	// resources[0] (merge-request) .port.entity.mappings.properties.leadTime: jq parse error at offset 15 near "}": unexpected token "}" (expression: (.merged_at | })
}

func ExampleResourceMapper_Map_misconfigured() {
	cfg, err := mapping.Parse([]byte(`{"resources":[{"kind":"member","port":{"entity":{"mappings":{
		"identifier":".username","blueprint":"\"gitlabMember\"","properties":{"name":".name | ascii_downcase"}}}}}]}`))
	if err != nil {
		log.Fatal(err)
	}
	m, err := mapping.Compile(cfg)
	if err != nil {
		log.Fatal(err)
	}
	res, err := m.Resources()[0].Map(context.Background(), []map[string]any{
		{"username": "alice", "name": "Alice"},
		{"username": "bot", "name": 42},
	})
	if err != nil {
		log.Fatal(err)
	}
	// As in Ocean, a field that fails is null and the entity is kept.
	fmt.Println(len(res.Entities), "entities; bot's name:", res.Entities[1].Properties["name"])
	for _, fe := range res.FieldErrors {
		fmt.Println(fe.Item, fe.Field, fe.Identifier, fe.Err)
	}
	// Output:
	// 2 entities; bot's name: <nil>
	// 1 properties.name bot ascii_downcase cannot be applied to: number (42)
}

func ExampleResourceMapper_MapOne() {
	cfg, err := mapping.Parse([]byte(`{"resources":[{"kind":"merge-request","selector":{"query":".state == 'opened'"},
		"port":{"entity":{"mappings":{"identifier":".id | tostring","blueprint":"\"mr\""}}}}]}`))
	if err != nil {
		log.Fatal(err)
	}
	m, err := mapping.Compile(cfg)
	if err != nil {
		log.Fatal(err)
	}
	// A live event for a merged MR: the selector rejects it, and its entity
	// is returned in Rejected so that the caller can delete it.
	res, err := m.Resources()[0].MapOne(context.Background(), map[string]any{"id": 7.0, "state": "merged"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(res.Entities), res.Rejected[0].ID())
	// Output:
	// 0 7
}
