package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/gitlab"
	"github.com/oceankit/oceankit/ocean/settings"
)

func TestDemoOutput(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, logs bytes.Buffer
	require.NoError(t, run(ctx, &out, &logs), "logs:\n%s", logs.String())
	s := out.String()
	for _, want := range []string{
		"1. initializePortResources",
		"blueprints in Port: gitlabGroup, gitlabMember, gitlabMergeRequest, service",
		"2. a full resync",
		"resync completed",
		"was deleted from Port",
		"renamed: webhook answered 202, the entity's title changed",
		"closed: webhook answered 202, the entity was deleted",
		"wrong X-Gitlab-Token was answered 401",
		"The catalog in Port",
	} {
		assert.Contains(t, s, want)
	}
	for _, kind := range []string{"project", "member", "group-with-members", "merge-request"} {
		// kind, fetched, filtered, misconfigured, upserted, unchanged, failed, deleted
		assert.Regexp(t, regexp.MustCompile(`(?m)^\s+`+regexp.QuoteMeta(kind)+`\s+[1-9]\d*\s+\d+\s+0\s+[1-9]\d*\s+0\s+0\s`), s, "kind %s fetched and upserted items", kind)
		assert.Regexp(t, regexp.MustCompile(`(?m)^\s+`+regexp.QuoteMeta(kind)+`\s+[1-9]\d*\s+\d+\s+0\s+0\s+[1-9]\d*\s+0\s`), s, "the second resync finds kind %s unchanged", kind)
	}
	assert.Regexp(t, `(?m)^\s+total\s+[1-9]\d*\s*$`, s)
	assert.NotContains(t, logs.String(), "level=ERROR")
}

// TestServe checks that -serve prints an environment that loads, for a
// Port that holds the integration and its mapping.
func TestServe(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- serve(ctx, pw, io.Discard); _ = pw.Close() }()

	var env []string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if kv, ok := strings.CutPrefix(sc.Text(), "export "); ok {
			env = append(env, kv)
		}
		if strings.HasPrefix(sc.Text(), "go run ./examples/gitlab-sync") {
			break
		}
	}
	require.NotEmpty(t, env)
	cfg, err := settings.Load(settings.LoadOptions{ProviderType: gitlab.ProviderType, Environ: env})
	require.NoError(t, err)
	app, _, err := gitlab.NewApp(cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	plan, err := app.Plan(ctx)
	require.NoError(t, err, "--plan works against the served fakes")
	assert.NotNil(t, plan)

	cancel()
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	require.NoError(t, <-done)
}
