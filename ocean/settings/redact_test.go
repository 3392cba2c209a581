package settings_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean/settings"
)

func TestRedactingWriter(t *testing.T) {
	t.Parallel()
	const secret = `s3cret"with\quote`
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{"whole line", []string{"token=" + secret + " end\n"}, "token=[REDACTED] end\n"},
		{"split across writes", []string{"token=s3cr", `et"with\quote end`, "\n"}, "token=[REDACTED] end\n"},
		{"JSON-escaped", []string{`{"msg":"s3cret\"with\\quote"}` + "\n"}, `{"msg":"[REDACTED]"}` + "\n"},
		{"unfinished line flushed", []string{"no newline " + secret}, "no newline [REDACTED]"},
		{"several lines in one write", []string{"a " + secret + "\nb " + secret + "\nc"}, "a [REDACTED]\nb [REDACTED]\nc"},
		{"nothing secret", []string{"plain\n", "text"}, "plain\ntext"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			w := settings.NewRedactingWriter(&buf, secret, "short")
			for _, s := range tc.writes {
				n, err := w.Write([]byte(s))
				require.NoError(t, err)
				assert.Equal(t, len(s), n)
			}
			require.NoError(t, w.Flush())
			assert.Equal(t, tc.want, buf.String())
		})
	}
}

func TestRedactingWriterAddSecretsAndConcurrentWrites(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := settings.NewRedactingWriter(&buf)
	w.AddSecrets("late-secret-0001")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				fmt.Fprintf(w, "writer %d line %d late-secret-0001\n", i, j)
			}
		}()
	}
	wg.Wait()
	require.NoError(t, w.Flush())
	out := buf.String()
	assert.NotContains(t, out, "late-secret-0001")
	assert.Equal(t, 400, strings.Count(out, "[REDACTED]\n"), "every line arrives whole")
}

// The App's logger hides secrets nested in a JSON OCEAN__INTEGRATION__CONFIG
// and a Redis URL's password, not only top-level secret fields.
func TestRedactLoggerHidesNestedAndURLSecrets(t *testing.T) {
	t.Parallel()
	c, err := settings.Load(settings.LoadOptions{ProviderType: "t", Environ: []string{
		`OCEAN__INTEGRATION__CONFIG={"gitlabToken":"glpat-nested-0001","auth":{"privateKey":"pk-nested-0002"}}`,
		"OCEAN__LIVE_EVENTS__REDIS__URL=redis://u:redis-pass-0003@redis:6379",
	}})
	require.NoError(t, err)
	var buf bytes.Buffer
	log := settings.RedactLogger(slog.New(slog.NewJSONHandler(&buf, nil)), c)
	log.Error("failed glpat-nested-0001", "url", "redis://u:redis-pass-0003@redis:6379", "key", "pk-nested-0002")
	for _, s := range []string{"glpat-nested-0001", "pk-nested-0002", "redis-pass-0003"} {
		assert.NotContains(t, buf.String(), s)
	}
}
