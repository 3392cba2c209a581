package settings

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"
)

// The files Ocean reads from its working directory when they exist: a .env
// file below the environment, and config.yaml below both.
const (
	dotenvFile = ".env"
	ConfigFile = "config.yaml"
)

// DotenvError is a line of a .env file that does not parse. It names the
// file and the line, never the content, which may hold a secret.
type DotenvError struct {
	Path   string
	Line   int
	Reason string
}

func (e *DotenvError) Error() string {
	return fmt.Sprintf("%s line %d: %s", e.Path, e.Line, e.Reason)
}

// parseDotenv parses a .env file as python-dotenv (which Ocean's settings
// use) reads one: KEY=VALUE lines, blank lines and # comments, an optional
// `export ` prefix, 'single-quoted' values taken literally, "double-quoted"
// values with backslash escapes, either kind spanning lines, unquoted values
// cut at ` #`, a KEY without = ignored, and ${NAME} or ${NAME:-default}
// expanded in unquoted and double-quoted values from the variables above
// it in the file, then from environ. It returns KEY=VALUE entries in file
// order. Unlike python-dotenv, which skips a line it cannot parse with a
// warning, a bad line is an error: a skipped line is a setting silently
// lost. path only names the file in errors.
func parseDotenv(path string, data []byte, environ []string) ([]string, error) {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	p := &dotenvParser{s: strings.ReplaceAll(string(data), "\r\n", "\n"), line: 1, path: path}
	p.s = strings.TrimPrefix(p.s, "\ufeff")
	var out []string
	for {
		key, value, ok, err := p.next(func(name string) (string, bool) {
			v, ok := env[name]
			return v, ok
		})
		if err != nil {
			return nil, err
		}
		if !ok {
			return out, nil
		}
		if key == "" {
			continue // a key without =
		}
		env[key] = value // later lines expand earlier ones
		out = append(out, key+"="+value)
	}
}

type dotenvParser struct {
	s    string
	i    int
	line int
	path string
}

func (p *dotenvParser) fail(line int, reason string) error {
	return &DotenvError{Path: p.path, Line: line, Reason: reason}
}

func (p *dotenvParser) eof() bool { return p.i >= len(p.s) }

