package settings_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := settings.Load(settings.LoadOptions{Environ: []string{}, ProviderType: "gitlab-v2"})
	require.NoError(t, err)
	assert.Equal(t, settings.ListenerPolling, c.EventListener.Type)
	assert.Equal(t, 60, c.EventListener.Interval)
	assert.True(t, c.EventListener.ResyncOnStart)
	assert.True(t, c.InitializePortResources)
	assert.True(t, c.SendRawDataExamples)
	assert.True(t, c.AllowEnvironmentVariablesJQAccess)
	assert.Zero(t, c.ScheduledResyncInterval)
	assert.Equal(t, "https://api.getport.io", c.Port.BaseURL)
	assert.Equal(t, "gitlab-v2", c.Integration.Type)
	assert.Equal(t, "my-gitlab-v2-integration", c.Integration.Identifier)
	assert.Equal(t, 8000, c.Application.Port)
	assert.Equal(t, "INFO", c.Application.LogLevel)
	assert.Equal(t, 20, c.UpsertEntitiesBatchMaxLength)
	assert.Equal(t, 1048576, c.UpsertEntitiesBatchMaxSizeInBytes)
	assert.Equal(t, 60*time.Second, c.ClientTimeout)
	assert.Equal(t, 1, c.EventWorkersCount)
	assert.Equal(t, ".port/resources", c.ResourcesPath)
}

func TestLoadFromEnvironmentWithOceansNames(t *testing.T) {
	t.Parallel()
	env := []string{
		"OCEAN__PORT__CLIENT_ID=cid",
		"OCEAN__PORT__CLIENT_SECRET=csecret-value",
		"OCEAN__PORT__BASE_URL=https://api.us.getport.io/",
		"OCEAN__EVENT_LISTENER__TYPE=once",
		"OCEAN__INITIALIZE_PORT_RESOURCES=false",
		"OCEAN__SEND_RAW_DATA_EXAMPLES=false",
		"OCEAN__SCHEDULED_RESYNC_INTERVAL=90",
		"OCEAN__BASE_URL=https://sync.example.com/",
		"OCEAN__INTEGRATION__IDENTIFIER=my-gitlab",
		"OCEAN__INTEGRATION__TYPE=GitLab-V2",
		"OCEAN__INTEGRATION__CONFIG__GITLAB_HOST=https://gitlab.example.com",
		"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=glpat-123456",
		"OCEAN__INTEGRATION__INCREMENTAL_SYNC_INTERVAL=1h",
		"APPLICATION__PORT=9000",
		"APPLICATION__LOG_LEVEL=DEBUG",
		"UNRELATED=1",
	}
	c, err := settings.Load(settings.LoadOptions{Environ: env})
	require.NoError(t, err)
	assert.Equal(t, "cid", c.Port.ClientID.Value())
	assert.Equal(t, "csecret-value", c.Port.ClientSecret.Value())
	assert.Equal(t, port.USBaseURL, c.Port.BaseURL)
	assert.Equal(t, settings.ListenerOnce, c.EventListener.Type)
	assert.False(t, c.InitializePortResources)
	assert.False(t, c.SendRawDataExamples)
	assert.Equal(t, 90, c.ScheduledResyncInterval)
	assert.Equal(t, "https://sync.example.com", c.BaseURL)
	assert.Equal(t, "my-gitlab", c.Integration.Identifier)
	assert.Equal(t, "gitlab-v2", c.Integration.Type)
	assert.Equal(t, "https://gitlab.example.com", c.Integration.Config["gitlab_host"])
	d, err := c.IncrementalInterval()
	require.NoError(t, err)
	assert.Equal(t, time.Hour, d)
	assert.Equal(t, 9000, c.Application.Port)
	assert.Equal(t, "DEBUG", c.Application.LogLevel)
	require.NoError(t, c.Validate(true))
}

func TestEventListenerAsJSON(t *testing.T) {
	t.Parallel()
	for _, env := range [][]string{
		{`OCEAN__EVENT_LISTENER={"type":"POLLING","interval":5,"resync_on_start":false}`},
		{`OCEAN__EVENT_LISTENER={"type":"POLLING","resyncOnStart":false}`, "OCEAN__EVENT_LISTENER__INTERVAL=5"},
	} {
		c, err := settings.Load(settings.LoadOptions{Environ: env})
		require.NoError(t, err, env)
		assert.Equal(t, settings.ListenerPolling, c.EventListener.Type)
		assert.Equal(t, 5, c.EventListener.Interval)
		assert.False(t, c.EventListener.ResyncOnStart)
	}
}

