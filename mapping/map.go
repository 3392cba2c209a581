package mapping

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Entity is a Port entity produced by a mapping.
type Entity struct {
	// Identifier is a string, or a search query (map[string]any with
	// "combinator" and "rules") that Port resolves to an existing entity.
	Identifier any
	Blueprint  string
	// Title and Icon are empty when unset or null.
	Title string
	Icon  string
	// Team is nil, a string, a list of strings or a search query.
	Team       any
	Properties map[string]any
	// Relations values are a string, a list of strings, null or a search query.
	Relations map[string]any
}

// ID returns the identifier when it is a string, and "" when it is a search
// query.
func (e Entity) ID() string {
	s, _ := e.Identifier.(string)
	return s
}

// NullField counts the entities in which a mapping field produced null (an
// error-free null, a missing value or empty output): Ocean's "Unable to find
// valid data for ... (null, missing, or misconfigured)". Such properties are
// kept as null.
type NullField struct {
	Field string `json:"field"`
	Expr  string `json:"expr"`
	Count int    `json:"count"`
}

// Result is the outcome of mapping a batch of raw items.
type Result struct {
	// Entities are the mapped entities, in input order (and, within an item,
	// in itemsToParse then mappings order).
	Entities []Entity
	// Rejected holds the entities of items the selector rejected; only MapAll
	// and MapOne fill it (live events delete those entities, as Ocean does).
	Rejected []Entity
	// Filtered counts items (after itemsToParse expansion) whose selector
	// query produced false.
	Filtered int
	// Dropped counts entities left out because their identifier or blueprint
	// was null or empty, as Ocean does.
	Dropped int
	// Failed counts entities (or items, when the failure came before
	// mapping) left out because of a misconfiguration: their identifier,
	// blueprint, selector or itemsToParse failed, or they ran out of time.
	Failed int
	// SelectorErrors counts the items of Failed whose selector query
	// failed or produced something other than a boolean (null included).
	// Ocean fails the resync for them; the caller should not treat their
	// entities as gone.
	SelectorErrors int
	// Misconfigured has one record per failing field of the items and
	// entities left out (Failed).
	Misconfigured []Misconfiguration
	// FieldErrors has one record per field that failed (a jq run-time
	// error or a value of the wrong type) in an entity that was mapped
	// anyway, with that field null, as Ocean does. Identifier and
	// Blueprint are set.
	FieldErrors []Misconfiguration
	// NullFields lists fields that produced null, in config order.
	NullFields []NullField
}

// Map maps a batch of raw items with a bounded number of workers. Items are
// never modified; entities may share values with them. The error is non-nil
// only when ctx is done or the resource did not compile (see Err).
func (r *ResourceMapper) Map(ctx context.Context, items []map[string]any) (*Result, error) {
	return r.mapItems(ctx, items, false)
}

// MapAll is Map that also maps the items the selector rejects, into
// Result.Rejected.
func (r *ResourceMapper) MapAll(ctx context.Context, items []map[string]any) (*Result, error) {
	return r.mapItems(ctx, items, true)
}

// MapOne maps a single raw item (a live event) like MapAll.
func (r *ResourceMapper) MapOne(ctx context.Context, item map[string]any) (*Result, error) {
	return r.mapItems(ctx, []map[string]any{item}, true)
}

type chunkOut struct {
	ents      []Entity
	rejected  []Entity
	mis       []Misconfiguration
	fieldErrs []Misconfiguration
}

