package gitlabtest

import (
	"crypto/x509"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// TokenKind is the kind of access token the server was given, which
// decides the headers GitLab accepts it in.
type TokenKind string

// The token kinds GitLab documents for its REST API.
const (
	// TokenPersonal, TokenGroup, TokenProject and TokenServiceAccount are
	// GitLab's own access tokens (glpat-…): accepted in the PRIVATE-TOKEN
	// header and as `Authorization: Bearer`.
	TokenPersonal       TokenKind = "personal"
	TokenGroup          TokenKind = "group"
	TokenProject        TokenKind = "project"
	TokenServiceAccount TokenKind = "service-account"
	// TokenOAuth is an OAuth 2.0 access token: `Authorization: Bearer`
	// only (PRIVATE-TOKEN looks it up among access tokens and fails).
	TokenOAuth TokenKind = "oauth"
	// TokenJob is a CI/CD job token (glcbt-…): the JOB-TOKEN header or
	// `Authorization: Bearer`. GitLab accepts it on a few endpoints only;
	// here every route takes it.
	TokenJob TokenKind = "job"
)

// WithTokenKind sets what kind of token the server's token is (default
// TokenPersonal): requests are authenticated only through the headers
// GitLab accepts for that kind, and GET /personal_access_tokens/self
// answers 404 for tokens that are not personal access tokens.
func WithTokenKind(k TokenKind) Option { return func(c *config) { c.tokenKind = k } }

// WithPathPrefix serves the instance under a path prefix, as a self-managed
// GitLab at https://example.com/gitlab (relative_url_root): URL ends with
// the prefix, and requests outside it are 404.
func WithPathPrefix(prefix string) Option {
	return func(c *config) { c.pathPrefix = "/" + strings.Trim(prefix, "/") }
}

// WithTLS serves over HTTPS with a certificate no system trusts (see
// Certificate and Client).
func WithTLS() Option { return func(c *config) { c.tls = true } }

// WithoutKeysetPagination answers as a GitLab older than keyset
// pagination: pagination=keyset is ignored and lists are offset-paged.
func WithoutKeysetPagination() Option { return func(c *config) { c.noKeyset = true } }

// WithoutGraphQLFields removes fields ("Project.languages",
// "RepositoryBlob.rawTextBlob") from the GraphQL schema, as an older GitLab
// lacks them: a query that asks for one fails validation with GitLab's
// "Field 'x' doesn't exist on type 'T'".
func WithoutGraphQLFields(fields ...string) Option {
	return func(c *config) { c.noGQLFields = append(c.noGQLFields, fields...) }
}

// Certificate returns the server's TLS certificate, or nil without WithTLS.
func (s *Server) Certificate() *x509.Certificate {
	if !s.cfg.tls {
		return nil
	}
	return s.ts.Certificate()
}

// trimSchema removes fields from a schema.
func trimSchema(s *ast.Schema, fields []string) {
	if s == nil {
		return
	}
	for _, f := range fields {
		typ, name, ok := strings.Cut(f, ".")
		def := s.Types[typ]
		if !ok || def == nil {
			continue
		}
		def.Fields = slices.DeleteFunc(def.Fields, func(fd *ast.FieldDefinition) bool { return fd.Name == name })
	}
}

var gqlparserMissingField = regexp.MustCompile(`^Cannot query field "([^"]+)" on type "([^"]+)"\.?$`)

// gitlabMessage rewrites a validation message into graphql-ruby's words,
// which GitLab answers with.
func gitlabMessage(msg string) string {
	if m := gqlparserMissingField.FindStringSubmatch(msg); m != nil {
		return "Field '" + m[1] + "' doesn't exist on type '" + m[2] + "'"
	}
	return msg
}

// stripPrefix returns the request with the path prefix removed, or false
// when the request is outside it.
func (s *Server) stripPrefix(r *http.Request) (*http.Request, bool) {
	if s.cfg.pathPrefix == "" || s.cfg.pathPrefix == "/" {
		return r, true
	}
	rest, ok := strings.CutPrefix(r.URL.Path, s.cfg.pathPrefix)
	if !ok || (rest != "" && rest[0] != '/') {
		return nil, false
	}
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path = rest
	if u.RawPath != "" {
		u.RawPath, _ = strings.CutPrefix(u.RawPath, s.cfg.pathPrefix)
	}
	r2.URL = &u
	return r2, true
}

// tokenFrom reads the token from the headers GitLab accepts for the
// server's token kind.
func (s *Server) tokenFrom(r *http.Request) string {
	kind := s.cfg.tokenKind
	if tok := r.Header.Get("PRIVATE-TOKEN"); tok != "" {
		if kind == TokenOAuth || kind == TokenJob {
			return ""
		}
		return tok
	}
	if tok := r.Header.Get("JOB-TOKEN"); tok != "" {
		if kind != TokenJob {
			return ""
		}
		return tok
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return a[7:]
	}
	return ""
}
