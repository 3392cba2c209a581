// Command minimal syncs a ticket tracker's people and tickets (related to their assignee, filtered by
// status in the API call) into Port, and keeps them current from its webhooks. Run it with --help.
package main

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/url"
	"slices"

	"github.com/oceankit/oceankit/httpx"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/program"
)

//go:embed defaults
var defaults embed.FS

// config is the tracker's settings: OCEAN__INTEGRATION__CONFIG__TRACKER_URL, ….
type config struct {
	TrackerURL    string          `ocean:"trackerUrl,required" help:"the tracker's API, e.g. https://tracker.example.com/api"`
	TrackerToken  settings.Secret `ocean:"trackerToken,required" help:"an API token of the tracker (secret)"`
	WebhookSecret settings.Secret `ocean:"webhookSecret" help:"the X-Tracker-Token of the tracker's webhooks; unset, webhooks are refused"`
}

// ticketSelector is the ticket kind's selector: `status: [open]`.
type ticketSelector struct {
	ocean.BaseSelector
	Status []string `json:"status"`
}

func main() { program.Main(spec()) }

func spec() program.Spec {
	return program.Spec{Name: "tracker-sync", Type: "tracker", Provider: newProvider, Settings: &config{}}
}

func newProvider(cfg *settings.Config, _ *slog.Logger) (*ocean.Provider, error) {
	var c config
	if err := settings.DecodeIntegrationConfig(cfg, &c); err != nil {
		return nil, err
	}
	return provider(c, httpx.WithBearerToken(string(c.TrackerToken)))
}

// provider is the tracker's kinds, webhook processor and defaults; opts
// configure its API client (tests pass a mock transport).
func provider(c config, opts ...httpx.Option) (*ocean.Provider, error) {
	api, err := httpx.New(c.TrackerURL, opts...)
	if err != nil {
		return nil, err
	}
	defs, _ := fs.Sub(defaults, "defaults")
	return &ocean.Provider{Type: "tracker", Defaults: defs, Processors: []ocean.Processor{ticketHook(string(c.WebhookSecret))},
		Kinds: []ocean.Kind{
			ocean.NewKind("person", func(ctx context.Context, _ ocean.BaseSelector, send ocean.Sender) error {
				return api.Pages(ctx, "/people", nil, func(page []ocean.Item) error { return send.Send(ctx, page) })
			}),
			ocean.NewKind("ticket", func(ctx context.Context, sel ticketSelector, send ocean.Sender) error {
				return api.Pages(ctx, "/tickets", url.Values{"status": sel.Status}, func(page []ocean.Item) error { return send.Send(ctx, page) },
					httpx.ItemsAt("data"), httpx.Cursor("cursor", "next_cursor"))
			}),
		}}, nil
}

// MatchItem judges a webhook's ticket as the API call would: one the selector leaves out leaves the catalog.
func (s ticketSelector) MatchItem(t ocean.Item) bool {
	status, _ := t["status"].(string)
	return len(s.Status) == 0 || slices.Contains(s.Status, status)
}

// ticketHook applies the tracker's webhooks: {"action": "updated" or "deleted", "ticket": {…}}.
func ticketHook(secret string) *ocean.ProcessorFuncs {
	ticket := func(ev *ocean.Event) ocean.Item { t, _ := ev.Payload["ticket"].(map[string]any); return t }
	return &ocean.ProcessorFuncs{ID: "tracker-ticket", KindNames: []string{"ticket"},
		Matches: func(ev *ocean.Event) bool { return ev.Headers.Get("X-Tracker-Event") == "ticket" },
		Auth: func(_ context.Context, ev *ocean.Event) error {
			if secret == "" || subtle.ConstantTimeCompare([]byte(ev.Headers.Get("X-Tracker-Token")), []byte(secret)) != 1 {
				return ocean.ErrUnauthorized
			}
			return nil
		},
		Check: func(ev *ocean.Event) error {
			if ticket(ev) == nil {
				return errors.New(`no "ticket" object`)
			}
			return nil
		},
		Apply: func(_ context.Context, ev *ocean.Event, _ ocean.Resource) (ocean.Changes, error) {
			if ev.Payload["action"] == "deleted" {
				return ocean.Changes{Delete: []ocean.Item{ticket(ev)}}, nil
			}
			return ocean.Changes{Upsert: []ocean.Item{ticket(ev)}}, nil
		},
	}
}
