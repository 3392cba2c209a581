package port

import (
	"errors"
	"strings"
)

// Datasource identifies an integration the way Port's Ocean framework does. Port records
// the User-Agent of each entity write as the entity's $datasource, so this is what makes
// entities "owned" by an integration.
type Datasource struct {
	Type       string // integration type, e.g. "gitlab-v2" (lower-cased on the wire)
	Version    string // integration version, e.g. "0.9.30"
	Identifier string // integration identifier, e.g. "my-gitlab-v2-integration"
}

// UserAgent returns port-ocean/<type>/<version>/<identifier>/exporter, byte for byte what
// Ocean sends on resync writes.
func (d Datasource) UserAgent() string {
	return "port-ocean/" + strings.ToLower(d.Type) + "/" + d.Version + "/" + d.Identifier + "/exporter"
}

// Prefix returns "port-ocean/<type>/", the $datasource prefix of this integration type.
// The version is left out so entities written by other versions still match.
func (d Datasource) Prefix() string { return "port-ocean/" + strings.ToLower(d.Type) + "/" }

// Suffix returns "/<identifier>/exporter", the $datasource suffix of this integration.
func (d Datasource) Suffix() string { return "/" + d.Identifier + "/exporter" }

func (d Datasource) validate() error {
	if d.Type == "" || d.Version == "" || d.Identifier == "" {
		return errors.New("port: datasource needs a type, a version and an identifier")
	}
	if strings.ContainsAny(d.Type+d.Version+d.Identifier, "/\r\n") {
		return errors.New("port: datasource parts must not contain '/' or line breaks")
	}
	return nil
}
