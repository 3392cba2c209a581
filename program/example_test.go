package program_test

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/program"
)

// widgets is a provider with one kind that lists two widgets.
func widgets(*settings.Config, *slog.Logger) (*ocean.Provider, error) {
	kind := ocean.NewKind("widget", func(ctx context.Context, _ ocean.BaseSelector, send ocean.Sender) error {
		return send.Send(ctx, []ocean.Item{
			{"id": "w1", "name": "Sprocket", "color": "red"},
			{"id": "w2", "name": "Gear", "color": "blue"},
		})
	})
	return &ocean.Provider{Type: "widgets", Kinds: []ocean.Kind{kind}}, nil
}

// A program's main is one call; Main reads os.Args and the environment,
// stops on SIGINT or SIGTERM and exits with the program's code.
func ExampleMain() {
	program.Main(program.Spec{Name: "widget-sync", Type: "widgets", Provider: widgets})
}

// Run is the same program with its command line, environment and output
// as parameters: here a dry run, which maps the widgets with a mapping
// file and prints the entities it would upsert, without Port.
func ExampleRun() {
	code := program.Run(context.Background(),
		program.Spec{Name: "widget-sync", Type: "widgets", Provider: widgets},
		[]string{"widget-sync", "--dry-run", "--config", "testdata/widgets.yml"},
		[]string{"APPLICATION__LOG_LEVEL=ERROR"},
		os.Stdout, io.Discard)
	// Output:
	// {"op":"upsert","entity":{"identifier":"w1","blueprint":"widget","title":"Sprocket","properties":{"color":"red"},"relations":{}}}
	// {"op":"upsert","entity":{"identifier":"w2","blueprint":"widget","title":"Gear","properties":{"color":"blue"},"relations":{}}}
	_ = code
}
