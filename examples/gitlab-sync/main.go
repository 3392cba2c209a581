// Command gitlab-sync keeps Port's software catalog equal to a GitLab
// instance. It is a drop-in for Port's port-ocean-gitlab-v2 image: the same
// OCEAN__… and APPLICATION__… environment variables, the same listeners,
// routes and port app config. Run with --help for every setting.
//
// The program around the provider — flags, settings, logs, redaction,
// signals, exit codes, the probe command — is package program's; this file
// adds GitLab: its provider, its settings' descriptions and its probe
// checks.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/oceankit/oceankit/gitlab"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/program"
)

func main() {
	program.Main(spec())
}

// spec is the gitlab-sync program. Each call returns a new one: its probe
// checks use the GitLab client of the App its NewApp built.
func spec() program.Spec {
	var integ *gitlab.Integration
	return program.Spec{
		Name:    "gitlab-sync",
		Summary: "gitlab-sync keeps Port's catalog equal to GitLab, configured like Port's gitlab-v2 image.",
		Type:    gitlab.ProviderType,
		NewApp: func(cfg *settings.Config, logger *slog.Logger, opts ...ocean.Option) (*ocean.App, error) {
			app, in, err := gitlab.NewApp(cfg, logger, opts...)
			integ = in
			return app, err
		},
		Settings: &gitlab.Config{},
		Help:     help,
		Defaults: map[string]string{"OCEAN__INTEGRATION__CONFIG__GITLAB_HOST": gitlab.DefaultHost},
		Examples: []string{
			"gitlab-sync --once                          # one resync, then exit (0 when it completed)",
			"gitlab-sync --dry-run --config mapping.yml  # fetch and map, print the entities, change nothing",
			"gitlab-sync --plan                          # what a resync would create, change and delete",
			"gitlab-sync                                 # resync, then poll Port for resync requests",
			"ocean probe . --mode shallow                # Port's Helm chart's probe Job",
		},
		ProbeSteps: func(cfg *settings.Config, _ *slog.Logger) ([]ocean.ProbeStep, error) {
			return gitlabProbeSteps(integ, cfg.BaseURL != ""), nil
		},
	}
}

// gitlabProbeSteps checks GitLab's side: the token is accepted (GET /user)
// and, where GitLab tells a token's scopes, they allow reading (api or
// read_api); without api, webhooks cannot be managed, which matters only
// when live events are on.
func gitlabProbeSteps(integ *gitlab.Integration, liveEvents bool) []ocean.ProbeStep {
	c := integ.Client()
	return []ocean.ProbeStep{
		{Name: "gitlab credentials", Run: func(ctx context.Context) (string, error) {
			var user struct {
				Username string `json:"username"`
			}
			if err := c.Get(ctx, "user", nil, &user); err != nil {
				return "", err
			}
			return "token of " + user.Username, nil
		}},
		{Name: "gitlab token scopes", Run: func(ctx context.Context) (string, error) {
			var tok struct {
				Scopes []string `json:"scopes"`
			}
			if err := c.Get(ctx, "personal_access_tokens/self", nil, &tok); err != nil {
				if ctx.Err() != nil {
					return "", ctx.Err()
				}
				// OAuth tokens and older instances do not say.
				return "not reported by GitLab for this token", nil
			}
			scopes := strings.Join(tok.Scopes, ", ")
			switch {
			case tok.Scopes == nil:
				return "not reported by GitLab for this token", nil
			case !slices.Contains(tok.Scopes, "api") && !slices.Contains(tok.Scopes, "read_api"):
				return "", fmt.Errorf("the token's scopes (%s) include neither api nor read_api", scopes)
			case liveEvents && !slices.Contains(tok.Scopes, "api"):
				return "", fmt.Errorf("the token's scopes (%s) do not include api, which managing webhooks needs (OCEAN__BASE_URL is set)", scopes)
			}
			return scopes, nil
		}},
	}
}
