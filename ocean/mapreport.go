package ocean

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/oceankit/oceankit/mapping"
)

// MappingError is one mapping field that failed during a resync, counted
// over the kind, with the first item it failed for. Each failing field is
// reported once per kind, not once per page.
type MappingError struct {
	// Field is the mapping field, Ocean style ("properties.readme",
	// "identifier", "selector.query").
	Field string `json:"field"`
	// Expr is the jq expression as written in the config.
	Expr string `json:"expr"`
	// Count is how many entities (or items) it failed for.
	Count int64 `json:"count"`
	// LeftOut is false when the entities were written with the field null
	// (Ocean's rule for every field but the identifier and blueprint), true
	// when the items were not written at all (their identifier, blueprint,
	// selector or itemsToParse failed, or they ran out of time).
	LeftOut bool `json:"leftOut"`
	// Example names the first item it failed for: its entity when the
	// identifier is known, otherwise the item's own id or name.
	Example string `json:"example"`
	// Error is the first error.
	Error string `json:"error"`
}

// mappingErrors aggregates a kind's mapping errors by field.
type mappingErrors struct {
	mu     sync.Mutex
	fields map[string]*MappingError // by field and effect
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
		m.fields = map[string]*MappingError{}
	}
	m.fields[key] = &MappingError{Field: mc.Field, Expr: mc.Expr, Count: 1, LeftOut: leftOut, Example: exampleOf(mc, item), Error: errText(mc.Err)}
	m.order = append(m.order, key)
}

func (m *mappingErrors) list() []MappingError {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]MappingError, 0, len(m.order))
	for _, k := range m.order {
		out = append(out, *m.fields[k])
	}
	// Pages are mapped concurrently: report in a stable order.
	slices.SortStableFunc(out, func(a, b MappingError) int {
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
func logMappingErrors(log *slog.Logger, rep *KindReport) {
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
	First MappingError
}

func (e *SelectorQueryError) Error() string {
	return fmt.Sprintf("selector query %s failed or was not a boolean for %d item(s) (first: %s: %s)",
		e.First.Expr, e.Count, e.First.Example, e.First.Error)
}
