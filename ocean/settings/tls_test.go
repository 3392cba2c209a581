package settings_test

import (
	"crypto/tls"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/ocean/settings"
)

// TestSSLSettings builds each side's TLS settings from OCEAN__SSL__… and
// shakes hands with a self-signed httptest server.
func TestSSLSettings(t *testing.T) {
	t.Parallel()
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(ts.Close)
	dir := t.TempDir()
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	bundle := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(bundle, certPEM, 0o600))
	helm := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(helm, "cert.crt"), certPEM, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(helm, "README"), []byte("not a certificate, not *.crt"), 0o600))
	broken := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(broken, "cert.crt"), []byte("garbage"), 0o600))

	type side func(settings.SSLConfig) (*tls.Config, error)
	port := func(c settings.SSLConfig) (*tls.Config, error) { return c.PortTLS() }
	third := func(c settings.SSLConfig) (*tls.Config, error) { return c.ThirdPartyTLS() }
	tests := []struct {
		name      string
		env       []string
		caDir     string
		side      side
		configErr string // the ConfigError's Name
		wantOK    bool   // the handshake succeeds
	}{
		{name: "port default", side: port},
		{name: "third party default", side: third},
		{name: "port bundle", env: []string{"OCEAN__SSL__PORT__CA_BUNDLE=" + bundle}, side: port, wantOK: true},
		{name: "third party bundle", env: []string{"OCEAN__SSL__THIRD_PARTY__CA_BUNDLE=" + bundle}, side: third, wantOK: true},
		{name: "bundle of the other side", env: []string{"OCEAN__SSL__THIRD_PARTY__CA_BUNDLE=" + bundle}, side: port},
		{name: "port verify off", env: []string{"OCEAN__SSL__PORT__VERIFY=false"}, side: port, wantOK: true},
		{name: "JSON object form", env: []string{`OCEAN__SSL={"thirdParty":{"verify":false}}`}, side: third, wantOK: true},
		{name: "Helm mounted folder, port side", caDir: helm, side: port, wantOK: true},
		{name: "Helm mounted folder, third party", caDir: helm, side: third, wantOK: true},
		{name: "missing Helm folder is fine", caDir: filepath.Join(dir, "none"), side: third},
		{name: "broken mounted certificate names the file", caDir: broken, side: third, configErr: "CA certificate " + filepath.Join(broken, "cert.crt")},
		{name: "strict=false is accepted", env: []string{"OCEAN__SSL__PORT__X509__STRICT=false"}, side: port},
		{name: "bundle path that is a folder", env: []string{"OCEAN__SSL__PORT__CA_BUNDLE=" + dir}, side: port, configErr: "OCEAN__SSL__PORT__CA_BUNDLE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := settings.Load(settings.LoadOptions{Environ: tt.env, ProviderType: "t"})
			require.NoError(t, err)
			assert.Equal(t, "/usr/local/share/ca-certificates", cfg.SSL.ExtraCADir, "Load trusts the Helm chart's folder")
			cfg.SSL.ExtraCADir = tt.caDir
			tc, err := tt.side(cfg.SSL)
			if tt.configErr != "" {
				var ce *settings.ConfigError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, tt.configErr, ce.Name)
				return
			}
			require.NoError(t, err)
			hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
			resp, err := hc.Get(ts.URL)
			if tt.wantOK {
				require.NoError(t, err)
				resp.Body.Close()
				return
			}
			var cv *tls.CertificateVerificationError
			assert.ErrorAs(t, err, &cv)
		})
	}
}

func TestSSLSettingsAreListed(t *testing.T) {
	t.Parallel()
	var names []string
	for _, s := range settings.Settings(&settings.Config{}, "OCEAN__") {
		names = append(names, s.Env)
	}
	for _, want := range []string{
		"OCEAN__SSL__PORT__VERIFY", "OCEAN__SSL__PORT__X509__STRICT", "OCEAN__SSL__PORT__CA_BUNDLE",
		"OCEAN__SSL__THIRD_PARTY__VERIFY", "OCEAN__SSL__THIRD_PARTY__X509__STRICT", "OCEAN__SSL__THIRD_PARTY__CA_BUNDLE",
		"OCEAN__OAUTH_ACCESS_TOKEN_FILE_PATH",
	} {
		assert.Contains(t, names, want)
	}
}
