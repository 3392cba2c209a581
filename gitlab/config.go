package gitlab

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/oceankit/oceankit/ocean/settings"
)

// DefaultHost is GitLab.com, the default gitlabHost.
const DefaultHost = "https://gitlab.com"

// Token types accepted by Config.TokenType.
const (
	// TokenTypeAuto chooses the header from the token's form: GitLab's
	// access tokens (glpat-…: personal, group, project and service-account
	// tokens, and the 20-character ones of before the prefix) in the
	// PRIVATE-TOKEN header, CI/CD job tokens (glcbt-…) in JOB-TOKEN, and
	// anything else (OAuth access tokens, access tokens with an instance's
	// custom prefix) as `Authorization: Bearer`, which GitLab accepts for
	// every kind but old job tokens.
	TokenTypeAuto = "auto"
	// TokenTypePrivate always uses the PRIVATE-TOKEN header.
	TokenTypePrivate = "private"
	// TokenTypeOAuth always uses `Authorization: Bearer`.
	TokenTypeOAuth = "oauth"
	// TokenTypeJob always uses the JOB-TOKEN header (a CI/CD job token).
	TokenTypeJob = "job"
)

// Config is the GitLab provider's configuration: gitlab-v2's integration
// config (OCEAN__INTEGRATION__CONFIG__…) plus oceankit's own tuning knobs.
// Build it with LoadConfig, or in code and pass it to New.
type Config struct {
	// Host is the GitLab instance root (gitlabHost), with or without a path
	// prefix, without /api/v4. Empty means GitLab.com.
	Host string `ocean:"gitlabHost"`
	// URL is the same setting under the name Port's installation docs use
	// (gitlabUrl); Host wins when both are set.
	URL string `ocean:"gitlabUrl"`
	// Token is the GitLab token (gitlabToken): a personal, group, project
	// or service-account access token, or an OAuth access token.
	Token settings.Secret `ocean:"gitlabToken,required"`
	// TokenType selects the auth header: auto (default), private, oauth or
	// job (see TokenTypeAuto).
	TokenType string `ocean:"gitlabTokenType,default=auto"`
	// WebhookSecret is the secret set on the webhooks oceankit creates and
	// checked on every delivery. When it is not set (gitlab-v2 has no such
	// setting), LoadConfig derives one (see DeriveWebhookSecret).
	WebhookSecret settings.Secret `ocean:"webhookSecret"`
	// WebhookSecretDerived is true when WebhookSecret was derived by
	// LoadConfig rather than configured.
	WebhookSecretDerived bool `ocean:"-"`
	// AllowUnauthenticatedWebhooks accepts live events without checking
	// X-Gitlab-Token when no WebhookSecret is set (gitlab-v2's behaviour).
	// Off by default: without a secret every delivery is refused.
	AllowUnauthenticatedWebhooks bool `ocean:"allowUnauthenticatedWebhooks"`
	// IntegrationIdentifier is the framework's integration identifier
	// (LoadConfig fills it); it names the webhooks this integration owns,
	// so that a hook whose URL went stale is found and updated.
	IntegrationIdentifier string `ocean:"-"`
	// MaxConcurrency bounds the GitLab requests in flight, across kinds.
	MaxConcurrency int `ocean:"maxConcurrency,default=10"`
	// RequestsPerMinute is a proactive rate limit across all requests. 0
	// means derived: 2,000/min (GitLab.com's per-user limit, less a
	// margin) on GitLab.com, none elsewhere until RateLimit-Limit headers
	// announce one.
	RequestsPerMinute int `ocean:"requestsPerMinute"`
	// EndpointLimits applies GitLab.com's per-endpoint limits (group list
	// 50/min, search 100/min, project list 200/min, …). Unset means on for
	// GitLab.com only.
	EndpointLimits *bool `ocean:"endpointLimits"`
	// UseGraphQL batches per-project enrichments (languages, included
	// files) through GitLab's GraphQL API; REST is used when off or when
	// GraphQL is unavailable.
	UseGraphQL bool `ocean:"useGraphQL,default=true"`
	// UseGraphQLEnv is UseGraphQL under the snake_case spelling
	// (OCEAN__INTEGRATION__CONFIG__USE_GRAPHQL); set, it wins.
	UseGraphQLEnv *bool `ocean:"use_graphql"`
	// MaxFileSize caps the size (bytes) of a repository file the file,
	// skill and plugin kinds read; larger files are skipped with a warning.
	// A file selector's files.maxFileSize overrides it. The default is
	// DefaultMaxFileSize.
	MaxFileSize int64 `ocean:"maxFileSize,default=10485760"`
	// MaxRetries bounds the retries of one request (429, 5xx, network).
	MaxRetries int `ocean:"maxRetries,default=8"`
	// MaxRetryWait caps one wait before a retry, whatever Retry-After says.
	MaxRetryWait time.Duration `ocean:"maxRetryWait,default=20m"`
	// RequestTimeout bounds each attempt of a request (a timed-out attempt
	// is retried like a lost connection); 0 means none. LoadConfig sets
	// OCEAN__CLIENT_TIMEOUT, which gitlab-v2 applies to every GitLab request.
	RequestTimeout time.Duration `ocean:"-"`
	// TLS is the client's TLS settings (LoadConfig: OCEAN__SSL__THIRD_PARTY__…
	// and the Helm chart's mounted CA); nil means Go's defaults. It applies
	// to the client's own transport, not to one given with WithHTTPClient.
	TLS *tls.Config `ocean:"-"`
	// TokenFile is a file holding a fresh OAuth access token
	// (OCEAN__OAUTH_ACCESS_TOKEN_FILE_PATH, kept fresh by Port): on a 401
	// the client reads it, swaps the token in and retries the request once,
	// as gitlab-v2 does. Empty: a 401 is final.
	TokenFile string `ocean:"-"`
	// Visibility is the port app config's top-level `visibility` block;
	// nil means gitlab-v2's defaults. It can be changed later with
	// Provider.SetVisibility.
	Visibility *Visibility `ocean:"-"`
}

