package port

import (
	"crypto/tls"
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
