package port_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

// TestTLSToPort runs real TLS handshakes: porttest behind a TLS reverse
// proxy whose self-signed certificate no system trusts.
func TestTLSToPort(t *testing.T) {
	t.Parallel()
	pt := porttest.NewServer(t)
	target, err := url.Parse(pt.URL)
	require.NoError(t, err)
	ts := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(target))
	t.Cleanup(ts.Close)
	trusted := x509.NewCertPool()
	trusted.AddCert(ts.Certificate())

	tests := []struct {
		name    string
		tls     *tls.Config // nil: no WithTLSConfig
		wantErr bool
	}{
		{name: "default refuses the self-signed certificate", wantErr: true},
		{name: "trusted CA", tls: &tls.Config{RootCAs: trusted}},
		{name: "verification off", tls: &tls.Config{InsecureSkipVerify: true}},
		{name: "another CA does not help", tls: &tls.Config{RootCAs: x509.NewCertPool()}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var opts []port.Option
			if tt.tls != nil {
				opts = append(opts, port.WithTLSConfig(tt.tls))
			}
			c, err := port.New(ts.URL, pt.ClientID, pt.ClientSecret, opts...)
			require.NoError(t, err)
			var sleeps int
			port.SetSleep(c, func(ctx context.Context, _ time.Duration) error { sleeps++; return ctx.Err() })
			_, err = c.ListBlueprints(t.Context())
			if !tt.wantErr {
				require.NoError(t, err)
				return
			}
			var ce *port.CertificateError
			require.ErrorAs(t, err, &ce)
			assert.Contains(t, err.Error(), "OCEAN__SSL__PORT__CA_BUNDLE")
			assert.NotContains(t, err.Error(), pt.ClientSecret)
			assert.Zero(t, sleeps, "a certificate error is not retried")
		})
	}
}

func TestWithTLSConfigAndWithHTTPClientAreAlternatives(t *testing.T) {
	t.Parallel()
	_, err := port.New("https://api.getport.io", "id", "secret",
		port.WithHTTPClient(&http.Client{}), port.WithTLSConfig(&tls.Config{}))
	require.Error(t, err)
	_, err = port.New("https://api.getport.io", "id", "secret", port.WithTLSConfig(nil))
	require.Error(t, err)
}
