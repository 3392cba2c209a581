package settings_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean/settings"
)

func TestParseDotenv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		environ []string
		want    []string
		errLine int // a DotenvError on this line
	}{
		{name: "plain", in: "A=1\nB = two \n", want: []string{"A=1", "B=two"}},
		{name: "comments and blanks", in: "# c\n\n  # indented\nA=1 # trailing\nB=x#not-a-comment\n", want: []string{"A=1", "B=x#not-a-comment"}},
		{name: "export prefix", in: "export A=1\nexport\tB=2\nexported=3\n", want: []string{"A=1", "B=2", "exported=3"}},
		{name: "single quotes are literal", in: `A='x ${B} \n #y'` + "\n", want: []string{`A=x ${B} \n #y`}},
		{name: "double quotes decode escapes", in: `A="l1\nl2 \"q\" \\ ${B}" # c` + "\nB=z\n", environ: []string{"B=env"}, want: []string{"A=l1\nl2 \"q\" \\ env", "B=z"}},
		{name: "multi-line quoted", in: "A=\"one\ntwo\"\nB=3\n", want: []string{"A=one\ntwo", "B=3"}},
		{name: "expansion from earlier lines over the environment", in: "H=file\nU=${H}/x ${MISSING} ${D:-dflt}\n", environ: []string{"H=env"}, want: []string{"H=file", "U=file/x  dflt"}},
		{name: "set but empty is not the default", in: "U=${E:-d}\n", environ: []string{"E="}, want: []string{"U="}},
		{name: "bare key is ignored", in: "A\nB=1\n", want: []string{"B=1"}},
		{name: "empty value", in: "A=\nB=''\n", want: []string{"A=", "B="}},
		{name: "CRLF and BOM", in: "\ufeffA=1\r\nB=2\r\n", want: []string{"A=1", "B=2"}},
		{name: "no trailing newline", in: "A=1", want: []string{"A=1"}},
		{name: "unterminated quote", in: "A=1\nB=\"open\nC=2\n", errLine: 2},
		{name: "text after the closing quote", in: "A='x' y\n", errLine: 1},
		{name: "not KEY=VALUE", in: "A=1\nB C\n", errLine: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := settings.ParseDotenv(".env", []byte(tt.in), tt.environ)
			if tt.errLine > 0 {
				var de *settings.DotenvError
				require.ErrorAs(t, err, &de)
				assert.Equal(t, tt.errLine, de.Line)
				assert.NotContains(t, err.Error(), "open", "the content is never quoted")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestLoadWorkingDirFiles checks Ocean's precedence: the environment over
// .env over config.yaml over defaults, with default files optional but
// never quietly broken.
func TestLoadWorkingDirFiles(t *testing.T) {
	t.Parallel()
	const yaml = "port:\n  baseUrl: https://yaml.example\n  clientId: '{{ from env YAML_ID }}'\neventListener:\n  type: ONCE\nsendRawDataExamples: false\n"
	tests := []struct {
		name     string
		dotenv   string // "" : no .env
		yaml     string // "" : no config.yaml
		environ  []string
		named    bool // pass the files by name instead of WorkingDirFiles
		check    func(t *testing.T, c *settings.Config)
		errNamed string // the ConfigError's Name
	}{
		{name: "no files", check: func(t *testing.T, c *settings.Config) {
			assert.Equal(t, settings.ListenerPolling, c.EventListener.Type)
		}},
		{name: "precedence", yaml: yaml,
			dotenv:  "OCEAN__PORT__BASE_URL=https://dotenv.example\nOCEAN__EVENT_LISTENER__TYPE=POLLING\nYAML_ID=from-dotenv\nOCEAN__PORT__CLIENT_SECRET='s3cr3t-from-dotenv'\n",
			environ: []string{"OCEAN__EVENT_LISTENER__TYPE=WEBHOOKS_ONLY"},
			check: func(t *testing.T, c *settings.Config) {
				assert.Equal(t, "https://dotenv.example", c.Port.BaseURL, ".env over config.yaml")
				assert.Equal(t, settings.ListenerWebhooksOnly, c.EventListener.Type, "environment over .env")
				assert.Equal(t, "from-dotenv", c.Port.ClientID.Value(), "{{ from env }} sees .env")
				assert.False(t, c.SendRawDataExamples, "config.yaml over defaults")
				assert.Contains(t, c.Secrets(), "s3cr3t-from-dotenv", ".env secrets are redacted too")
				assert.Contains(t, c.Environ(), "YAML_ID=from-dotenv")
			}},
		{name: "named files", named: true, yaml: yaml, dotenv: "APPLICATION__PORT=9000\n", check: func(t *testing.T, c *settings.Config) {
			assert.Equal(t, settings.ListenerOnce, c.EventListener.Type)
			assert.Equal(t, 9000, c.Application.Port)
		}},
		{name: "named files must exist", named: true, errNamed: ".env file "},
		{name: "a bad .env is an error naming it", dotenv: "A='open\n", errNamed: ".env"},
		{name: "a bad config.yaml is an error naming it", yaml: "port: [\n", errNamed: "config.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			dotenvPath, yamlPath := filepath.Join(dir, ".env"), filepath.Join(dir, "config.yaml")
			if tt.dotenv != "" {
				require.NoError(t, os.WriteFile(dotenvPath, []byte(tt.dotenv), 0o600))
			}
			if tt.yaml != "" {
				require.NoError(t, os.WriteFile(yamlPath, []byte(tt.yaml), 0o600))
			}
			opts := settings.LoadOptions{Environ: append([]string{}, tt.environ...), ProviderType: "t"}
			if tt.named {
				opts.Dotenv, opts.File = dotenvPath, yamlPath
			} else {
				opts.WorkingDirFiles, opts.Dir = true, dir
			}
			c, err := settings.Load(opts)
			if tt.errNamed != "" {
				var ce *settings.ConfigError
				require.ErrorAs(t, err, &ce)
				assert.Contains(t, ce.Name, tt.errNamed)
				return
			}
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}
