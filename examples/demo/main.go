// Command demo shows oceankit working with no credentials and no network:
// it starts an in-memory GitLab (seeded with groups, projects, merge
// requests, members…) and an in-memory Port, runs the gitlab-sync code path
// against them — initializePortResources, a full resync, a deletion, live
// events — and prints what happened.
//
//	go run ./examples/demo
//
// With -serve it starts the same fakes, creates the integration, its
// default blueprints and mapping in the fake Port, prints the variables
// that point gitlab-sync at them, and serves until interrupted: a way to
// try `gitlab-sync --plan`, `--dry-run` or `--once` offline.
//
//	go run ./examples/demo -serve
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
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
	serveFakes := flag.Bool("serve", false, "serve the fakes and print the variables that point gitlab-sync at them")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	do := run
	if *serveFakes {
		do = serve
	}
	if err := do(ctx, os.Stdout, os.Stderr); err != nil {
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
	// Port dates its answers to the second, and a resync tells the entities
	// written before it from those written during it by that date: the
	// demo's resyncs follow each other within milliseconds, so its Port's
	// clock is moved on between them as if a few seconds had passed.
	portClock := porttest.NewStepClock(time.Now(), 0)
	pt := porttest.New(porttest.WithoutRequestLog(), porttest.WithClock(portClock.Now))
	defer pt.Close()
	fmt.Fprintf(stdout, "oceankit demo: an in-memory GitLab (%d groups, %d projects) synced into an in-memory Port\n\n",
		len(gl.Dataset().Groups()), len(gl.Dataset().Projects()))

	// The same variables an operator sets for Port's gitlab-v2 image.
	cfg, err := settings.Load(settings.LoadOptions{ProviderType: gitlab.ProviderType, Environ: []string{
		"OCEAN__PORT__CLIENT_ID=" + pt.ClientID,
		"OCEAN__PORT__CLIENT_SECRET=" + pt.ClientSecret,
		"OCEAN__PORT__BASE_URL=" + pt.URL,
		"OCEAN__INTEGRATION__IDENTIFIER=demo-gitlab",
		"OCEAN__INTEGRATION__CONFIG__GITLAB_URL=" + gl.URL,
		"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=" + gl.Token,
		"OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET=" + webhookSecret,
		// Live events only: the demo runs its resyncs itself.
		"OCEAN__EVENT_LISTENER__TYPE=WEBHOOKS_ONLY",
		"APPLICATION__PORT=0",
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

	step(stdout, "3. a project is deleted in GitLab; a second resync removes its entity and rewrites nothing unchanged")
	portClock.Advance(2 * time.Second)
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

	step(stdout, "4. live events: GitLab webhooks posted to POST /integration/webhook")
	if err := liveEvents(ctx, stdout, app, gl, pt); err != nil {
		return fmt.Errorf("live events: %w", err)
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

const webhookSecret = "demo-webhook-secret"

// serve starts the fakes, creates the integration and its defaults in the
// fake Port (so that --plan and --dry-run read the mapping from it), prints
// the environment for gitlab-sync and waits until ctx is done.
func serve(ctx context.Context, stdout, logs io.Writer) error {
	size := gitlabtest.SizeSmall
	size.Now = time.Now()
	gl := gitlabtest.New(gitlabtest.WithDataset(gitlabtest.Generate(42, size)))
	defer gl.Close()
	pt := porttest.New(porttest.WithoutRequestLog())
	defer pt.Close()
	env := append(pt.Env(),
		"OCEAN__INTEGRATION__IDENTIFIER=demo-gitlab",
		"OCEAN__INTEGRATION__CONFIG__GITLAB_URL="+gl.URL,
		"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN="+gl.Token,
	)
	cfg, err := settings.Load(settings.LoadOptions{ProviderType: gitlab.ProviderType, Environ: env})
	if err != nil {
		return err
	}
	app, _, err := gitlab.NewApp(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return err
	}
	if err := app.InitializePortResources(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "# An in-memory GitLab (%d projects) and Port are serving until Ctrl-C. In another shell:\n",
		len(gl.Dataset().Projects()))
	for _, kv := range env {
		fmt.Fprintf(stdout, "export %s\n", kv)
	}
	fmt.Fprintln(stdout, "go run ./examples/gitlab-sync --plan      # or --dry-run, or --once")
	<-ctx.Done()
	return nil
}

// liveEvents runs the App's live-event server and sends it what GitLab
// would: a merge request renamed, then closed (the default mapping keeps
// opened merge requests only, so its entity goes).
func liveEvents(ctx context.Context, w io.Writer, app *ocean.App, gl *gitlabtest.Server, pt *porttest.Server) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	base, err := waitReady(ctx, app)
	if err != nil {
		return err
	}

	var mrID string
	var projectID, iid int
	for _, e := range pt.Entities("gitlabMergeRequest") {
		mrID = e.ID()
		break
	}
	for _, p := range gl.Dataset().Projects() {
		for _, mr := range gl.Dataset().MergeRequests(p.ID) {
			if strconv.Itoa(mr.ID) == mrID {
				projectID, iid = p.ID, mr.IID
			}
		}
	}
	if projectID == 0 {
		return fmt.Errorf("no merge request to change")
	}
	event := func(action string) map[string]any {
		return map[string]any{
			"object_kind": "merge_request", "event_type": "merge_request",
			"project": map[string]any{"id": projectID},
			"object_attributes": map[string]any{
				"iid": iid, "target_project_id": projectID, "action": action,
				"updated_at": time.Now().UTC().Format("2006-01-02 15:04:05 UTC"),
			},
		}
	}

	if _, err := gl.Dataset().UpdateMergeRequest(projectID, iid, func(mr *gitlabtest.MergeRequest) { mr.Title = "Renamed in GitLab" }); err != nil {
		return err
	}
	status, err := post(ctx, base, event("update"))
	if err != nil {
		return err
	}
	if err := waitFor(ctx, func() bool {
		e, ok := pt.Entity("gitlabMergeRequest", mrID)
		return ok && e.Title == "Renamed in GitLab"
	}); err != nil {
		return err
	}
	fmt.Fprintf(w, "   merge request %s renamed: webhook answered %d, the entity's title changed\n", mrID, status)

	if _, err := gl.Dataset().UpdateMergeRequest(projectID, iid, func(mr *gitlabtest.MergeRequest) { mr.State = "closed" }); err != nil {
		return err
	}
	if status, err = post(ctx, base, event("close")); err != nil {
		return err
	}
	if err := waitFor(ctx, func() bool { _, ok := pt.Entity("gitlabMergeRequest", mrID); return !ok }); err != nil {
		return err
	}
	fmt.Fprintf(w, "   merge request %s closed: webhook answered %d, the entity was deleted (the selector keeps opened ones)\n", mrID, status)

	status, err = postWithToken(ctx, base, event("update"), "wrong-secret")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "   a delivery with a wrong X-Gitlab-Token was answered %d\n\n", status)
	cancel()
	return <-done
}

func post(ctx context.Context, base string, body any) (int, error) {
	return postWithToken(ctx, base, body, webhookSecret)
}

func postWithToken(ctx context.Context, base string, body any, token string) (int, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/integration/webhook", bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Gitlab-Event", "Merge Request Hook")
	req.Header.Set("X-Gitlab-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func waitReady(ctx context.Context, app *ocean.App) (string, error) {
	var base string
	err := waitFor(ctx, func() bool {
		addr := app.Addr()
		if addr == "" {
			return false
		}
		_, port, _ := net.SplitHostPort(addr)
		base = "http://127.0.0.1:" + port
		resp, err := http.Get(base + "/health/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return base, err
}

// waitFor polls a condition that live-event workers bring about.
func waitFor(ctx context.Context, cond func() bool) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return fmt.Errorf("timed out waiting for a live event to land")
}

func step(w io.Writer, s string) { fmt.Fprintln(w, s) }

func printReport(w io.Writer, rep *report.Resync) {
	_ = program.WriteReport(w, rep)
	fmt.Fprintln(w)
}
