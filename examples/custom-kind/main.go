// Command custom-kind shows how to extend oceankit with kinds of your own:
// an `environment` kind added to the GitLab provider, and a second provider,
// Statuspage, with a `component` kind, its own selector, blueprint and
// mapping.
//
//	go run ./examples/custom-kind
//
// With no settings it runs offline: an in-memory Port, GitLab and status
// page start in process. Each can be swapped for the real thing with the
// variables the gitlab-v2 image reads: OCEAN__PORT__CLIENT_ID,
// OCEAN__PORT__CLIENT_SECRET (and OCEAN__PORT__BASE_URL) for Port,
// OCEAN__INTEGRATION__CONFIG__GITLAB_URL and …__GITLAB_TOKEN for GitLab,
// OCEAN__INTEGRATION__CONFIG__STATUSPAGE_URL (https://www.githubstatus.com,
// say) for a status page.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/oceankit/oceankit/gitlab"
	"github.com/oceankit/oceankit/gitlab/gitlabtest"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/report"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port/porttest"
	"github.com/oceankit/oceankit/program"
)

func main() {
	verbose := flag.Bool("v", false, "log at INFO level (warnings only otherwise)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if err := run(ctx, os.Environ(), os.Stdout, log); err != nil {
		fmt.Fprintln(os.Stderr, "custom-kind:", err)
		os.Exit(1)
	}
}

// run syncs both providers once and prints what happened.
func run(ctx context.Context, environ []string, out io.Writer, log *slog.Logger) error {
	cfg, err := settings.Load(settings.LoadOptions{Environ: environ, WorkingDirFiles: true, ProviderType: gitlab.ProviderType})
	if err != nil {
		return err
	}
	// Whatever the environment does not point at runs in process.
	var pt *porttest.Server
	if cfg.Port.ClientID == "" {
		pt = porttest.New(porttest.WithoutRequestLog())
		defer pt.Close()
		cfg.Port.ClientID, cfg.Port.ClientSecret, cfg.Port.BaseURL = settings.Secret(pt.ClientID), settings.Secret(pt.ClientSecret), pt.URL
	}
	own := cfg.Integration.Config // OCEAN__INTEGRATION__CONFIG__…, snake_case keys
	if own["gitlab_token"] == nil {
		size := gitlabtest.SizeSmall
		size.Now = time.Now()
		gl := gitlabtest.New(gitlabtest.WithDataset(gitlabtest.Generate(1, size)))
		defer gl.Close()
		own["gitlab_url"], own["gitlab_token"] = gl.URL, gl.Token
	}
	if own["statuspage_url"] == nil {
		sp := httptest.NewServer(newFakeStatuspage())
		defer sp.Close()
		own["statuspage_url"] = sp.URL
	}

	gl, err := gitlabWithEnvironments(cfg, log)
	if err != nil {
		return err
	}
	// One process, two integrations: each needs its own type and
	// identifier, which Port's datasource uses to tell their entities apart.
	spCfg := *cfg
	spCfg.Integration.Type, spCfg.Integration.Identifier = "statuspage", "my-statuspage-integration"
	sp, err := statuspageFromConfig(&spCfg)
	if err != nil {
		return err
	}

	for _, r := range []struct {
		cfg  *settings.Config
		prov *ocean.Provider
	}{{cfg, gl}, {&spCfg, sp}} {
		rep, err := syncOnce(ctx, r.cfg, r.prov, log)
		if rep != nil {
			printReport(out, r.cfg.Integration.Identifier, rep)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", r.prov.Type, err)
		}
	}
	if pt != nil {
		printCatalog(out, pt)
	}
	return nil
}

// gitlabWithEnvironments is the GitLab provider plus the environment kind:
// build the provider as usual, then add to its kinds and its defaults.
func gitlabWithEnvironments(cfg *settings.Config, log *slog.Logger) (*ocean.Provider, error) {
	gcfg, err := gitlab.LoadConfig(cfg)
	if err != nil {
		return nil, err
	}
	g, err := gitlab.New(gcfg, gitlab.WithLogger(settings.RedactLogger(log, cfg)))
	if err != nil {
		return nil, err
	}
	prov := g.Provider()
	prov.Kinds = append(prov.Kinds, environmentKind(g))
	extra, err := fs.Sub(defaultsFS, "defaults/environment")
	if err != nil {
		return nil, err
	}
	if prov.Defaults, err = mergeDefaults(prov.Defaults, extra); err != nil {
		return nil, fmt.Errorf("gitlab defaults: %w", err)
	}
	return prov, nil
}

// statuspageFromConfig reads the Statuspage provider's settings the way
// gitlab.LoadConfig reads GitLab's.
func statuspageFromConfig(cfg *settings.Config) (*ocean.Provider, error) {
	var sc statuspageConfig
	if err := settings.DecodeIntegrationConfig(cfg, &sc); err != nil {
		return nil, err
	}
	return newStatuspageProvider(sc, &http.Client{Timeout: cfg.ClientTimeout})
}

// syncOnce is what Run does for OCEAN__EVENT_LISTENER__TYPE=ONCE, keeping
// the report: create what is missing in Port, then one full resync.
func syncOnce(ctx context.Context, cfg *settings.Config, prov *ocean.Provider, log *slog.Logger, opts ...ocean.Option) (*report.Resync, error) {
	app, err := ocean.New(cfg, prov, append([]ocean.Option{ocean.WithLogger(log)}, opts...)...)
	if err != nil {
		return nil, err
	}
	if cfg.InitializePortResources {
		if err := app.InitializePortResources(ctx); err != nil {
			return nil, err
		}
	}
	return app.Resync(ctx, ocean.ResyncOptions{Trigger: "custom-kind"})
}

func printReport(out io.Writer, integration string, rep *report.Resync) {
	fmt.Fprintf(out, "%s: resync %s\n", integration, rep.Status)
	_ = program.WriteReport(out, rep) // the demo's table
	fmt.Fprintln(out)
}

// printCatalog shows what the in-process Port holds, with a few entities
// of the two blueprints this example adds.
func printCatalog(out io.Writer, pt *porttest.Server) {
	fmt.Fprintln(out, "The in-process Port now holds:")
	for _, bp := range pt.Blueprints() {
		fmt.Fprintf(out, "  %-20s %3d entities\n", bp, pt.EntityCount(bp))
	}
	for i, e := range pt.Entities("gitlabEnvironment") {
		if i == 3 {
			break
		}
		fmt.Fprintf(out, "  environment %s (%v) → service %v\n", e.Identifier, e.Properties["tier"], e.Relations["service"])
	}
	for _, e := range pt.Entities("statuspageComponent") {
		fmt.Fprintf(out, "  component %s %-20q %v\n", e.Identifier, e.Title, e.Properties["status"])
	}
}
