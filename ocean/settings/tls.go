package settings

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// helmCADir is where Port's port-ocean Helm chart mounts a private or
// self-signed CA certificate (selfSignedCertificate.enabled). Ocean's image
// merges that folder into its bundle at start; Go reads neither it nor
// SSL_CERT_FILE's replacement of it, so Load trusts its *.crt files itself
// (SSLConfig.ExtraCADir, OCEAN__SSL__CA_DIR, whose default this is).
const helmCADir = "/usr/local/share/ca-certificates"

// SSLConfig is OCEAN__SSL__…: TLS verification for the Port client and for
// third-party clients (GitLab), as Ocean's ssl.port and ssl.third_party.
type SSLConfig struct {
	Port       SSLSideConfig `ocean:"port"`
	ThirdParty SSLSideConfig `ocean:"third_party"`
	// ExtraCADir is a folder whose *.crt files (PEM) are trusted on both
	// sides, beside the system's roots (OCEAN__SSL__CA_DIR, not in Ocean).
	// Load defaults it to helmCADir, where Port's chart mounts a private
	// CA; a Config built in code reads no folder unless it is set. A
	// missing folder is not an error.
	ExtraCADir string `ocean:"ca_dir,default=/usr/local/share/ca-certificates" json:"-"`
}

// SSLSideConfig is one side's TLS settings (OCEAN__SSL__PORT__… or
// OCEAN__SSL__THIRD_PARTY__…).
type SSLSideConfig struct {
	// Verify checks the server's certificate chain and host name. false
	// accepts any certificate, as Ocean's verify=false does; it is logged
	// at start because it lets anyone on the path read the tokens.
	Verify bool `ocean:"verify,default=true"`
	// X509 is Ocean's x509 block.
	X509 X509Config `ocean:"x509"`
	// CABundle is a PEM file of CA certificates trusted beside the
	// system's roots (SSL_CERT_FILE replaces those roots instead). Not in
	// Ocean, where a private CA needs SSL_CERT_FILE or the Helm chart's
	// mount.
	CABundle string `ocean:"ca_bundle"`
}

// X509Config is Ocean's x509 block. Strict=false turns off the RFC 5280
// checks Python 3.13 added to OpenSSL's defaults (a CA without Authority
// Key Identifier, basicConstraints not critical). Go's verifier never made
// those checks, so both values verify the same way here; false is accepted
// so that installations that set it keep starting.
type X509Config struct {
	Strict bool `ocean:"strict,default=true"`
}

// PortTLS returns the TLS client settings for Port (OCEAN__SSL__PORT__…).
func (c SSLConfig) PortTLS() (*tls.Config, error) {
	return c.Port.tlsConfig("OCEAN__SSL__PORT__", c.ExtraCADir)
}

// ThirdPartyTLS returns the TLS client settings for third-party APIs such
// as GitLab (OCEAN__SSL__THIRD_PARTY__…).
func (c SSLConfig) ThirdPartyTLS() (*tls.Config, error) {
	return c.ThirdParty.tlsConfig("OCEAN__SSL__THIRD_PARTY__", c.ExtraCADir)
}

// tlsConfig builds one side's settings. With nothing extra to trust, RootCAs
// stays nil so that Go's own roots apply, SSL_CERT_FILE and SSL_CERT_DIR
// included; otherwise the extra certificates are added to a copy of them.
// A bundle or mounted certificate that holds no certificate is an error:
// quietly skipping it would fail later as "unknown authority", far from
// the cause.
func (s SSLSideConfig) tlsConfig(envPrefix, caDir string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if !s.Verify {
		tc.InsecureSkipVerify = true
		return tc, nil
	}
	type source struct{ name, path string }
	var sources []source
	if caDir != "" {
		files, err := filepath.Glob(filepath.Join(caDir, "*.crt"))
		if err != nil {
			return nil, fmt.Errorf("settings: CA folder %s: %w", caDir, err)
		}
		sort.Strings(files)
		for _, f := range files {
			sources = append(sources, source{name: "CA certificate " + f, path: f})
		}
	}
	if s.CABundle != "" {
		sources = append(sources, source{name: envPrefix + "CA_BUNDLE", path: s.CABundle})
	}
	if len(sources) == 0 {
		return tc, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	var errs []error
	for _, src := range sources {
		pem, err := os.ReadFile(src.path)
		if err != nil {
			errs = append(errs, &ConfigError{Name: src.name, Reason: "cannot read", Err: err})
			continue
		}
		if !pool.AppendCertsFromPEM(pem) {
			errs = append(errs, &ConfigError{Name: src.name, Reason: "no PEM certificate in " + src.path})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	tc.RootCAs = pool
	return tc, nil
}
