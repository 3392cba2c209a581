package ocean

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/oceankit/oceankit/ocean/report"
	"github.com/oceankit/oceankit/port"
)

// Plan is what a resync would do to the catalog, computed without writing
// anything: the entities it would create, change (field by field) and
// delete, per blueprint, and whether the deletion threshold would stop the
// deletions. It runs the resync's own code with the writes recorded instead
// of sent, so a resync right after does what the plan says.
type Plan struct {
	// Blueprints holds the plan per blueprint.
	Blueprints map[string]*BlueprintPlan `json:"blueprints"`
	// Kinds are the per-kind counts of the run.
	Kinds []*report.Kind `json:"kinds"`
	// DeletionSkipped says why stale entities would not be deleted.
	DeletionSkipped string `json:"deletionSkipped,omitempty"`
	// StaleFound counts the entities the resync would find stale, deleted
	// or not.
	StaleFound int `json:"staleFound"`

	mu     sync.Mutex
	stored map[entityKey]port.Entity
	merge  bool
	seed   maphash.Seed
}

// BlueprintPlan is the plan for one blueprint.
type BlueprintPlan struct {
	Create    []port.Entity  `json:"create,omitempty"`
	Change    []EntityChange `json:"change,omitempty"`
	Delete    []string       `json:"delete,omitempty"`
	Unchanged int            `json:"unchanged"`
}

// EntityChange is an entity that exists and would change.
type EntityChange struct {
	Identifier string        `json:"identifier"`
	Fields     []FieldChange `json:"fields"`
}

// FieldChange is one field's old and new value ("properties.url",
// "relations.project", "title"). New is nil for a property a replacing
// upsert (enableMergeEntity: false) would remove.
type FieldChange struct {
	Field string `json:"field"`
	Old   any    `json:"old"`
	New   any    `json:"new"`
}

func (p *Plan) blueprint(bp string) *BlueprintPlan {
	if p.Blueprints[bp] == nil {
		p.Blueprints[bp] = &BlueprintPlan{}
	}
	return p.Blueprints[bp]
}

func (p *Plan) unchanged(bp string) {
	p.mu.Lock()
	p.blueprint(bp).Unchanged++
	p.mu.Unlock()
}

// Counts sums the plan: entities to create, change and delete.
func (p *Plan) Counts() (create, change, del int) {
	for _, b := range p.Blueprints {
		create += len(b.Create)
		change += len(b.Change)
		del += len(b.Delete)
	}
	return create, change, del
}

// Plan computes what a resync would do now, without writing to Port. It
// needs a Port client to read the catalog.
func (a *App) Plan(ctx context.Context) (*Plan, error) {
	if a.port == nil {
		return nil, errors.New("ocean: a plan reads the catalog: it needs Port credentials")
	}
	p := &Plan{Blueprints: map[string]*BlueprintPlan{}, stored: map[entityKey]port.Entity{}, seed: maphash.MakeSeed()}
	rep, err := a.runResync(ctx, ResyncOptions{Trigger: "plan"}, runMode{writer: &planWriter{p: p}, quiet: true, plan: p})
	if rep != nil {
		p.Kinds = rep.Kinds
		p.DeletionSkipped = rep.DeletionSkipped
		p.StaleFound = rep.StaleFound
	}
	for _, b := range p.Blueprints {
		sort.Slice(b.Create, func(i, j int) bool { return b.Create[i].ID() < b.Create[j].ID() })
		sort.Slice(b.Change, func(i, j int) bool { return b.Change[i].Identifier < b.Change[j].Identifier })
		sort.Strings(b.Delete)
	}
	p.stored = nil
	var kf *KindsFailedError
	if err != nil && !errors.As(err, &kf) {
		return nil, err
	}
	return p, err
}

// planWriter records a resync's writes into a Plan.
type planWriter struct {
	p *Plan
}

