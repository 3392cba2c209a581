package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
		assert.Regexp(t, regexp.MustCompile(`(?m)^\s+`+regexp.QuoteMeta(kind)+`\s+[1-9]\d*\s+[1-9]\d*\s+0\s`), s, "kind %s fetched and upserted items", kind)
		assert.Regexp(t, regexp.MustCompile(`(?m)^\s+`+regexp.QuoteMeta(kind)+`\s+[1-9]\d*\s+0\s+[1-9]\d*\s`), s, "the second resync finds kind %s unchanged", kind)
	}
	assert.Regexp(t, `(?m)^\s+total\s+[1-9]\d*\s*$`, s)
	assert.NotContains(t, logs.String(), "level=ERROR")
}
