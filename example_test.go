package oceankit_test

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/program"
)

// widgets is the quickstart's provider: one kind, one page of raw items.
func widgets(*settings.Config, *slog.Logger) (*ocean.Provider, error) {
	kind := ocean.NewKind("widget", func(ctx context.Context, _ ocean.BaseSelector, send ocean.Sender) error {
		return send.Send(ctx, []ocean.Item{{"id": "w1", "name": "Widget"}})
	})
	return &ocean.Provider{Type: "widgets", Kinds: []ocean.Kind{kind}}, nil
}

// The quickstart: a provider and one call. A real main is
// program.Main(spec); here the program runs a dry run with a mapping file
// and prints the entity it would upsert.
func Example() {
	spec := program.Spec{Name: "widget-sync", Type: "widgets", Provider: widgets}

	mapping, _ := os.CreateTemp("", "mapping-*.yml")
	defer os.Remove(mapping.Name())
	_, _ = mapping.WriteString(`resources:
  - kind: widget
    selector: {query: "true"}
    port:
      entity:
        mappings: {identifier: .id, title: .name, blueprint: '"widget"'}
`)
	_ = mapping.Close()

	argv := []string{"widget-sync", "--dry-run", "--config", mapping.Name()}
	program.Run(context.Background(), spec, argv, nil, os.Stdout, io.Discard)
	// Output:
	// {"op":"upsert","entity":{"identifier":"w1","blueprint":"widget","title":"Widget","properties":{},"relations":{}}}
}
