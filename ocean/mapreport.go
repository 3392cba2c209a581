package ocean

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/oceankit/oceankit/mapping"
	"github.com/oceankit/oceankit/ocean/report"
)

// mappingErrors aggregates a kind's mapping errors by field.
type mappingErrors struct {
	mu     sync.Mutex
	fields map[string]*report.MappingError // by field and effect
	order  []string
}

func (m *mappingErrors) add(mc mapping.Misconfiguration, leftOut bool, item Item) {
	key := mc.Field + "\x00" + mc.Expr
	if leftOut {
		key += "\x00out"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.fields[key]; ok {
		e.Count++
		return
	}
	if m.fields == nil {
		m.fields = map[string]*report.MappingError{}
	}
	m.fields[key] = &report.MappingError{Field: mc.Field, Expr: mc.Expr, Count: 1, LeftOut: leftOut, Example: exampleOf(mc, item), Error: errText(mc.Err)}
	m.order = append(m.order, key)
}

func (m *mappingErrors) list() []report.MappingError {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]report.MappingError, 0, len(m.order))
	for _, k := range m.order {
		out = append(out, *m.fields[k])
	}
	// Pages are mapped concurrently: report in a stable order.
	slices.SortStableFunc(out, func(a, b report.MappingError) int {
		if a.LeftOut != b.LeftOut {
			if a.LeftOut {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Field, b.Field)
	})
	return out
}

// exampleKeys are the raw-item keys that name an item well enough to find
// it at the source, most telling first.
var exampleKeys = [...]string{"path_with_namespace", "full_path", "web_url", "username", "id", "iid", "name", "title", "key"}

func exampleOf(mc mapping.Misconfiguration, item Item) string {
	if mc.Identifier != "" {
		return "entity " + mc.Blueprint + "/" + mc.Identifier
	}
	for _, k := range exampleKeys {
		if v, ok := item[k]; ok && v != nil {
			switch v.(type) {
			case map[string]any, []any:
				continue
			}
			s := fmt.Sprint(v)
			if len(s) > 200 {
				s = s[:200] + "…"
			}
			return "item with " + k + "=" + s
		}
	}
	return "an item without an id or name"
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// record adds a page's mapping errors to the kind's.
func (k *kindRun) recordMapping(res *mapping.Result, page []Item) {
	at := func(i int) Item {
		if i >= 0 && i < len(page) {
			return page[i]
		}
		return nil
	}
	for _, mc := range res.Misconfigured {
		k.mapErrs.add(mc, true, at(mc.Item))
	}
	for _, mc := range res.FieldErrors {
		k.mapErrs.add(mc, false, at(mc.Item))
	}
	if res.SelectorErrors > 0 {
		k.selectorErrs.Add(int64(res.SelectorErrors))
	}
	k.nulled.Add(int64(len(res.FieldErrors)))
}

// logMappingErrors logs each failing field of a kind once, when the kind
// ends.
func logMappingErrors(log *slog.Logger, rep *report.Kind) {
	for _, e := range rep.MappingErrors {
		attrs := []any{"kind", rep.Kind, "index", rep.Index, "field", e.Field, "expr", e.Expr, "count", e.Count,
			"example", e.Example, "error", e.Error}
		if e.LeftOut {
			log.Warn("items left out by a mapping error", attrs...)
		} else {
			log.Warn("entities written with a field null: its jq failed for them", attrs...)
		}
	}
}

// SelectorQueryError fails a kind whose selector query failed, or produced
// something other than a boolean (null included), for some items. Ocean
// fails the resync for it too; the items are not treated as filtered out,
// so their entities are not deleted as stale.
type SelectorQueryError struct {
	Count int64
	// First is the first item's error.
	First report.MappingError
}

func (e *SelectorQueryError) Error() string {
	return fmt.Sprintf("selector query %s failed or was not a boolean for %d item(s) (first: %s: %s)",
		e.First.Expr, e.Count, e.First.Example, e.First.Error)
}
