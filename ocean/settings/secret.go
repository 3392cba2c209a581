package settings

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"unicode"
)

// Secret is a string that must never be printed: client secrets, tokens,
// webhook secrets. Its String, LogValue and MarshalJSON all give
// "[REDACTED]"; Value returns the real thing for the one place that needs it.
type Secret string

// Mask is what a secret value is replaced with wherever it would be shown.
const Mask = "[REDACTED]"

// Value returns the secret itself.
func (s Secret) Value() string { return string(s) }

// String redacts the secret, so %s and %v never leak it.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Mask
}

// GoString redacts the secret for %#v.
func (s Secret) GoString() string { return `ocean.Secret("` + s.String() + `")` }

// LogValue redacts the secret in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON redacts the secret, so a config printed as JSON is safe.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON reads a plain string.
func (s *Secret) UnmarshalJSON(b []byte) error {
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = Secret(v)
	return nil
}

// CleanSecret prepares a secret read from configuration: surrounding
// whitespace is removed (a Kubernetes Secret made from a file ends with a
// newline, which would make every HTTP request fail to build), and a
// control character left inside is an error naming the variable, never
// quoting the value.
func CleanSecret(name string, s Secret) (Secret, error) {
	v := strings.TrimSpace(string(s))
	for _, r := range v {
		if unicode.IsControl(r) {
			return "", &ConfigError{Name: name, Reason: "contains a control character (a line break or tab inside the value?)"}
		}
	}
	return Secret(v), nil
}

// isSecretName reports whether a setting name (OCEAN__PORT__CLIENT_ID,
// gitlabToken, webhook_secret) names a secret. It errs on the side of
// hiding: a value wrongly taken for a secret is only redacted.
func isSecretName(name string) bool {
	k := strings.ToLower(snake(name))
	// gitlabTokenType, a token file's path: about a secret, not one.
	if strings.HasSuffix(k, "_type") || strings.HasSuffix(k, "_file") || strings.HasSuffix(k, "_path") {
		return false
	}
	// The words that make a name secret wherever it appears: in a
	// variable's name, or as a key inside a JSON value.
	for _, w := range []string{"token", "secret", "password", "passwd", "private_key", "api_key", "client_id", "credential"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// urlUserinfoRe finds the userinfo of URLs anywhere in a string
// (redis://user:password@host, SASL_SSL://u:p@broker:9096), up to the last
// @ before the path.
var urlUserinfoRe = regexp.MustCompile(`(?i)[a-z][a-z0-9+.\-]*://([^/?#\s]*)@`)

// urlPasswords returns the passwords in the userinfo of every URL in s, both
// as written and percent-decoded, since either may show up in a log line.
func urlPasswords(s string) []string {
	if !strings.Contains(s, "://") {
		return nil
	}
	var out []string
	for _, m := range urlUserinfoRe.FindAllStringSubmatch(s, -1) {
		_, pass, ok := strings.Cut(m[1], ":")
		if !ok || pass == "" {
			continue
		}
		out = append(out, pass)
		if dec, err := url.PathUnescape(pass); err == nil && dec != pass && dec != "" {
			out = append(out, dec)
		}
	}
	return out
}

// collectSecrets walks a settings value (a string, or the maps and lists a
// JSON or YAML value decodes to) and adds every secret found in it: strings
// and numbers under a secret-looking key at any depth, and passwords in
// URLs anywhere. secretKey says whether v itself sits under such a key.
func collectSecrets(v any, secretKey bool, add func(string)) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			collectSecrets(e, secretKey || isSecretName(k), add)
		}
	case []any:
		for _, e := range t {
			collectSecrets(e, secretKey, add)
		}
	case string:
		if secretKey {
			add(t)
			add(strings.TrimSpace(t))
		}
		for _, p := range urlPasswords(t) {
			add(p)
		}
		// A JSON object inside a string (OCEAN__INTEGRATION__CONFIG, or a
		// JSON value nested in one) holds secrets under its own keys.
		if s := strings.TrimSpace(t); strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[") {
			var inner any
			if json.Unmarshal([]byte(s), &inner) == nil {
				if _, isStr := inner.(string); !isStr {
					collectSecrets(inner, secretKey, add)
				}
			}
		}
	case nil, bool:
	default:
		if secretKey {
			add(fmt.Sprint(t))
		}
	}
}

// IsOwnVariable reports whether an environment variable is one of this
// program's settings (OCEAN__…, APPLICATION__…), names compared as Ocean
// does, without regard to case.
func IsOwnVariable(name string) bool {
	up := strings.ToUpper(name)
	return strings.HasPrefix(up, "OCEAN__") || strings.HasPrefix(up, "APPLICATION__")
}

// EnvSecrets returns the secret values an environment holds for this
// program: the values of OCEAN__ and APPLICATION__ variables whose names
// say they are secret (…TOKEN, …SECRET, …PASSWORD, …CLIENT_ID, …), the
// values under such keys inside their JSON values
// (OCEAN__INTEGRATION__CONFIG='{"gitlabToken":…}'), and the passwords of
// URLs in them (OCEAN__LIVE_EVENTS__REDIS__URL=redis://u:pass@…). Programs
// use it to redact what they print before a Config exists; Load keeps them
// so that the App's logs and jq's env hide them too.
func EnvSecrets(environ []string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !IsOwnVariable(name) {
			continue
		}
		// The parts of the name after the prefix are keys, as in JSON.
		collectSecrets(val, isSecretName(name), add)
	}
	return out
}

// JQEnviron is the environment jq's env and $ENV see: the process's,
// without this program's settings and without anything that holds one of
// its secrets. Whoever may edit the mapping in Port may not read the
// integration's credentials, so every OCEAN__ and APPLICATION__ variable is
// hidden (a JSON OCEAN__INTEGRATION__CONFIG holds the GitLab token, a Redis
// URL its password), and so is any other variable whose value contains a
// secret (a value config.yaml took with {{ from env NAME }}, a URL with the
// token in it). Secrets of any length count here: hiding too much is safe.
// env is the process's environment (os.Environ()).
func (c *Config) JQEnviron(env []string) []string {
	secrets := append(c.Secrets(), EnvSecrets(env)...)
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, val, _ := strings.Cut(kv, "=")
		if IsOwnVariable(name) {
			continue
		}
		hidden := false
		for _, s := range secrets {
			if s != "" && strings.Contains(val, s) {
				hidden = true
				break
			}
		}
		if !hidden {
			out = append(out, kv)
		}
	}
	return out
}
