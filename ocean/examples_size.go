package ocean

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/oceankit/oceankit/port"
)

// examplesBudget bounds the JSON of one kind's raw data examples: Port
// refuses a request over port.MaxRequestBytes, and an item can be far
// larger than that (a file kind's parsed content). The envelope and the
// separators take less than the kilobyte kept back.
const examplesBudget = port.MaxRequestBytes - 1<<10

// jsonSize returns the size of v encoded as encoding/json would, or a
// number over limit as soon as it is sure to pass it: measuring an example
// must not cost what encoding it would.
func jsonSize(v any, limit int) int {
	m := sizer{limit: limit}
	m.value(v)
	return m.n
}

type sizer struct {
	n, limit int
}

func (m *sizer) over() bool { return m.n > m.limit }

func (m *sizer) value(v any) {
	if m.over() {
		return
	}
	switch t := v.(type) {
	case nil:
		m.n += 4
	case bool:
		m.n += 5
	case string:
		m.str(t)
	case float64:
		var buf [32]byte
		m.n += len(strconv.AppendFloat(buf[:0], t, 'g', -1, 64))
	case int:
		var buf [24]byte
		m.n += len(strconv.AppendInt(buf[:0], int64(t), 10))
	case int64:
		var buf [24]byte
		m.n += len(strconv.AppendInt(buf[:0], t, 10))
	case json.Number:
		m.n += len(t)
	case map[string]any:
		m.n += 2
		for k, e := range t {
			m.str(k)
			m.n += 2 // colon and comma
			m.value(e)
			if m.over() {
				return
			}
		}
	case []any:
		m.n += 2
		for _, e := range t {
			m.n++
			m.value(e)
			if m.over() {
				return
			}
		}
	default:
		// A type the decoders here do not produce: encode it, once.
		b, err := json.Marshal(t)
		if err != nil {
			m.n = m.limit + 1
			return
		}
		m.n += len(b)
	}
}

// str counts a string as encoding/json escapes it: quotes, backslashes and
// control characters, the HTML-sensitive <, > and &, and invalid UTF-8.
func (m *sizer) str(s string) {
	m.n += 2 + len(s)
	if len(s) > m.limit {
		m.n = m.limit + 1
		return
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
				m.n++
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				m.n += 5
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			m.n += 5 // \ufffd
		} else if r == '\u2028' || r == '\u2029' {
			m.n += 3
		}
		i += size
	}
}