func TestIntegrationConfigAsJSON(t *testing.T) {
	t.Parallel()
	c, err := settings.Load(settings.LoadOptions{Environ: []string{
		`OCEAN__INTEGRATION__CONFIG={"gitlabHost":"https://g.example.com","gitlabToken":"tok"}`,
	}})
	require.NoError(t, err)
	var pc providerConfig
	require.NoError(t, settings.DecodeIntegrationConfig(c, &pc))
	assert.Equal(t, "https://g.example.com", pc.Host)
	assert.Equal(t, "tok", pc.Token.Value())
}

type providerConfig struct {
	Host     string          `ocean:"gitlabHost,default=https://gitlab.com"`
	Token    settings.Secret `ocean:"gitlabToken,required"`
	Pages    int             `ocean:"pageSize,default=100"`
	Projects []string        `ocean:"projects"`
	Verbose  bool            `ocean:"verbose"`
}

func TestDecodeIntegrationConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     []string
		want    providerConfig
		wantErr []string
	}{
		{
			name: "defaults and lists",
			env: []string{"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=t0k3n",
				"OCEAN__INTEGRATION__CONFIG__PROJECTS=a/b, c/d",
				"OCEAN__INTEGRATION__CONFIG__VERBOSE=true"},
			want: providerConfig{Host: "https://gitlab.com", Token: "t0k3n", Pages: 100, Projects: []string{"a/b", "c/d"}, Verbose: true},
		},
		{
			name: "JSON list",
			env:  []string{"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=t", `OCEAN__INTEGRATION__CONFIG__PROJECTS=["x"]`},
			want: providerConfig{Host: "https://gitlab.com", Token: "t", Pages: 100, Projects: []string{"x"}},
		},
		{
			name:    "missing and malformed, all reported by variable name",
			env:     []string{"OCEAN__INTEGRATION__CONFIG__PAGE_SIZE=many", "OCEAN__INTEGRATION__CONFIG__VERBOSE=perhaps"},
			wantErr: []string{"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN", "OCEAN__INTEGRATION__CONFIG__PAGE_SIZE", "OCEAN__INTEGRATION__CONFIG__VERBOSE"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := settings.Load(settings.LoadOptions{Environ: tc.env})
			require.NoError(t, err)
			var pc providerConfig
			err = settings.DecodeIntegrationConfig(c, &pc)
			if tc.wantErr != nil {
				require.Error(t, err)
				for _, w := range tc.wantErr {
					assert.Contains(t, err.Error(), w)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, pc)
		})
	}
}

func TestLoadErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	_, err := settings.Load(settings.LoadOptions{Environ: []string{
		"OCEAN__SCHEDULED_RESYNC_INTERVAL=hourly",
		"OCEAN__INITIALIZE_PORT_RESOURCES=maybe",
		"OCEAN__PORT__CLIENT_SECRET=do-not-print-me",
	}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "OCEAN__SCHEDULED_RESYNC_INTERVAL")
	assert.Contains(t, err.Error(), "OCEAN__INITIALIZE_PORT_RESOURCES")
	assert.NotContains(t, err.Error(), "do-not-print-me")

	c, err := settings.Load(settings.LoadOptions{Environ: []string{"OCEAN__EVENT_LISTENER__TYPE=CARRIER_PIGEON", "OCEAN__PORT__BASE_URL=ftp://x"}})
	require.NoError(t, err)
	err = c.Validate(true)
	require.Error(t, err)
	for _, w := range []string{"OCEAN__EVENT_LISTENER__TYPE", "OCEAN__PORT__CLIENT_ID", "OCEAN__PORT__CLIENT_SECRET", "OCEAN__PORT__BASE_URL"} {
		assert.Contains(t, err.Error(), w)
	}
}

func TestLoadFilePrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`
port:
  clientId: "{{ from env MY_CLIENT_ID }}"
  clientSecret: file-secret
eventListener:
  type: ONCE
scheduledResyncInterval: 15
integration:
  identifier: from-file
  config:
    gitlabHost: https://file.example.com
`), 0o600))
	c, err := settings.Load(settings.LoadOptions{File: file, Environ: []string{
		"MY_CLIENT_ID=id-from-env",
		"OCEAN__SCHEDULED_RESYNC_INTERVAL=30",
	}})
	require.NoError(t, err)
	assert.Equal(t, "id-from-env", c.Port.ClientID.Value(), "{{ from env X }} is resolved")
	assert.Equal(t, "file-secret", c.Port.ClientSecret.Value())
	assert.Equal(t, settings.ListenerOnce, c.EventListener.Type)
	assert.Equal(t, 30, c.ScheduledResyncInterval, "the environment wins over the file")
	assert.Equal(t, "from-file", c.Integration.Identifier)
	assert.Equal(t, "https://file.example.com", c.Integration.Config["gitlab_host"])
}