// Visibility is gitlab-v2's top-level `visibility` block of the port app
// config: which groups and projects the token's user must be a member of
// for resyncs to list them.
type Visibility struct {
	// UseMinAccessLevel sends min_access_level on group and project
	// listings. Without it GitLab returns every *visible* project, which on
	// GitLab.com includes all public ones.
	UseMinAccessLevel bool `json:"useMinAccessLevel" yaml:"useMinAccessLevel"`
	// MinAccessLevel is GitLab's access level: 10 Guest, 20 Reporter, 30
	// Developer, 40 Maintainer, 50 Owner.
	MinAccessLevel int `json:"minAccessLevel" yaml:"minAccessLevel"`
}

// DefaultVisibility is gitlab-v2's default: members with Developer access.
func DefaultVisibility() Visibility {
	return Visibility{UseMinAccessLevel: true, MinAccessLevel: 30}
}

// LoadConfig decodes the provider's settings from the framework's config
// (environment, YAML file) and validates them.
func LoadConfig(c *settings.Config) (Config, error) {
	var cfg Config
	if err := settings.DecodeIntegrationConfig(c, &cfg); err != nil {
		return Config{}, err
	}
	if err := errors.Join(append(cfg.checkLoaded(), cfg.normalize())...); err != nil {
		return Config{}, err
	}
	cfg.IntegrationIdentifier = c.Integration.Identifier
	if cfg.WebhookSecret == "" && !cfg.AllowUnauthenticatedWebhooks && c.Port.ClientSecret != "" {
		cfg.WebhookSecret = DeriveWebhookSecret(c.Port.ClientSecret, c.Integration.Identifier)
		cfg.WebhookSecretDerived = true
	}
	cfg.RequestTimeout = c.ClientTimeout
	cfg.TokenFile = c.OAuthAccessTokenFilePath
	tc, err := c.SSL.ThirdPartyTLS()
	if err != nil {
		return Config{}, err
	}
	cfg.TLS = tc
	return cfg, nil
}

// webhookSecretContext separates the derived webhook secret from any other
// value keyed with the Port client secret; v1 names the derivation, so that
// a future one cannot collide with it.
const webhookSecretContext = "oceankit/gitlab-v2/webhook-token/v1\x00"

