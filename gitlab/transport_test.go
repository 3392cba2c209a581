package gitlab

import (
	"crypto/tls"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/gitlab/gitlabtest"
	"github.com/oceankit/oceankit/ocean/settings"
)

// loadGitLabConfig builds the provider's config the way gitlab-sync does,
// from OCEAN__… variables, with the Helm CA folder replaced by caDir.
func loadGitLabConfig(t *testing.T, caDir string, env ...string) (Config, error) {
	t.Helper()
	oc, err := settings.Load(settings.LoadOptions{ProviderType: ProviderType, Environ: env})
	require.NoError(t, err)
	oc.SSL.ExtraCADir = caDir
	return LoadConfig(oc)
}

// writeCertPEM writes the TLS server's certificate as a PEM file.
func writeCertPEM(t *testing.T, dir, name string, ts *httptest.Server) string {
	t.Helper()
	p := filepath.Join(dir, name)
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	require.NoError(t, os.WriteFile(p, b, 0o600))
	return p
}

// TestTLSToGitLab runs real TLS handshakes against gitlabtest behind
// httptest.NewTLSServer, whose certificate no system trusts.
func TestTLSToGitLab(t *testing.T) {
	t.Parallel()
	gl := gitlabtest.NewServer(t)
	ts := httptest.NewTLSServer(gl)
	t.Cleanup(ts.Close)
	files := t.TempDir()
	bundle := writeCertPEM(t, files, "gitlab-ca.pem", ts)
	helmDir := t.TempDir()
	writeCertPEM(t, helmDir, "cert.crt", ts)
	notPEM := filepath.Join(files, "not-a-cert.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("hello"), 0o600))

	base := []string{
		"OCEAN__INTEGRATION__CONFIG__GITLAB_HOST=" + ts.URL,
		"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=" + gl.Token,
		"OCEAN__INTEGRATION__CONFIG__MAX_RETRIES=3",
	}
	tests := []struct {
		name      string
		env       []string
		caDir     string
		configErr string // LoadConfig fails naming this
		wantErr   bool   // the request fails on the certificate
	}{
		{name: "default refuses the self-signed certificate", wantErr: true},
		{name: "CA bundle trusts it", env: []string{"OCEAN__SSL__THIRD_PARTY__CA_BUNDLE=" + bundle}},
		{name: "Helm chart's mounted CA folder trusts it", caDir: helmDir},
		{name: "verify=false accepts it", env: []string{"OCEAN__SSL__THIRD_PARTY__VERIFY=false"}},
		{name: "x509 strict=false alone still verifies", env: []string{"OCEAN__SSL__THIRD_PARTY__X509__STRICT=false"}, wantErr: true},
		{name: "the Port side's bundle does not apply to GitLab", env: []string{"OCEAN__SSL__PORT__CA_BUNDLE=" + bundle}, wantErr: true},
		{name: "a bundle without certificates is a config error", env: []string{"OCEAN__SSL__THIRD_PARTY__CA_BUNDLE=" + notPEM}, configErr: "OCEAN__SSL__THIRD_PARTY__CA_BUNDLE"},
		{name: "a missing bundle is a config error", env: []string{"OCEAN__SSL__THIRD_PARTY__CA_BUNDLE=" + filepath.Join(files, "missing.pem")}, configErr: "OCEAN__SSL__THIRD_PARTY__CA_BUNDLE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := loadGitLabConfig(t, tt.caDir, append(append([]string{}, base...), tt.env...)...)
			if tt.configErr != "" {
				var ce *settings.ConfigError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, tt.configErr, ce.Name)
				return
			}
			require.NoError(t, err)
			rec := &sleepRecorder{}
			c, err := NewClient(cfg, rec.option())
			require.NoError(t, err)
			var v map[string]any
			err = c.Get(t.Context(), "version", nil, &v)
			if !tt.wantErr {
				require.NoError(t, err)
				assert.NotEmpty(t, v["version"])
				return
			}
			require.Error(t, err)
			var cv *tls.CertificateVerificationError
			assert.ErrorAs(t, err, &cv)
			assert.Contains(t, err.Error(), "OCEAN__SSL__THIRD_PARTY__CA_BUNDLE", "the error says what to set")
			assert.Empty(t, rec.all(), "a certificate error is not retried")
			assert.NotContains(t, err.Error(), gl.Token)
		})
	}
}

