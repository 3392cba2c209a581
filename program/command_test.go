package program

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		argv0    string
		args     []string
		wantSub  string
		wantRest []string
		wantErr  bool
	}{
		// Port's chart's probe Job: command ["ocean","probe"], args [".","--mode","shallow"].
		{argv0: "/usr/local/bin/ocean", args: []string{"probe", ".", "--mode", "shallow"}, wantSub: "probe", wantRest: []string{".", "--mode", "shallow"}},
		{argv0: "gitlab-sync", args: []string{"probe", "--kinds", "project"}, wantSub: "probe", wantRest: []string{"--kinds", "project"}},
		{argv0: "ocean", args: []string{"sail", "."}, wantRest: []string{}},
		{argv0: "ocean", args: []string{"sail", "--once"}, wantRest: []string{"--once"}},
		{argv0: "/usr/local/bin/gitlab-sync", args: nil, wantRest: nil},
		{argv0: "/usr/local/bin/gitlab-sync", args: []string{"--once"}, wantRest: []string{"--once"}},
		{argv0: "ocean", args: nil, wantErr: true},
		{argv0: "ocean", args: []string{"defaults", "clean"}, wantErr: true},
	}
	for _, tt := range tests {
		sub, rest, err := command(tt.argv0, tt.args)
		if tt.wantErr {
			assert.Error(t, err, "%s %v", tt.argv0, tt.args)
			continue
		}
		require.NoError(t, err, "%s %v", tt.argv0, tt.args)
		assert.Equal(t, tt.wantSub, sub, "%s %v", tt.argv0, tt.args)
		if len(tt.wantRest) == 0 {
			assert.Empty(t, rest)
		} else {
			assert.Equal(t, tt.wantRest, rest)
		}
	}
}

func TestParseProbeFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args      []string
		wantMode  string
		wantKinds []string
		wantErr   bool
	}{
		{args: []string{".", "--mode", "shallow"}, wantMode: "shallow"},
		{args: []string{".", "--mode", "shallow", "--kinds", "project,merge-request,project"}, wantMode: "shallow", wantKinds: []string{"project", "merge-request"}},
		{args: []string{"--kinds", " issue , "}, wantMode: "shallow", wantKinds: []string{"issue"}},
		{args: []string{".", "--mode", "deep"}, wantMode: "deep"},
		{args: []string{".", "--mode", "sideways"}, wantErr: true},
		{args: []string{".", "extra"}, wantErr: true},
		{args: []string{"--log-format", "xml"}, wantErr: true},
	}
	for _, tt := range tests {
		o, err := parseProbeFlags(tt.args, io.Discard)
		if tt.wantErr {
			assert.Error(t, err, "%v", tt.args)
			continue
		}
		require.NoError(t, err, "%v", tt.args)
		assert.Equal(t, tt.wantMode, o.mode)
		assert.Equal(t, tt.wantKinds, o.kinds)
	}
}
