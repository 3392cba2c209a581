package mapping

import (
	"math"

	"github.com/itchyny/gojq"
)

// `to_entries | max_by(.value) | .key` (gitlab-v2's main language of a
// project) builds one {key, value} object per entry only to keep one key.
// fusePipe evaluates it in one pass over the object, building nothing.

// fusePipe returns the evaluator of `l | r`, fusing to_entries with a
// following min_by/max_by on the entry's key or value, and that with a
// following .key or .value, and a literal-ish sub with a following
// fromdateiso8601. gojq's parser nests pipes to the right, so the
// rest of the pipeline is r.
func fusePipe(l, r fastExpr) fastExpr {
	head, tail := r, fastExpr(nil)
	if f, ok := r.(fFloat); ok {
		r = f.x // fFloat only caches how to evaluate x
	}
	if p, ok := r.(fPipe); ok {
		head, tail = p.l, p.r
	}
	var fused fastExpr
	switch l := l.(type) {
	case fAlt:
		// `(.x // {}) | to_entries | max_by(…)…` only reads the object:
		// the default need not be a new map for every item.
		if _, ok := l.r.(fEmptyObject); ok {
			switch head.(type) {
			case fEntryBy, fEntryField:
				return fPipe{fAlt{l.l, fConst{emptyObject}}, r}
			}
		}
	case fToEntries:
		if m, ok := head.(fMinMaxBy); ok {
			if by, ok := m.f.(fPath); ok {
				if field, rest, ok := entryField(by); ok {
					fused = fEntryBy{byKey: field == "key", by: fPath{steps: rest}, isMin: m.isMin}
				}
			}
		}
	case fSub:
		if _, ok := head.(fFromDate); ok && l.re.lit != nil {
			fused = fSubDate{l}
		}
	case fEntryBy:
		if p, ok := head.(fPath); ok {
			if field, rest, ok := entryField(p); ok {
				fused = fEntryField{e: l, key: field == "key", rest: fPath{steps: rest}}
			}
		}
	}
	switch {
	case fused == nil:
		return fPipe{l, r}
	case tail == nil:
		return fused
	}
	return fusePipe(fused, tail)
}

// emptyObject is the {} that fused readers get as a default; nothing
// writes to it or returns it.
var emptyObject = map[string]any{}

// entryField splits a path that starts with .key or .value.
func entryField(p fPath) (string, []step, bool) {
	if len(p.steps) == 0 || p.steps[0].isIdx || (p.steps[0].key != "key" && p.steps[0].key != "value") {
		return "", nil, false
	}
	return p.steps[0].key, p.steps[1:], true
}

// fEntryBy is `to_entries | max_by(.value…)` (or min_by, or by .key…) on
// an object. gojq's to_entries lists the entries by key; max_by keeps the
// last maximum and min_by the first minimum, so the result is the entry
// whose (f, key) pair is the largest (smallest): no sorting is needed.
// That holds while gojq.Compare is a total order on the f values, so the
// evaluation declines on values where it may not be (NaN, numbers that
// float64 does not hold exactly, arrays and objects).
type fEntryBy struct {
	byKey bool  // f reads .key, else .value
	by    fPath // the rest of f's path
	isMin bool
}

func (e fEntryBy) pick(v any) (key string, val any, found, ok bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return "", nil, false, false
	}
	var best any
	for k, x := range m {
		var fv any = x
		if e.byKey {
			fv = k
		}
		fv, ok := e.by.eval(fv)
		if !ok || !totalOrdered(fv) {
			return "", nil, false, false
		}
		if !found {
			key, val, best, found = k, x, fv, true
			continue
		}
		c := gojq.Compare(fv, best)
		if e.isMin {
			c = -c
		}
		if c > 0 || c == 0 && (k > key) != e.isMin {
			key, val, best = k, x, fv
		}
	}
	return key, val, found, true
}

func (e fEntryBy) eval(v any) (any, bool) {
	k, x, found, ok := e.pick(v)
	if !ok {
		return nil, false
	}
	if !found {
		return nil, true // max_by of no entries
	}
	return map[string]any{"key": k, "value": x}, true
}

// totalOrdered reports whether gojq.Compare orders v consistently with
// every other such value.
func totalOrdered(v any) bool {
	switch v := v.(type) {
	case nil, bool, string:
		return true
	case float64:
		return !math.IsNaN(v)
	case int:
		return v > -1<<53 && v < 1<<53
	}
	return false
}

// fEntryField is fEntryBy followed by .key or .value (and a path).
type fEntryField struct {
	e    fEntryBy
	key  bool
	rest fPath
}

func (f fEntryField) eval(v any) (any, bool) {
	k, x, found, ok := f.e.pick(v)
	if !ok {
		return nil, false
	}
	var out any // .key of null is null
	if found {
		out = x
		if f.key {
			out = k
		}
	}
	return f.rest.eval(out)
}