// hangFirst answers nothing to the first n requests until the client gives
// up, then serves next: the outcome never depends on how fast the machine
// is, only on the client's timeout firing.
type hangFirst struct {
	n    int64
	seen atomic.Int64
	next http.Handler
}

func (h *hangFirst) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.seen.Add(1) <= h.n {
		<-r.Context().Done()
		return
	}
	h.next.ServeHTTP(w, r)
}

func TestRequestTimeoutIsPerAttemptAndRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		hangs      int64
		maxRetries int
		wantErr    bool
		requests   int64
	}{
		{name: "a hung attempt is retried", hangs: 1, maxRetries: 3, requests: 2},
		{name: "every attempt hangs", hangs: 100, maxRetries: 1, wantErr: true, requests: 2},
		{name: "no hang", hangs: 0, maxRetries: 3, requests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gl := gitlabtest.NewServer(t)
			h := &hangFirst{n: tt.hangs, next: gl}
			ts := httptest.NewServer(h)
			t.Cleanup(ts.Close)
			cfg, err := loadGitLabConfig(t, "",
				"OCEAN__INTEGRATION__CONFIG__GITLAB_HOST="+ts.URL,
				"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN="+gl.Token,
				"OCEAN__INTEGRATION__CONFIG__MAX_RETRIES="+strconv.Itoa(tt.maxRetries),
				// Long enough for gitlabtest to answer on a loaded machine,
				// short enough to keep the test quick.
				"OCEAN__CLIENT_TIMEOUT=500ms")
			require.NoError(t, err)
			require.Equal(t, 500*time.Millisecond, cfg.RequestTimeout)
			rec := &sleepRecorder{}
			c, err := NewClient(cfg, rec.option())
			require.NoError(t, err)
			var v map[string]any
			err = c.Get(t.Context(), "version", nil, &v)
			if tt.wantErr {
				var te *TimeoutError
				require.ErrorAs(t, err, &te)
				assert.Contains(t, err.Error(), "OCEAN__CLIENT_TIMEOUT")
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.requests, h.seen.Load())
			assert.Len(t, rec.all(), int(tt.requests-1), "each retry waits through the client's clock")
		})
	}
}

// rotatingGitLab accepts one OAuth token at a time, as GitLab does once
// Port has refreshed it, and serves gitlabtest behind it.
type rotatingGitLab struct {
	current atomic.Value // string
	gl      *gitlabtest.Server
	seen    atomic.Int64
}

func (r *rotatingGitLab) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.seen.Add(1)
	req = req.Clone(req.Context())
	if req.Header.Get("Authorization") == "Bearer "+r.current.Load().(string) {
		req.Header.Set("Authorization", "Bearer "+r.gl.Token)
	} else {
		req.Header.Del("Authorization") // gitlabtest answers its own 401
	}
	req.Header.Del("Private-Token")
	r.gl.ServeHTTP(w, req)
}