func TestSecretsAreRedacted(t *testing.T) {
	t.Parallel()
	c, err := settings.Load(settings.LoadOptions{Environ: []string{
		"OCEAN__PORT__CLIENT_ID=client-id-value",
		"OCEAN__PORT__CLIENT_SECRET=client-secret-value",
		"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=glpat-secret-token",
		"OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET=hook-secret-value",
	}})
	require.NoError(t, err)
	out := c.Redacted()
	for _, s := range []string{"client-id-value", "client-secret-value", "glpat-secret-token", "hook-secret-value"} {
		assert.NotContains(t, out, s)
	}
	assert.Contains(t, out, "[REDACTED]")

	b, err := json.Marshal(c.Port)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "client-secret-value")

	// A secret that ends up in a log line (an error quoting a URL, say) is
	// scrubbed by the App's logger.
	var buf bytes.Buffer
	srv := porttest.NewServer(t)
	c.Port.BaseURL = srv.URL
	c.Integration.Identifier = "x"
	c.EventListener.Type = settings.ListenerOnce
	a, err := ocean.New(c, &ocean.Provider{Type: "t"}, ocean.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	require.NoError(t, err)
	a.Logger().Error("request failed", "url", "https://x/?token=glpat-secret-token", "error", assert.AnError)
	a.Logger().Info("using client-secret-value in a message")
	_ = a.Run(context.Background()) // fails: the credentials are wrong
	assert.NotContains(t, buf.String(), "glpat-secret-token")
	assert.NotContains(t, buf.String(), "client-secret-value")
	assert.Contains(t, buf.String(), "[REDACTED]")
}

func TestNewKeepsTheCallersConfigAndChecksTheType(t *testing.T) {
	t.Parallel()
	cfg := &settings.Config{}
	cfg.EventListener.Type = settings.ListenerOnce
	_, err := ocean.New(cfg, &ocean.Provider{Type: "widgets"}, ocean.WithDryRun(&bytes.Buffer{}), ocean.WithLogger(quietLogger()))
	require.NoError(t, err)
	assert.Empty(t, cfg.Integration.Type, "defaults are filled in the App's copy")

	cfg = settings.Default("gadgets")
	_, err = ocean.New(cfg, &ocean.Provider{Type: "widgets"}, ocean.WithDryRun(&bytes.Buffer{}))
	var ce *settings.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "OCEAN__INTEGRATION__TYPE", ce.Name)
	assert.Contains(t, ce.Error(), `"gadgets" does not match the provider's type "widgets"`)
}

func TestDecodeIntegrationConfigTakesBothSpellings(t *testing.T) {
	t.Parallel()
	type trackerConfig struct {
		TrackerURL string            `ocean:"trackerUrl,required"`
		PageSize   int               `ocean:"pageSize,default=50"`
		Teams      map[string]string `ocean:"teams"`
	}
	for name, in := range map[string]map[string]any{
		"camelCase":  {"trackerUrl": "https://t.example", "pageSize": 10, "teams": map[string]any{"QA-Team": "qa"}},
		"snake_case": {"tracker_url": "https://t.example", "page_size": 10, "teams": map[string]any{"QA-Team": "qa"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := settings.Default("tracker")
			cfg.Integration.Config = in
			var tc trackerConfig
			require.NoError(t, settings.DecodeIntegrationConfig(cfg, &tc))
			assert.Equal(t, "https://t.example", tc.TrackerURL)
			assert.Equal(t, 10, tc.PageSize)
			assert.Equal(t, map[string]string{"QA-Team": "qa"}, tc.Teams, "nested keys are data, not field names")
		})
	}
}

func TestSelectorErrorsSpeakYAML(t *testing.T) {
	t.Parallel()
	type ticketSelector struct {
		ocean.BaseSelector
		Status []string `json:"status"`
		Limit  int      `json:"limit"`
	}
	tests := []struct{ raw, want string }{
		{`{"status":"open"}`, "invalid selector: status must be a list of strings, not a string"},
		{`{"limit":"ten"}`, "invalid selector: limit must be a whole number, not a string"},
		{`{"status":{"a":1}}`, "invalid selector: status must be a list of strings, not a mapping"},
	}
	for _, tt := range tests {
		_, err := ocean.DecodeSelector[ticketSelector]([]byte(tt.raw))
		require.Error(t, err, tt.raw)
		assert.Equal(t, tt.want, err.Error(), tt.raw)
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
