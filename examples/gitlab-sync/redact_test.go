package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every line the program prints is redacted: what a server echoed into an
// error, and what is printed before any config or logger exists.
func TestEveryLineIsRedacted(t *testing.T) {
	t.Parallel()
	const clientID = "client-id-echoed-0001"
	// A Port that refuses the credentials and echoes them, as a 401 can.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "unauthorized",
			"message": "invalid credentials for clientId " + clientID})
	}))
	t.Cleanup(echo.Close)
	f := newFakes(t)

	tests := []struct {
		name string
		env  []string
		args []string
		code int
	}{
		{"Port echoes the client ID", append(f.installEnv("ONCE"),
			"OCEAN__PORT__BASE_URL="+echo.URL, "OCEAN__PORT__CLIENT_ID="+clientID), nil, 1},
		{"JSON logs too", append(f.installEnv("ONCE"),
			"OCEAN__PORT__BASE_URL="+echo.URL, "OCEAN__PORT__CLIENT_ID="+clientID), []string{"--log-format", "json"}, 1},
		{"a usage error that quotes a pasted secret", append(f.installEnv("ONCE"), "OCEAN__PORT__CLIENT_ID="+clientID),
			[]string{clientID}, 2},
		{"a bad flag value that quotes a secret", append(f.installEnv("ONCE"), "OCEAN__PORT__CLIENT_ID="+clientID),
			[]string{"--plan-format", clientID}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runBinary(t, tc.env, tc.args...)
			assert.Equal(t, tc.code, r.code, "stderr:\n%s", r.stderr)
			assert.NotContains(t, r.stderr, clientID)
			assert.NotContains(t, r.stdout, clientID)
			assert.Contains(t, r.stderr, "[REDACTED]")
			f.assertNoSecrets(t, r.stdout, r.stderr)
		})
	}
}

// A malformed OCEAN__INTEGRATION__CONFIG is a config error naming it, not
// a run against gitlab.com with the self-managed instance's token.
func TestMalformedIntegrationConfigExitsTwo(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	base := f.installEnv("ONCE")
	for _, value := range []string{
		`{"gitlabHost":"` + f.gl.URL + `",}`,
		"not json",
		"[1]",
	} {
		t.Run(value, func(t *testing.T) {
			t.Parallel()
			r := runBinary(t, append(base, "OCEAN__INTEGRATION__CONFIG="+value))
			assert.Equal(t, 2, r.code, "stderr:\n%s", r.stderr)
			assert.Contains(t, r.stderr, "OCEAN__INTEGRATION__CONFIG")
			f.assertNoSecrets(t, r.stdout, r.stderr)
		})
	}
}

// Settings out of range stop the program with exit 2 and the variable's
// name, before anything runs; a path prefix that would panic the router is
// one of them.
func TestSettingsOutOfRangeExitTwo(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	for _, kv := range []string{
		"OCEAN__MAX_EVENT_PROCESSING_SECONDS=-1",
		"OCEAN__INTEGRATION__CONFIG__MAX_RETRIES=-1",
		"OCEAN__INTEGRATION__INCREMENTAL_OVERLAP=-5m",
		"OCEAN__EVENT_QUEUE_SIZE=0",
		"OCEAN__PATH_PREFIX={x}",
		"OCEAN__LIVE_EVENTS__REDIS__READ_COUNT=0",
	} {
		t.Run(kv, func(t *testing.T) {
			t.Parallel()
			name, _, _ := strings.Cut(kv, "=")
			r := runBinary(t, append(f.installEnv("WEBHOOKS_ONLY"), kv, "APPLICATION__PORT=0"))
			assert.Equal(t, 2, r.code, "stderr:\n%s", r.stderr)
			assert.Contains(t, r.stderr, name)
			assert.NotContains(t, r.stderr, "panic")
		})
	}
}

// A GitLab token read from a file-made Kubernetes Secret ends with a
// newline; the run still works.
func TestTokenWithTrailingNewlineWorks(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	env := append(f.installEnv("ONCE"), "OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN="+f.gl.Token+"\n")
	r := runBinary(t, env)
	require.Equal(t, 0, r.code, "stderr:\n%s", r.stderr)
	assert.Positive(t, f.pt.EntityCount("service"))
}

// A mapping, which whoever edits it in Port controls, cannot read the
// integration's settings or secrets through jq's env.
func TestMappingCannotReadSecretsThroughEnv(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	mappingFile := filepath.Join(t.TempDir(), "mapping.yml")
	require.NoError(t, os.WriteFile(mappingFile, []byte(`
resources:
  - kind: project
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: .path_with_namespace
          blueprint: '"service"'
          properties:
            env: env | tostring
            dollar: $ENV | tostring
`), 0o600))
	const redisPass = "redis-pass-word-0002"
	env := []string{
		`OCEAN__INTEGRATION__CONFIG={"gitlabUrl":"` + f.gl.URL + `","gitlabToken":"` + f.gl.Token + `","webhookSecret":"hook-secret-1234"}`,
		"OCEAN__LIVE_EVENTS__REDIS__URL=redis://u:" + redisPass + "@127.0.0.1:1",
		"CLONE_URL=https://oauth2:" + f.gl.Token + "@gitlab.example.com/g/p.git",
		"VISIBLE_TO_JQ=yes",
	}
	r := runBinary(t, env, "--dry-run", "--config", mappingFile)
	require.Equal(t, 0, r.code, "stderr:\n%s", r.stderr)
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	sc.Buffer(nil, 1<<20)
	var n int
	for sc.Scan() {
		var rec struct {
			Entity struct {
				Properties map[string]string `json:"properties"`
			} `json:"entity"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rec))
		for _, p := range []string{"env", "dollar"} {
			v := rec.Entity.Properties[p]
			assert.Contains(t, v, "VISIBLE_TO_JQ")
			for _, hidden := range []string{"OCEAN__", "CLONE_URL", "[REDACTED]", f.gl.Token, "hook-secret-1234", redisPass} {
				assert.NotContains(t, v, hidden, "jq's env hides it (not the output redaction)")
			}
		}
		n++
	}
	assert.Positive(t, n)
}