func TestOAuthTokenFileReloadedOn401(t *testing.T) {
	t.Parallel()
	const (
		tokA = "0000000000000000000000000000000000000000000000000000000000000aaa"
		tokB = "0000000000000000000000000000000000000000000000000000000000000bbb"
	)
	tests := []struct {
		name      string
		noFile    bool   // OCEAN__OAUTH_ACCESS_TOKEN_FILE_PATH unset
		missing   bool   // set, but the file does not exist
		fileToken string // written before the second request
		wantErr   bool
		requests  int64 // by the second Get
	}{
		{name: "token rotated: re-read and retried once", fileToken: tokB + "\n", requests: 3},
		{name: "file still holds the expired token: one retry, then the 401", fileToken: tokA, wantErr: true, requests: 3},
		{name: "no token file: the 401 is final", noFile: true, wantErr: true, requests: 2},
		{name: "token file missing: the 401 is final", missing: true, wantErr: true, requests: 2},
		{name: "empty token file: the 401 is final", fileToken: "  \n", wantErr: true, requests: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gl := gitlabtest.NewServer(t)
			rot := &rotatingGitLab{gl: gl}
			rot.current.Store(tokA)
			ts := httptest.NewServer(rot)
			t.Cleanup(ts.Close)
			file := filepath.Join(t.TempDir(), "oauth_token")
			if !tt.missing && !tt.noFile {
				require.NoError(t, os.WriteFile(file, []byte(tokA), 0o600))
			}
			env := []string{
				"OCEAN__INTEGRATION__CONFIG__GITLAB_HOST=" + ts.URL,
				"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=" + tokA,
				"OCEAN__INTEGRATION__CONFIG__MAX_RETRIES=0",
			}
			if !tt.noFile {
				env = append(env, "OCEAN__OAUTH_ACCESS_TOKEN_FILE_PATH="+file)
			}
			cfg, err := loadGitLabConfig(t, "", env...)
			require.NoError(t, err)
			rec := &sleepRecorder{}
			c, err := NewClient(cfg, rec.option())
			require.NoError(t, err)

			var v map[string]any
			require.NoError(t, c.Get(t.Context(), "version", nil, &v), "the start-up token works")
			// Port refreshes the token: GitLab now takes only B, and the
			// file holds whatever the case says.
			rot.current.Store(tokB)
			if !tt.missing && !tt.noFile {
				require.NoError(t, os.WriteFile(file, []byte(tt.fileToken), 0o600))
			}
			err = c.Get(t.Context(), "version", nil, &v)
			if tt.wantErr {
				assert.Equal(t, http.StatusUnauthorized, StatusCode(err))
				assert.NotContains(t, err.Error(), tokA)
				assert.NotContains(t, err.Error(), tokB)
			} else {
				require.NoError(t, err)
				// Later requests use the new token straight away.
				require.NoError(t, c.Get(t.Context(), "version", nil, &v))
				tt.requests++
			}
			assert.Equal(t, tt.requests, rot.seen.Load())
			assert.Empty(t, rec.all(), "the token retry does not back off")
		})
	}
}

func TestLoadConfigTransportSettings(t *testing.T) {
	t.Parallel()
	base := []string{"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=glpat-x"}
	tests := []struct {
		name        string
		env         []string
		wantTimeout time.Duration
		wantFile    string
		wantSkip    bool
	}{
		{name: "defaults", wantTimeout: 60 * time.Second},
		{name: "Ocean's bare seconds", env: []string{"OCEAN__CLIENT_TIMEOUT=15"}, wantTimeout: 15 * time.Second},
		{name: "token file", env: []string{"OCEAN__OAUTH_ACCESS_TOKEN_FILE_PATH=/tmp/ocean/.config/oauth_token"}, wantTimeout: time.Minute, wantFile: "/tmp/ocean/.config/oauth_token"},
		{name: "verify off", env: []string{"OCEAN__SSL__THIRD_PARTY__VERIFY=false"}, wantTimeout: time.Minute, wantSkip: true},
		{name: "Port's verify does not touch GitLab", env: []string{"OCEAN__SSL__PORT__VERIFY=false"}, wantTimeout: time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := loadGitLabConfig(t, "", append(append([]string{}, base...), tt.env...)...)
			require.NoError(t, err)
			assert.Equal(t, tt.wantTimeout, cfg.RequestTimeout)
			assert.Equal(t, tt.wantFile, cfg.TokenFile)
			require.NotNil(t, cfg.TLS)
			assert.Equal(t, tt.wantSkip, cfg.TLS.InsecureSkipVerify)
		})
	}
}
