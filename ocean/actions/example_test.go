package actions_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/actions"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port/porttest"
)

// greeter is an executor of the integration action "greet".
type greeter struct{}

func (greeter) Action() string { return "greet" }

func (greeter) Execute(ctx context.Context, run *actions.Run, rep actions.Reporter) error {
	name, _ := run.Inputs["name"].(string)
	if name == "" {
		// The run fails with this message.
		return errors.New("name is required")
	}
	if err := rep.Log(ctx, "greeting "+name); err != nil {
		return err
	}
	// Returning nil without completing the run marks it SUCCESS; an
	// executor whose work ends later calls rep.Continue instead.
	return rep.Succeed(ctx, "Hello, "+name)
}

// An integration executes self-service action runs by registering
// executors on its provider and running with the ACTIONS_ONLY listener (or
// with OCEAN__ACTIONS_PROCESSOR__ENABLED=true beside another listener).
func ExampleExecutor() {
	pt := porttest.New()
	defer pt.Close()
	// A user runs the action in Port.
	id := pt.CreateActionRun(porttest.NewActionRun{InstallationID: "my-integration", Type: "greet",
		Properties: map[string]any{"name": "Ada"}})

	cfg := settings.Default("greetings")
	cfg.Port.ClientID, cfg.Port.ClientSecret, cfg.Port.BaseURL = settings.Secret(pt.ClientID), settings.Secret(pt.ClientSecret), pt.URL
	cfg.Integration.Identifier = "my-integration"
	cfg.EventListener.Type = settings.ListenerActionsOnly
	cfg.InitializePortResources = false
	cfg.Application.Port = 0
	app, err := ocean.New(cfg, &ocean.Provider{Type: "greetings", Actions: []actions.Executor{greeter{}}},
		ocean.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()

	for {
		r, _ := pt.ActionRun(id)
		if r.Status.Terminal() {
			fmt.Println(r.Status, r.Summary, r.Logs)
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	// Output: SUCCESS Hello, Ada [greeting Ada]
}
