package main

import (
	"bytes"
	"context"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runBinaryIn runs the program in dir, with only PATH and HOME from the
// test's environment beside env.
func runBinaryIn(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// dotenvLine quotes a value for a .env file.
func dotenvLine(kv string) string {
	k, v, _ := strings.Cut(kv, "=")
	return "export " + k + "='" + strings.ReplaceAll(v, "'", `\'`) + "'\n"
}

// TestWorkingDirFilesAndTLS runs an installation configured only through
// .env and config.yaml in the working directory, against a GitLab behind
// TLS with a self-signed certificate.
func TestWorkingDirFilesAndTLS(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	tlsGitLab := httptest.NewTLSServer(f.gl)
	t.Cleanup(tlsGitLab.Close)
	caFile := filepath.Join(t.TempDir(), "gitlab-ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsGitLab.Certificate().Raw}), 0o600))

	tests := []struct {
		name     string
		extra    []string // more .env lines
		yaml     string
		env      []string
		wantCode int
		wantErr  string
	}{
		{name: "CA bundle from .env", extra: []string{"OCEAN__SSL__THIRD_PARTY__CA_BUNDLE=" + caFile}, wantCode: 0},
		{name: "verify off from config.yaml", yaml: "ssl:\n  thirdParty:\n    verify: false\n", wantCode: 0, wantErr: "verification is off for GitLab"},
		{name: "default refuses the certificate", wantCode: 1, wantErr: "OCEAN__SSL__THIRD_PARTY__CA_BUNDLE"},
		{name: "the environment wins over .env", extra: []string{"OCEAN__SSL__THIRD_PARTY__CA_BUNDLE=" + caFile},
			env: []string{"OCEAN__SSL__THIRD_PARTY__CA_BUNDLE=" + filepath.Join(t.TempDir(), "missing.pem")}, wantCode: 2, wantErr: "OCEAN__SSL__THIRD_PARTY__CA_BUNDLE"},
		{name: "a config.yaml that does not parse", yaml: "port: [\n", wantCode: 2, wantErr: "config.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The fakes are shared: cases run one after another.
			dir := t.TempDir()
			var dotenv strings.Builder
			dotenv.WriteString("# gitlab-v2 settings, as a .env file\n")
			for _, kv := range f.installEnv("ONCE") {
				if strings.HasPrefix(kv, "OCEAN__INTEGRATION__CONFIG__GITLAB_URL=") {
					kv = "OCEAN__INTEGRATION__CONFIG__GITLAB_URL=" + tlsGitLab.URL
				}
				dotenv.WriteString(dotenvLine(kv))
			}
			for _, kv := range tt.extra {
				dotenv.WriteString(dotenvLine(kv))
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, ".env"), []byte(dotenv.String()), 0o600))
			if tt.yaml != "" {
				require.NoError(t, os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(tt.yaml), 0o600))
			}
			r := runBinaryIn(t, dir, tt.env)
			assert.Equal(t, tt.wantCode, r.code, "stderr:\n%s", r.stderr)
			if tt.wantErr != "" {
				assert.Contains(t, r.stderr, tt.wantErr)
			}
			if tt.wantCode == 0 {
				assert.Positive(t, f.pt.EntityCount("service"))
			}
			f.assertNoSecrets(t, r.stdout, r.stderr)
		})
	}
}