// DeriveWebhookSecret returns the webhook secret of an installation that
// configures none: the hex HMAC-SHA256, keyed with the Port client secret,
// of the integration identifier. Every replica of the installation has
// both and so computes the same secret, with nothing to store or share;
// the secret is never written anywhere but on the GitLab hooks, and it
// cannot be computed without the Port client secret. It changes when the
// client secret does: the next start then re-tokens every hook of the
// integration (deliveries reaching a replica still running with the old
// secret are refused until it restarts).
func DeriveWebhookSecret(portClientSecret settings.Secret, integrationIdentifier string) settings.Secret {
	mac := hmac.New(sha256.New, []byte(portClientSecret.Value()))
	mac.Write([]byte(webhookSecretContext + integrationIdentifier))
	return settings.Secret(hex.EncodeToString(mac.Sum(nil)))
}

// BaseURL returns the instance root the provider talks to: Host, else URL,
// else GitLab.com, without a trailing slash.
func (c Config) BaseURL() string {
	h := strings.TrimSpace(c.Host)
	if h == "" {
		h = strings.TrimSpace(c.URL)
	}
	if h == "" {
		h = DefaultHost
	}
	return strings.TrimRight(h, "/")
}

// IsGitLabCom reports whether the host is GitLab.com.
func (c Config) IsGitLabCom() bool {
	u, err := url.Parse(c.BaseURL())
	if err != nil {
		return false
	}
	h := strings.ToLower(u.Hostname())
	return h == "gitlab.com" || h == "www.gitlab.com"
}

// Variable names of the settings whose range is checked.
const (
	envMaxConcurrency    = "OCEAN__INTEGRATION__CONFIG__MAX_CONCURRENCY"
	envRequestsPerMinute = "OCEAN__INTEGRATION__CONFIG__REQUESTS_PER_MINUTE"
	envMaxFileSize       = "OCEAN__INTEGRATION__CONFIG__MAX_FILE_SIZE"
	envMaxRetries        = "OCEAN__INTEGRATION__CONFIG__MAX_RETRIES"
	envMaxRetryWait      = "OCEAN__INTEGRATION__CONFIG__MAX_RETRY_WAIT"
)

// checkLoaded refuses zeros a user set explicitly where zero means
// nothing. After decoding, a field that was not set holds its tag's
// default, so a zero here was written by the user; normalize, which also
// serves configs built in code, reads a zero as "the default" instead.
func (c *Config) checkLoaded() []error {
	var errs []error
	if c.MaxConcurrency == 0 {
		errs = append(errs, &settings.ConfigError{Name: envMaxConcurrency, Reason: "must be at least 1"})
	}
	if c.MaxFileSize == 0 {
		errs = append(errs, &settings.ConfigError{Name: envMaxFileSize, Reason: "must be at least 1 byte"})
	}
	if c.MaxRetryWait == 0 {
		errs = append(errs, &settings.ConfigError{Name: envMaxRetryWait, Reason: "must be positive"})
	}
	return errs
}

