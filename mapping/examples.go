package mapping

import "sync"

// DefaultExamplesPerKind is how many raw items Ocean sends per kind.
const DefaultExamplesPerKind = 5

// ExampleCollector keeps the first few raw items seen per kind, for the
// framework to send to Port as raw data examples (Port's mapping editor uses
// them). It is safe for concurrent use. Items are kept by reference: callers
// must not modify them afterwards, and should mask secrets before sending.
type ExampleCollector struct {
	mu    sync.Mutex
	limit int
	kinds []string
	items map[string][]map[string]any
}

// NewExampleCollector returns a collector keeping limit items per kind
// (DefaultExamplesPerKind when limit <= 0).
func NewExampleCollector(limit int) *ExampleCollector {
	if limit <= 0 {
		limit = DefaultExamplesPerKind
	}
	return &ExampleCollector{limit: limit, items: map[string][]map[string]any{}}
}

// Add records items of kind until the kind has limit examples.
func (c *ExampleCollector) Add(kind string, items []map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	have, seen := c.items[kind]
	if !seen {
		c.kinds = append(c.kinds, kind)
	}
	for _, it := range items {
		if len(have) >= c.limit {
			break
		}
		if it != nil {
			have = append(have, it)
		}
	}
	c.items[kind] = have
}

// Kinds returns the kinds seen, in first-seen order.
func (c *ExampleCollector) Kinds() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.kinds...)
}

// Examples returns the examples of kind.
func (c *ExampleCollector) Examples(kind string) []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]map[string]any(nil), c.items[kind]...)
}

// Reset forgets everything, for example at the start of a resync.
func (c *ExampleCollector) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.kinds = nil
	c.items = map[string][]map[string]any{}
}
