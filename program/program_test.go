package program_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/program"
)

// widgetConfig is a provider's settings struct.
type widgetConfig struct {
	WidgetURL   string `ocean:"widgetUrl,required"`
	WidgetToken string `ocean:"widgetToken,secret"`
	PageSize    int    `ocean:"pageSize,default=50" help:"widgets per page"`
}

// configuredWidgets decodes the settings before building the provider.
func configuredWidgets(cfg *settings.Config, logger *slog.Logger) (*ocean.Provider, error) {
	var c widgetConfig
	if err := settings.DecodeIntegrationConfig(cfg, &c); err != nil {
		return nil, err
	}
	return widgets(cfg, logger)
}

func widgetSpec() program.Spec {
	return program.Spec{
		Name:     "widget-sync",
		Type:     "widgets",
		Provider: configuredWidgets,
		Settings: &widgetConfig{},
		Help: map[string]string{
			"OCEAN__INTEGRATION__CONFIG__WIDGET_URL":   "the widget API",
			"OCEAN__INTEGRATION__CONFIG__WIDGET_TOKEN": "its token (secret)",
			"OCEAN__BASE_URL":                          "this program's URL; set it to receive widget webhooks",
		},
	}
}

func run(t *testing.T, spec program.Spec, environ []string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := program.Run(context.Background(), spec, append([]string{spec.Name}, args...), environ, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestHelp(t *testing.T) {
	t.Parallel()
	code, _, help := run(t, widgetSpec(), nil, "--help")
	require.Equal(t, program.ExitOK, code)
	for i, line := range strings.Split(help, "\n") {
		assert.LessOrEqual(t, len([]rune(line)), 100, "line %d of --help is wider than 100 columns: %q", i+1, line)
	}
	flags, examples, settings := strings.Index(help, "Flags:"), strings.Index(help, "Examples:"), strings.Index(help, "Settings")
	require.True(t, examples >= 0 && flags >= 0 && settings >= 0, help)
	assert.Less(t, examples, flags, "examples come before the flags")
	assert.Less(t, flags, settings, "flags come before the settings")
	for _, want := range []string{
		"--dry-run", "--plan", "--once", "--config file", "--log-level",
		"widget-sync --dry-run --config",
		"OCEAN__PORT__CLIENT_ID",
		"OCEAN__INTEGRATION__CONFIG__WIDGET_URL  (required)\n      the widget API",
		"OCEAN__INTEGRATION__CONFIG__PAGE_SIZE  default: 50\n      widgets per page", // from the help tag
		"OCEAN__INTEGRATION__TYPE  default: widgets",
		"set it to receive widget webhooks",
		"OCEAN__LIVE_EVENTS__", // the Redis queue's settings
	} {
		assert.Contains(t, help, want)
	}
}

func TestSettingsAreDescribed(t *testing.T) {
	t.Parallel()
	for _, s := range program.Settings(widgetSpec()) {
		assert.NotEmpty(t, s.Help, "%s has no description", s.Env)
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	t.Parallel()
	noProvider := widgetSpec()
	noProvider.Provider = nil
	tests := []struct {
		name    string
		spec    program.Spec
		environ []string
		args    []string
		want    string
	}{
		{"unknown flag", widgetSpec(), nil, []string{"--sideways"}, "sideways"},
		{"arguments", widgetSpec(), nil, []string{"extra"}, "unexpected arguments: extra"},
		{"plan and dry run", widgetSpec(), nil, []string{"--plan", "--dry-run"}, "alternatives"},
		{"log format", widgetSpec(), nil, []string{"--log-format", "xml"}, "text or json"},
		{"log level", widgetSpec(), []string{"APPLICATION__LOG_LEVEL=LOUD", "OCEAN__INTEGRATION__CONFIG__WIDGET_URL=http://x"}, []string{"--once"}, "APPLICATION__LOG_LEVEL"},
		{"dry run without a mapping", widgetSpec(), []string{"OCEAN__INTEGRATION__CONFIG__WIDGET_URL=http://x"}, []string{"--dry-run"}, "--dry-run needs a mapping"},
		{"no provider", noProvider, nil, nil, "needs Provider or NewApp"},
		{"ocean without a command", widgetSpec(), nil, nil, "ocean probe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			argv0 := tt.spec.Name
			if tt.name == "ocean without a command" {
				argv0 = "/usr/local/bin/ocean"
			}
			code := program.Run(context.Background(), tt.spec, append([]string{argv0}, tt.args...), tt.environ, &stdout, &stderr)
			assert.Equal(t, program.ExitUsage, code, stderr.String())
			assert.Contains(t, stderr.String(), tt.want)
		})
	}
}

func TestSecretsAreRedacted(t *testing.T) {
	t.Parallel()
	// A settings error that quotes a secret value does not print it.
	code, stdout, stderr := run(t, widgetSpec(), []string{
		"OCEAN__PORT__CLIENT_SECRET=hunter2-very-secret",
		"OCEAN__INTEGRATION__CONFIG__WIDGET_URL=http://x",
		"OCEAN__INTEGRATION__CONFIG__PAGE_SIZE=hunter2-very-secret",
	}, "--dry-run", "--config", "testdata/widgets.yml")
	assert.Equal(t, program.ExitUsage, code)
	assert.Contains(t, stderr, "PAGE_SIZE")
	assert.NotContains(t, stdout+stderr, "hunter2-very-secret")
}
