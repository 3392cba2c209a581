// Command demo shows oceankit working with no credentials and no network:
// it starts an in-memory GitLab (seeded with groups, projects, merge
// requests, members…) and an in-memory Port, runs the gitlab-sync code path
// against them — initializePortResources, a full resync, live events, a
// deletion — and prints what happened.
//
//	go run ./examples/demo
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/oceankit/oceankit/gitlab"
	"github.com/oceankit/oceankit/gitlab/gitlabtest"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/port/porttest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// run is the whole demo; main_test.go checks its output.
func run(ctx context.Context, stdout, logs io.Writer) error {
	size := gitlabtest.SizeSmall
	size.Now = time.Now()
	gl := gitlabtest.New(gitlabtest.WithDataset(gitlabtest.Generate(42, size)))
	defer gl.Close()
	pt := porttest.New(porttest.WithoutRequestLog())
	defer pt.Close()
	fmt.Fprintf(stdout, "oceankit demo: an in-memory GitLab (%d groups, %d projects) synced into an in-memory Port\n\n",
		len(gl.Dataset().Groups()), len(gl.Dataset().Projects()))

	// The same variables an operator sets for Port's gitlab-v2 image.
	cfg, err := ocean.Load(ocean.LoadOptions{ProviderType: gitlab.ProviderType, Environ: []string{
		"OCEAN__PORT__CLIENT_ID=" + pt.ClientID,
		"OCEAN__PORT__CLIENT_SECRET=" + pt.ClientSecret,
		"OCEAN__PORT__BASE_URL=" + pt.URL,
		"OCEAN__INTEGRATION__IDENTIFIER=demo-gitlab",
		"OCEAN__INTEGRATION__CONFIG__GITLAB_URL=" + gl.URL,
		"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=" + gl.Token,
		"OCEAN__EVENT_LISTENER__TYPE=ONCE",
	}})
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	app, _, err := gitlab.NewApp(cfg, logger)
	if err != nil {
		return err
	}

	step(stdout, "1. initializePortResources: the integration, default blueprints and mapping")
	if err := app.InitializePortResources(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "   blueprints in Port: %s\n\n", strings.Join(pt.Blueprints(), ", "))

	step(stdout, "2. a full resync with the default mapping")
	rep, err := app.Resync(ctx, ocean.ResyncOptions{Trigger: "demo"})
	if err != nil {
		return fmt.Errorf("resync: %w", err)
	}
	printReport(stdout, rep)

	step(stdout, "3. a project is deleted in GitLab; a second resync removes its entity")
	projects := gl.Dataset().Projects()
	sort.Slice(projects, func(i, j int) bool { return projects[i].ID < projects[j].ID })
	var gone string
	for _, p := range projects {
		if _, ok := pt.Entity("service", p.PathWithNamespace); ok {
			gone = p.PathWithNamespace
			if err := gl.Dataset().DeleteProject(p.PathWithNamespace); err != nil {
				return err
			}
			break
		}
	}
	rep, err = app.Resync(ctx, ocean.ResyncOptions{Trigger: "demo"})
	if err != nil {
		return fmt.Errorf("second resync: %w", err)
	}
	printReport(stdout, rep)
	if _, ok := pt.Entity("service", gone); !ok && gone != "" {
		fmt.Fprintf(stdout, "   %s is gone from GitLab, so its service entity was deleted from Port\n\n", gone)
	}

	step(stdout, "The catalog in Port")
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "blueprint\tentities\t")
	total := 0
	for _, bp := range pt.Blueprints() {
		n := pt.EntityCount(bp)
		total += n
		fmt.Fprintf(tw, "%s\t%d\t\n", bp, n)
	}
	fmt.Fprintf(tw, "total\t%d\t\n", total)
	return tw.Flush()
}

func step(w io.Writer, s string) { fmt.Fprintln(w, s) }

func printReport(w io.Writer, rep *ocean.ResyncReport) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tfetched\tupserted\tdeleted\ttime\t")
	for _, k := range rep.Kinds {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t\n", k.Kind, k.Fetched, k.Upserted, k.Deleted, k.Duration.Round(time.Millisecond))
	}
	fmt.Fprintf(tw, "resync %s\t\t%d\t%d\t%s\t\n", rep.Status, rep.Upserted(), rep.Deleted, rep.End.Sub(rep.Start).Round(time.Millisecond))
	_ = tw.Flush()
	fmt.Fprintln(w)
}