// normalize fills derived defaults and validates the config. A zero
// numeric field means its default (a Config built in code); a negative one
// is an error naming its variable, never quietly replaced.
func (c *Config) normalize() error {
	var errs []error
	// A token with a trailing newline (a Kubernetes Secret made from a
	// file) would make every request fail to build.
	if tok, err := settings.CleanSecret("OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN", c.Token); err != nil {
		errs = append(errs, err)
	} else {
		c.Token = tok
	}
	if sec, err := settings.CleanSecret("OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET", c.WebhookSecret); err != nil {
		errs = append(errs, err)
	} else {
		c.WebhookSecret = sec
	}
	base := c.BaseURL()
	u, err := url.Parse(base)
	switch {
	case err != nil:
		errs = append(errs, &settings.ConfigError{Name: "OCEAN__INTEGRATION__CONFIG__GITLAB_HOST", Reason: "not a URL", Err: err})
	case u.Scheme != "http" && u.Scheme != "https":
		errs = append(errs, &settings.ConfigError{Name: "OCEAN__INTEGRATION__CONFIG__GITLAB_HOST", Reason: fmt.Sprintf("want an http or https URL such as https://gitlab.example.com, got scheme %q", u.Scheme)})
	case u.Host == "":
		errs = append(errs, &settings.ConfigError{Name: "OCEAN__INTEGRATION__CONFIG__GITLAB_HOST", Reason: "the URL has no host"})
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		errs = append(errs, &settings.ConfigError{Name: "OCEAN__INTEGRATION__CONFIG__GITLAB_HOST", Reason: "the URL must not carry a query, fragment or credentials"})
	case strings.HasSuffix(u.Path, "/api/v4"):
		errs = append(errs, &settings.ConfigError{Name: "OCEAN__INTEGRATION__CONFIG__GITLAB_HOST", Reason: "give the instance root, without /api/v4"})
	}
	if c.Token == "" {
		errs = append(errs, &settings.ConfigError{Name: "OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN", Reason: "required but not set"})
	}
	if c.TokenType == "" {
		c.TokenType = TokenTypeAuto
	}
	switch c.TokenType {
	case TokenTypeAuto, TokenTypePrivate, TokenTypeOAuth, TokenTypeJob:
	default:
		errs = append(errs, &settings.ConfigError{Name: "OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN_TYPE", Reason: "want auto, private, oauth or job"})
	}
	if c.UseGraphQLEnv != nil {
		c.UseGraphQL = *c.UseGraphQLEnv
	}
	switch {
	case c.MaxConcurrency < 0:
		errs = append(errs, &settings.ConfigError{Name: envMaxConcurrency, Reason: "must be at least 1"})
	case c.MaxConcurrency == 0:
		c.MaxConcurrency = 10
	}
	if c.RequestsPerMinute < 0 {
		errs = append(errs, &settings.ConfigError{Name: envRequestsPerMinute, Reason: "must not be negative"})
	}
	switch {
	case c.MaxFileSize < 0:
		errs = append(errs, &settings.ConfigError{Name: envMaxFileSize, Reason: "must be at least 1 byte"})
	case c.MaxFileSize == 0:
		c.MaxFileSize = DefaultMaxFileSize
	}
	if c.MaxRetries < 0 {
		errs = append(errs, &settings.ConfigError{Name: envMaxRetries, Reason: "must not be negative (0: no retries)"})
	}
	switch {
	case c.MaxRetryWait < 0:
		errs = append(errs, &settings.ConfigError{Name: envMaxRetryWait, Reason: "must be positive"})
	case c.MaxRetryWait == 0:
		c.MaxRetryWait = 20 * time.Minute
	}
	if c.RequestTimeout < 0 {
		errs = append(errs, &settings.ConfigError{Name: "OCEAN__CLIENT_TIMEOUT", Reason: "must not be negative (0: no timeout)"})
	}
	if c.Visibility != nil && c.Visibility.UseMinAccessLevel && !validAccessLevel(c.Visibility.MinAccessLevel) {
		errs = append(errs, errors.New("gitlab: visibility.minAccessLevel must be one of 5, 10, 15, 20, 30, 40, 50"))
	}
	return errors.Join(errs...)
}

func validAccessLevel(n int) bool {
	switch n {
	case 5, 10, 15, 20, 30, 40, 50:
		return true
	}
	return false
}

// Auth header names.
const (
	headerPrivateToken = "PRIVATE-TOKEN"
	headerJobToken     = "JOB-TOKEN"
	headerBearer       = "Authorization"
)

// authHeader decides the auth header for a token of the given configured
// type (see TokenTypeAuto); a token re-read from the token file is judged
// afresh.
func authHeader(tokenType, t string) string {
	switch tokenType {
	case TokenTypePrivate:
		return headerPrivateToken
	case TokenTypeOAuth:
		return headerBearer
	case TokenTypeJob:
		return headerJobToken
	}
	switch {
	case strings.HasPrefix(t, "glpat-") || len(t) == 20:
		return headerPrivateToken
	case strings.HasPrefix(t, "glcbt-"):
		return headerJobToken
	}
	return headerBearer
}
