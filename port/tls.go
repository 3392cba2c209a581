package port

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
)

// WithTLSConfig sets the TLS settings of the client's own transport: extra
// trusted CAs for a Port behind a private CA or a TLS-inspecting proxy, or
// verification off (OCEAN__SSL__PORT__VERIFY=false). The config is cloned.
// It cannot be combined with WithHTTPClient, whose transport is the
// caller's to configure.
func WithTLSConfig(tc *tls.Config) Option {
	return func(c *Client) error {
		if tc == nil {
			return errors.New("port: WithTLSConfig: nil *tls.Config")
		}
		c.tlsConfig = tc.Clone()
		return nil
	}
}

// CertificateError is a TLS handshake that failed on Port's certificate
// (unknown authority, wrong host name, expired). It is not retried: every
// attempt meets the same certificate.
type CertificateError struct{ Err error }

func (e *CertificateError) Error() string {
	return "Port's TLS certificate is not trusted (a TLS-inspecting proxy? set OCEAN__SSL__PORT__CA_BUNDLE): " + e.Err.Error()
}

func (e *CertificateError) Unwrap() error { return e.Err }

// isCertificateError reports a handshake refused on the server's
// certificate.
func isCertificateError(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci)
}