func (p *dotenvParser) skipBlanks() {
	for !p.eof() && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// skipLine moves past the end of the current line.
func (p *dotenvParser) skipLine() {
	for !p.eof() && p.s[p.i] != '\n' {
		p.i++
	}
	if !p.eof() {
		p.i++
		p.line++
	}
}

// next parses one statement. ok is false at the end of the file; key is
// empty for a line that sets nothing.
func (p *dotenvParser) next(lookup func(string) (string, bool)) (key, value string, ok bool, err error) {
	// Blank lines and comments.
	for {
		p.skipBlanks()
		if p.eof() {
			return "", "", false, nil
		}
		switch p.s[p.i] {
		case '\n':
			p.skipLine()
			continue
		case '#':
			p.skipLine()
			continue
		}
		break
	}
	start := p.line
	if rest := p.s[p.i:]; strings.HasPrefix(rest, "export") && len(rest) > 6 && (rest[6] == ' ' || rest[6] == '\t') {
		p.i += 6
		p.skipBlanks()
	}
	if key, err = p.key(start); err != nil {
		return "", "", false, err
	}
	p.skipBlanks()
	if p.eof() || p.s[p.i] == '\n' || p.s[p.i] == '#' {
		// A bare KEY: python-dotenv gives it no value, and pydantic
		// ignores it.
		p.skipLine()
		return "", "", true, nil
	}
	if p.s[p.i] != '=' {
		return "", "", false, p.fail(start, "want KEY=VALUE")
	}
	p.i++
	p.skipBlanks()
	if p.eof() {
		return key, "", true, nil
	}
	switch q := p.s[p.i]; q {
	case '\'', '"':
		p.i++
		raw, err := p.quoted(q, start)
		if err != nil {
			return "", "", false, err
		}
		if q == '\'' {
			value = singleQuoteEscapes.Replace(raw)
		} else {
			value = expandDotenv(doubleQuoteEscapes.Replace(raw), lookup)
		}
		p.skipBlanks()
		switch {
		case p.eof():
		case p.s[p.i] == '\n' || p.s[p.i] == '#':
			p.skipLine()
		default:
			return "", "", false, p.fail(p.line, "text after the closing quote")
		}
	default:
		end := strings.IndexByte(p.s[p.i:], '\n')
		if end < 0 {
			end = len(p.s) - p.i
		}
		raw := p.s[p.i : p.i+end]
		p.i += end
		p.skipLine()
		raw = inlineComment.ReplaceAllString(raw, "")
		value = expandDotenv(strings.TrimRight(raw, " \t\f\v"), lookup)
	}
	return key, value, true, nil
}

// key reads a variable name: unquoted up to =, # or a blank, or quoted.
func (p *dotenvParser) key(line int) (string, error) {
	if q := p.s[p.i]; q == '\'' {
		p.i++
		k, err := p.quoted(q, line)
		if err != nil {
			return "", err
		}
		if k == "" {
			return "", p.fail(line, "empty variable name")
		}
		return k, nil
	}
	start := p.i
	for !p.eof() && !strings.ContainsRune("=# \t\n", rune(p.s[p.i])) {
		p.i++
	}
	if p.i == start {
		return "", p.fail(line, "want KEY=VALUE")
	}
	return p.s[start:p.i], nil
}

// quoted reads up to the closing quote q (a backslash escapes any
// character), across lines, and returns the raw text between the quotes.
func (p *dotenvParser) quoted(q byte, line int) (string, error) {
	start := p.i
	for !p.eof() {
		switch c := p.s[p.i]; {
		case c == '\\' && p.i+1 < len(p.s):
			if p.s[p.i+1] == '\n' {
				p.line++
			}
			p.i += 2
		case c == q:
			raw := p.s[start:p.i]
			p.i++
			return raw, nil
		default:
			if c == '\n' {
				p.line++
			}
			p.i++
		}
	}
	return "", p.fail(line, "unterminated quoted value")
}

var (
	singleQuoteEscapes = strings.NewReplacer(`\\`, `\`, `\'`, `'`)
	doubleQuoteEscapes = strings.NewReplacer(`\\`, `\`, `\'`, `'`, `\"`, `"`, `\a`, "\a", `\b`, "\b",
		`\f`, "\f", `\n`, "\n", `\r`, "\r", `\t`, "\t", `\v`, "\v")
	inlineComment = regexp.MustCompile(`[ \t\f\v]+#.*`)
	dotenvVar     = regexp.MustCompile(`\$\{([^}:]*)(?::-([^}]*))?\}`)
)

// expandDotenv replaces ${NAME} and ${NAME:-default} as python-dotenv does:
// an unset name without a default becomes empty.
func expandDotenv(s string, lookup func(string) (string, bool)) string {
	if !strings.Contains(s, "${") {
		return s
	}
	return dotenvVar.ReplaceAllStringFunc(s, func(m string) string {
		sm := dotenvVar.FindStringSubmatch(m)
		if v, ok := lookup(sm[1]); ok {
			return v
		}
		return sm[2]
	})
}

// withDotenv returns environ with the .env file's variables added below it:
// a name the environment sets keeps the environment's value. A missing
// file is reported wrapping fs.ErrNotExist.
func withDotenv(path string, environ []string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &ConfigError{Name: ".env file " + path, Reason: "cannot read", Err: err}
	}
	vars, err := parseDotenv(path, data, environ)
	if err != nil {
		return nil, &ConfigError{Name: ".env file " + path, Reason: "does not parse", Err: err}
	}
	// Names compare case-insensitively, as Ocean's settings read them; a
	// name set twice in the file takes its last value, as python-dotenv's.
	set := make(map[string]bool, len(environ))
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		set[strings.ToUpper(k)] = true
	}
	last := map[string]int{}
	for i, kv := range vars {
		k, _, _ := strings.Cut(kv, "=")
		last[strings.ToUpper(k)] = i
	}
	out := append([]string(nil), environ...)
	for i, kv := range vars {
		k, _, _ := strings.Cut(kv, "=")
		if u := strings.ToUpper(k); !set[u] && last[u] == i {
			out = append(out, kv)
		}
	}
	return out, nil
}

// readOptional reads a file that may be absent: a missing file is no error
// when optional.
func readOptional(path string, optional bool) ([]byte, bool, error) {
	b, err := os.ReadFile(path)
	if optional && errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}