func (r *ResourceMapper) mapItems(ctx context.Context, items []map[string]any, all bool) (*Result, error) {
	if r.err != nil {
		return nil, r.err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.opts.examples != nil {
		r.opts.examples.Add(r.res.Kind, items)
	}
	res := &Result{}
	n := len(items)
	if n == 0 {
		return res, nil
	}
	workers := min(r.opts.workers, n)
	chunk := n
	if workers > 1 {
		chunk = max(1, min(64, n/(workers*4)))
	}
	nChunks := (n + chunk - 1) / chunk
	workers = min(workers, nChunks)
	outs := make([]chunkOut, nChunks)
	// With one mapping and no itemsToParse an item makes at most one
	// entity: the chunks write into one slice, at their items' offsets,
	// which is compacted below instead of copied.
	var shared []Entity
	if len(r.mappings) == 1 && r.itemsToParse == nil {
		shared = make([]Entity, n)
		for c := range outs {
			lo, hi := c*chunk, min(n, (c+1)*chunk)
			outs[c].ents = shared[lo:lo:hi]
		}
	}
	ws := make([]*worker, workers)

	var wd *watchdog
	if r.budgeted && r.opts.itemTimeout > 0 {
		wd = newWatchdog(r.opts.itemTimeout, workers)
	}
	for i := range ws {
		ws[i] = newWorker(ctx, r, wd, i, all)
	}
	if wd != nil {
		wd.start()
		defer wd.stop()
	}
	defer func() {
		for _, w := range ws {
			w.close()
		}
	}()

	var next atomic.Int64
	run := func(w *worker) {
		for !w.aborted {
			c := int(next.Add(1) - 1)
			if c >= nChunks {
				return
			}
			lo, hi := c*chunk, min(n, (c+1)*chunk)
			w.runChunk(items, lo, hi, &outs[c])
		}
	}
	if workers == 1 {
		run(ws[0])
	} else {
		var wg sync.WaitGroup
		for _, w := range ws {
			wg.Go(func() { run(w) })
		}
		wg.Wait()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	nulls := make([]int, len(r.fields))
	for _, w := range ws {
		res.Filtered += w.filtered
		res.Dropped += w.dropped
		res.Failed += w.failed
		res.SelectorErrors += w.selErrs
		for i, c := range w.nulls {
			nulls[i] += c
		}
	}
	for i, c := range nulls {
		if c > 0 {
			res.NullFields = append(res.NullFields, NullField{Field: r.fields[i].field, Expr: r.fields[i].expr, Count: c})
		}
	}
	if nChunks == 1 {
		res.Entities, res.Rejected, res.Misconfigured, res.FieldErrors = outs[0].ents, outs[0].rejected, outs[0].mis, outs[0].fieldErrs
		return res, nil
	}
	if shared != nil {
		k := 0
		for c := range outs {
			if lo := c * chunk; k != lo {
				copy(shared[k:], outs[c].ents) // moves left, within shared
			}
			k += len(outs[c].ents)
		}
		clear(shared[k:]) // no stale entity keeps its maps alive
		res.Entities = shared[:k]
	}
	var ne, nr, nm, nf int
	for i := range outs {
		ne += len(outs[i].ents)
		nr += len(outs[i].rejected)
		nm += len(outs[i].mis)
		nf += len(outs[i].fieldErrs)
	}
	if nf > 0 {
		res.FieldErrors = make([]Misconfiguration, 0, nf)
	}
	if shared == nil {
		res.Entities = make([]Entity, 0, ne)
	}
	if nr > 0 {
		res.Rejected = make([]Entity, 0, nr)
	}
	if nm > 0 {
		res.Misconfigured = make([]Misconfiguration, 0, nm)
	}
	for i := range outs {
		if shared == nil {
			res.Entities = append(res.Entities, outs[i].ents...)
		}
		res.Rejected = append(res.Rejected, outs[i].rejected...)
		res.Misconfigured = append(res.Misconfigured, outs[i].mis...)
		res.FieldErrors = append(res.FieldErrors, outs[i].fieldErrs...)
	}
	return res, nil
}

// errAborted stops a worker when the caller's context is done.
var errAborted = errors.New("mapping: aborted")

type worker struct {
	r      *ResourceMapper
	parent context.Context
	done   <-chan struct{}
	// ctx is what gojq runs with: derived from parent and replaced after the
	// watchdog cancels it for an item over budget.
	ctx    context.Context
	cancel context.CancelFunc
	slot   *watchSlot
	all    bool

	aborted  bool
	timedOut bool
	cur      int // field id being evaluated, for panic and timeout reports
	curElem  int
	curMap   int

	filtered, dropped, failed, selErrs int
	nulls                              []int
}

func newWorker(parent context.Context, r *ResourceMapper, wd *watchdog, i int, all bool) *worker {
	w := &worker{r: r, parent: parent, done: parent.Done(), all: all, nulls: make([]int, len(r.fields)), cur: -1}
	w.ctx = context.Background()
	if wd != nil {
		w.slot = &wd.slots[i]
		w.ctx, w.cancel = context.WithCancel(parent)
		w.slot.setCancel(w.cancel)
	} else if r.budgeted {
		// No per-item budget, but jq must still stop when the caller's
		// context is done.
		w.ctx = parent
	}
	return w
}

func (w *worker) close() {
	if w.cancel != nil {
		w.cancel()
	}
}

func (w *worker) renew() {
	w.cancel()
	w.ctx, w.cancel = context.WithCancel(w.parent)
	w.slot.setCancel(w.cancel)
}

func (w *worker) runChunk(items []map[string]any, lo, hi int, out *chunkOut) {
	if len(w.r.mappings) == 1 && w.r.itemsToParse == nil && out.ents == nil {
		out.ents = make([]Entity, 0, hi-lo)
	}
	for i := lo; i < hi; i++ {
		select {
		case <-w.done:
			w.aborted = true
			return
		default:
		}
		var start int64
		if w.slot != nil {
			start = w.slot.begin()
		}
		w.item(i, items[i], out)
		if w.slot != nil && !w.slot.end(start) {
			w.renew()
		}
		w.timedOut = false
		if w.aborted {
			return
		}
	}
}

// item maps one raw item; a panic in jq evaluation costs only this item.
func (w *worker) item(i int, raw map[string]any, out *chunkOut) {
	w.curElem, w.curMap, w.cur = -1, 0, -1
	defer func() {
		if p := recover(); p != nil {
			w.failed++
			w.addMis(out, i, -1, "", "", &PanicError{Value: p}, "", "")
		}
	}()
	r := w.r
	if r.itemsToParse == nil {
		w.object(i, -1, raw, out)
		return
	}
	v, err := w.eval(r.itemsToParse, raw)
	if err != nil {
		if err != errAborted {
			w.failed++
			w.addMis(out, i, -1, r.fields[r.itemsToParse.id].field, r.fields[r.itemsToParse.id].expr, err, "", "")
		}
		return
	}
	var elems []any
	switch v := v.(type) {
	case nil:
		w.nulls[r.itemsToParse.id]++
		return
	case []any:
		elems = v
	default:
		w.failed++
		w.addMis(out, i, -1, "itemsToParse", r.fields[r.itemsToParse.id].expr,
			&TypeError{Field: "itemsToParse", Want: "an array", Got: v}, "", "")
		return
	}
	parent := raw
	if r.del.active() {
		parent, err = r.del.apply(w.ctx, raw)
		if err != nil {
			w.failed++
			w.addMis(out, i, -1, "itemsToParse", r.fields[r.itemsToParse.id].expr, err, "", "")
			return
		}
	}
	for j, el := range elems {
		obj := make(map[string]any, len(parent)+1)
		for k, pv := range parent {
			obj[k] = pv
		}
		obj[r.itemsName] = el
		w.curElem = j
		w.object(i, j, obj, out)
		if w.aborted || w.timedOut {
			return
		}
	}
}

// object runs the selector and the mappings on one (expanded) item.
func (w *worker) object(i, elem int, obj map[string]any, out *chunkOut) {
	r := w.r
	rejected := false
	if r.selector != nil {
		v, err := w.eval(r.selector, obj)
		if err != nil {
			if err != errAborted {
				w.failed++
				w.selErrs++
				w.addMis(out, i, elem, "selector.query", r.fields[r.selector.id].expr, err, "", "")
			}
			return
		}
		switch v {
		case true:
		case false:
			w.filtered++
			if !w.all {
				return
			}
			rejected = true
		default:
			// Null included: Ocean requires a boolean, and an item
			// quietly filtered out would have its entity deleted.
			w.failed++
			w.selErrs++
			w.addMis(out, i, elem, "selector.query", r.fields[r.selector.id].expr,
				&TypeError{Field: "selector.query", Want: "a boolean", Got: v}, "", "")
			return
		}
	}
	for mi, cm := range r.mappings {
		w.curMap = mi
		e, ok := w.entity(i, elem, mi, cm, obj, out)
		if w.aborted || w.timedOut {
			return
		}
		if !ok {
			continue
		}
		if rejected {
			out.rejected = append(out.rejected, e)
		} else {
			out.ents = append(out.ents, e)
		}
	}
}

type fieldErr struct {
	id  int
	err error
}

// entity evaluates one mapping. It returns false when the entity is dropped
// (null/empty identifier or blueprint) or left out (its identifier or
// blueprint failed, or its item ran out of time). Any other field that
// fails is null in the entity and recorded in out.fieldErrs: Ocean writes
// the entity with that field null, and leaving it out instead would stop
// it from updating in Port without a trace.
func (w *worker) entity(i, elem, mi int, cm *cmapping, obj map[string]any, out *chunkOut) (Entity, bool) {
	var e Entity
	var errs []fieldErr
	fail := func(id int, err error) {
		if err != errAborted {
			errs = append(errs, fieldErr{id, err})
		}
	}
	stop := func() bool { return w.aborted || w.timedOut }

	id, idErr := w.node(cm.identifier, obj, fail)
	if stop() {
		return w.finish(out, i, elem, mi, errs, "", "")
	}
	idStr := ""
	empty := false
	if idErr == nil {
		switch v := id.(type) {
		case nil:
			empty = true
		case string:
			idStr, empty = v, v == ""
		case map[string]any:
		default:
			fail(cm.identifier.leaf.id, &TypeError{Field: "identifier", Want: "a string or a search query", Got: v})
		}
	}
	e.Identifier = id

	bpStr := ""
	bp, err := w.eval(cm.blueprint, obj)
	switch {
	case err != nil:
		fail(cm.blueprint.id, err)
	case bp == nil:
		empty = true
		w.nulls[cm.blueprint.id]++
	default:
		s, ok := bp.(string)
		if !ok {
			fail(cm.blueprint.id, &TypeError{Field: "blueprint", Want: "a string", Got: bp})
		}
		bpStr, empty = s, empty || s == ""
	}
	e.Blueprint = bpStr
	if stop() || len(errs) > 0 {
		return w.finish(out, i, elem, mi, errs, idStr, bpStr)
	}
	if empty {
		w.dropped++
		return e, false
	}

	if cm.title != nil {
		e.Title = w.stringField(cm.title, "title", obj, fail)
	}
	if cm.icon != nil && !stop() {
		e.Icon = w.stringField(cm.icon, "icon", obj, fail)
	}
	if cm.team != nil && !stop() {
		v, err := w.node(*cm.team, obj, fail)
		switch {
		case err != nil:
			v = nil
		case cm.team.leaf != nil && !validRef(v):
			fail(cm.team.leaf.id, &TypeError{Field: "team", Want: "a string, a list of strings, null or a search query", Got: v})
			v = nil
		}
		e.Team = v
	}
	e.Properties = make(map[string]any, len(cm.props))
	for _, p := range cm.props {
		if stop() {
			break
		}
		v, err := w.eval(p.l, obj)
		if err != nil {
			fail(p.l.id, err)
			v = nil
		} else if v == nil {
			w.nulls[p.l.id]++
		}
		e.Properties[p.name] = v
	}
	e.Relations = make(map[string]any, len(cm.rels))
	for _, rel := range cm.rels {
		if stop() {
			break
		}
		v, err := w.node(rel.n, obj, fail)
		switch {
		case err != nil:
			v = nil
		case rel.n.leaf != nil && !validRef(v):
			fail(rel.n.leaf.id, &TypeError{Field: "relations." + rel.name, Want: "a string, a list of strings, null or a search query", Got: v})
			v = nil
		}
		e.Relations[rel.name] = v
	}
	if stop() {
		// Out of time (or aborted) half-way: the entity is incomplete.
		return w.finish(out, i, elem, mi, errs, idStr, bpStr)
	}
	for _, fe := range errs {
		f := w.r.fields[fe.id]
		out.fieldErrs = append(out.fieldErrs, Misconfiguration{Item: i, Element: elem, Mapping: mi, Field: f.field, Expr: f.expr, Err: fe.err, Identifier: idStr, Blueprint: bpStr})
	}
	return e, true
}

// finish records the errors of an entity left out.
func (w *worker) finish(out *chunkOut, i, elem, mi int, errs []fieldErr, id, bp string) (Entity, bool) {
	if w.aborted {
		return Entity{}, false
	}
	w.failed++
	for _, fe := range errs {
		f := w.r.fields[fe.id]
		m := Misconfiguration{Item: i, Element: elem, Mapping: mi, Field: f.field, Expr: f.expr, Err: fe.err, Identifier: id, Blueprint: bp}
		out.mis = append(out.mis, m)
	}
	return Entity{}, false
}

func (w *worker) stringField(l *leaf, name string, obj map[string]any, fail func(int, error)) string {
	v, err := w.eval(l, obj)
	if err != nil {
		fail(l.id, err)
		return ""
	}
	switch v := v.(type) {
	case nil:
		w.nulls[l.id]++
	case string:
		return v
	default:
		// A number is kept as its text: Ocean keeps a numeric title (and
		// pydantic turns a numeric icon into its text) rather than losing
		// the entity.
		if s, ok := numberText(v); ok {
			return s
		}
		fail(l.id, &TypeError{Field: name, Want: "a string", Got: v})
	}
	return ""
}

// numberText renders a jq number as jq prints it.
func numberText(v any) (string, bool) {
	switch n := v.(type) {
	case json.Number:
		return n.String(), true
	case int:
		return strconv.Itoa(n), true
	case float64:
		if math.Abs(n) >= 1e17 {
			return strconv.FormatFloat(n, 'g', -1, 64), true
		}
		return strconv.FormatFloat(n, 'f', -1, 64), true
	case *big.Int:
		return n.String(), true
	}
	return "", false
}

// validRef reports whether v is a valid relation or team value.
func validRef(v any) bool {
	switch v := v.(type) {
	case nil, string:
		return true
	case []any:
		for _, e := range v {
			if _, ok := e.(string); !ok {
				return false
			}
		}
		return true
	case map[string]any:
		_, c := v["combinator"]
		_, r := v["rules"]
		return c && r
	}
	return false
}

// node evaluates a jq leaf or a search query. Errors are passed to fail; the
// returned error only says that one happened.
func (w *worker) node(n cnode, obj map[string]any, fail func(int, error)) (any, error) {
	if n.leaf != nil {
		v, err := w.eval(n.leaf, obj)
		if err != nil {
			fail(n.leaf.id, err)
			return nil, err
		}
		if v == nil {
			w.nulls[n.leaf.id]++
		}
		return v, nil
	}
	var failed error
	q := w.query(n.query, obj, func(id int, err error) {
		failed = err
		fail(id, err)
	})
	return q, failed
}

func (w *worker) query(q *cquery, obj map[string]any, fail func(int, error)) map[string]any {
	leafVal := func(l *leaf) any {
		v, err := w.eval(l, obj)
		if err != nil {
			fail(l.id, err)
			return nil
		}
		if v == nil {
			w.nulls[l.id]++
		}
		return v
	}
	rules := make([]any, 0, len(q.rules))
	for _, r := range q.rules {
		if r.query != nil {
			rules = append(rules, w.query(r.query, obj, fail))
			continue
		}
		rules = append(rules, map[string]any{
			"property": leafVal(r.property),
			"operator": leafVal(r.operator),
			"value":    leafVal(r.value),
		})
	}
	return map[string]any{"combinator": leafVal(q.combinator), "rules": rules}
}

// eval runs one program and classifies context errors: the caller's context
// being done aborts the batch, the watchdog's cancel is an item timeout.
func (w *worker) eval(l *leaf, v any) (any, error) {
	if w.aborted || w.timedOut {
		return nil, errAborted
	}
	w.cur = l.id
	var r any
	var err error
	if l.ext != nil {
		obj, _ := v.(map[string]any)
		r, err = l.ext(w.ctx, obj, l.text)
	} else {
		r, err = l.e.run(w.ctx, v)
	}
	if err == nil {
		return r, nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if w.parent.Err() != nil {
			w.aborted = true
			return nil, errAborted
		}
		if w.slot != nil && w.slot.expired() {
			w.timedOut = true
			return nil, fmt.Errorf("%w (budget %s)", ErrItemTimeout, w.r.opts.itemTimeout)
		}
	}
	return nil, err
}

func (w *worker) addMis(out *chunkOut, i, elem int, field, expr string, err error, id, bp string) {
	if field == "" && w.cur >= 0 {
		field, expr = w.r.fields[w.cur].field, w.r.fields[w.cur].expr
	}
	if elem < 0 {
		elem = w.curElem
	}
	out.mis = append(out.mis, Misconfiguration{Item: i, Element: elem, Mapping: w.curMap, Field: field, Expr: expr, Err: err, Identifier: id, Blueprint: bp})
}

// watchdog cancels the evaluation context of a worker whose current item has
// run longer than the budget. Workers publish their item start time in a
// slot; no per-item allocation or timer is needed.
type watchdog struct {
	budget time.Duration
	base   time.Time
	slots  []watchSlot
	quit   chan struct{}
	wg     sync.WaitGroup
}

type watchSlot struct {
	base  time.Time
	start atomic.Int64 // ns since base of the current item; 0 idle; -1 expired
	mu    sync.Mutex
	cncl  context.CancelFunc
}

func newWatchdog(budget time.Duration, n int) *watchdog {
	wd := &watchdog{budget: budget, base: time.Now(), slots: make([]watchSlot, n), quit: make(chan struct{})}
	for i := range wd.slots {
		wd.slots[i].base = wd.base
	}
	return wd
}

func (wd *watchdog) start() {
	period := min(max(wd.budget/4, time.Millisecond), time.Second)
	wd.wg.Go(func() {
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-wd.quit:
				return
			case <-t.C:
				now := int64(time.Since(wd.base))
				for i := range wd.slots {
					s := &wd.slots[i]
					st := s.start.Load()
					if st > 0 && now-st > int64(wd.budget) && s.start.CompareAndSwap(st, -1) {
						s.mu.Lock()
						if s.cncl != nil {
							s.cncl()
						}
						s.mu.Unlock()
					}
				}
			}
		}
	})
}

func (wd *watchdog) stop() {
	close(wd.quit)
	wd.wg.Wait()
}

func (s *watchSlot) setCancel(c context.CancelFunc) {
	s.mu.Lock()
	s.cncl = c
	s.mu.Unlock()
}

func (s *watchSlot) begin() int64 {
	st := int64(time.Since(s.base)) + 1
	s.start.Store(st)
	return st
}

// end reports false when the watchdog expired the item (its context is
// cancelled and must be renewed).
func (s *watchSlot) end(st int64) bool {
	if s.start.CompareAndSwap(st, 0) {
		return true
	}
	s.start.Store(0)
	return false
}

func (s *watchSlot) expired() bool { return s.start.Load() == -1 }