func (w *planWriter) upsert(_ context.Context, bp string, ents []port.Entity, opts port.UpsertOptions) ([]writeResult, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	w.p.merge = opts.Merge
	b := w.p.blueprint(bp)
	for _, e := range ents {
		stored, ok := w.p.stored[entityKey{bp, e.ID()}]
		if !ok || e.ID() == "" {
			b.Create = append(b.Create, e)
			continue
		}
		b.Change = append(b.Change, EntityChange{Identifier: e.ID(), Fields: w.p.diff(stored, e, opts.Merge)})
	}
	return make([]writeResult, len(ents)), nil
}

func (w *planWriter) delete(_ context.Context, bp string, ids []string, _ port.DeleteOptions) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	b := w.p.blueprint(bp)
	b.Delete = append(b.Delete, ids...)
	return len(ids), nil
}

// diff lists the fields an upsert of ours over stored would change, with
// the comparison rules of compare.go.
func (p *Plan) diff(stored, ours port.Entity, merge bool) []FieldChange {
	var out []FieldChange
	same := func(a, b any, unordered bool) bool {
		if a == nil || b == nil {
			return a == nil && b == nil
		}
		if unordered {
			a, b = sortedStrings(a), sortedStrings(b)
		}
		var ha, hb maphash.Hash
		ha.SetSeed(p.seed)
		hb.SetSeed(p.seed)
		hashValue(&ha, a)
		hashValue(&hb, b)
		return ha.Sum64() == hb.Sum64()
	}
	field := func(name string, old, new any, sent, unordered bool) {
		if !sent && merge {
			return
		}
		if !same(old, new, unordered) {
			out = append(out, FieldChange{Field: name, Old: old, New: new})
		}
	}
	str := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	field("title", str(stored.Title), str(ours.Title), ours.Title != "", false)
	field("icon", str(stored.Icon), str(ours.Icon), ours.Icon != "", false)
	field("team", stored.Team, ours.Team, ours.Team != nil, true)
	for _, k := range unionKeys(stored.Properties, ours.Properties) {
		v, sent := ours.Properties[k]
		field("properties."+k, stored.Properties[k], v, sent, false)
	}
	for _, k := range unionKeys(stored.Relations, ours.Relations) {
		v, sent := ours.Relations[k]
		field("relations."+k, stored.Relations[k], v, sent, false)
	}
	if len(out) == 0 {
		// The signatures differed on something a field diff does not
		// show (a search query); say so rather than print nothing.
		out = append(out, FieldChange{Field: "(search query: resolved by Port)"})
	}
	return out
}

func unionKeys(a, b map[string]any) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range []map[string]any{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// WriteText writes the plan for a person: a summary per blueprint, then
// every entity to create, change (with its fields) and delete.
func (p *Plan) WriteText(w io.Writer) error {
	bps := make([]string, 0, len(p.Blueprints))
	for bp := range p.Blueprints {
		bps = append(bps, bp)
	}
	sort.Strings(bps)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "blueprint\tcreate\tchange\tdelete\tunchanged\t")
	for _, bp := range bps {
		b := p.Blueprints[bp]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\n", bp, len(b.Create), len(b.Change), len(b.Delete), b.Unchanged)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if p.DeletionSkipped != "" {
		fmt.Fprintf(w, "\nDeletion would be skipped: %s (%d stale entities stay).\n", p.DeletionSkipped, p.StaleFound)
	}
	for _, bp := range bps {
		b := p.Blueprints[bp]
		if len(b.Create)+len(b.Change)+len(b.Delete) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s\n", bp)
		for _, e := range b.Create {
			fmt.Fprintf(w, "  + %s\n", e.ID())
		}
		for _, c := range b.Change {
			fmt.Fprintf(w, "  ~ %s\n", c.Identifier)
			for _, f := range c.Fields {
				fmt.Fprintf(w, "      %s: %s -> %s\n", f.Field, short(f.Old), short(f.New))
			}
		}
		for _, id := range b.Delete {
			fmt.Fprintf(w, "  - %s\n", id)
		}
	}
	return nil
}

// short renders a value on one line, cut to a readable length.
func short(v any) string {
	if v == nil {
		return "null"
	}
	s := fmt.Sprintf("%v", v)
	if str, ok := v.(string); ok {
		s = fmt.Sprintf("%q", str)
	}
	s = strings.ReplaceAll(s, "\n", `\n`)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}
