package ocean

import (
	"context"
	"slices"
	"sync"

	"github.com/oceankit/oceankit/mapping"
)

// Decoding the third party's JSON is most of a resync's CPU, and most of
// each item is read by no mapping (a GitLab merge request carries its
// author, assignees, reviewers, time stats, … whole). A resync knows what
// of an item its jq programs may read (mapping.ResourceMapper.Fields: the
// keys, and of their values the keys and elements read), so a kind may
// decode only that: Fields hands it to the kind's fetch.

type fieldsKey struct{}

// kindFields is what Fields and FieldsOf answer for one resource's fetch.
type kindFields struct {
	// fields is what the mapping and the framework read; whole reports
	// that a resource of the kind may read the whole item.
	fields mapping.Fields
	whole  bool
	// wholeWanted reports that items must still be whole: the kind's raw
	// data examples, which Port's mapping editor shows, are being
	// collected.
	wholeWanted func() bool
	resync      *resyncFields
}

// resyncFields answers FieldsOf for every kind of one resync.
type resyncFields struct {
	r  *resyncRun
	mu sync.Mutex
	// started holds the resources whose fetch has started, by index: the
	// others will collect raw data examples when they start.
	started map[int]*kindRun
}

// frameworkReads are the item keys the framework itself reads: the ones
// that name an item in a mapping error report (see exampleOf).
var frameworkReads = exampleKeys[:]

// Fields returns what of each item the resync may read, for a kind that
// can decode less than whole items; ok is false when items must be whole
// (outside a resync, while raw data examples are collected, when a
// resource may read the whole item, or with OCEAN__RESYNC__DECODE_ALL_FIELDS).
// The kind adds what its own code reads (Fields.Union), projects items it
// shares with other kinds to what every one of them reads (FieldsOf), and
// asks again for each page. The Fields is shared: it must not be changed.
func Fields(ctx context.Context) (fields mapping.Fields, ok bool) {
	f, _ := ctx.Value(fieldsKey{}).(*kindFields)
	if f == nil || f.whole || f.wholeWanted() {
		return mapping.Fields{}, false
	}
	return f.fields, true
}

// FieldsOf is Fields for items a provider shares between kinds (one
// listing of groups that several kinds read, a member list two kinds
// send or nest): what the resources of the named kinds that sync in this
// resync read, and what the framework reads of their items. Kinds not in
// the resync read nothing. ok is false, and the items must be whole, when
// one of those resources may read whole items or its kind still collects
// raw data examples (a kind that has not started yet will), outside a
// resync, and with OCEAN__RESYNC__DECODE_ALL_FIELDS.
//
// Once ok, FieldsOf answers the same for the rest of the resync: a
// shared item decoded by what it said then has what every one of the kinds
// will read, however late it reads it. Ask again for each page.
func FieldsOf(ctx context.Context, kinds ...string) (fields mapping.Fields, ok bool) {
	f, _ := ctx.Value(fieldsKey{}).(*kindFields)
	if f == nil {
		return mapping.Fields{}, false
	}
	return f.resync.of(kinds)
}

func (rf *resyncFields) of(kinds []string) (mapping.Fields, bool) {
	r := rf.r
	var f mapping.Fields
	read := false
	for _, rm := range r.mapper.Resources() {
		if !slices.Contains(kinds, rm.Kind()) || r.mapper.resyncErr(rm.Index()) != nil {
			continue // a resource that does not sync reads nothing
		}
		rmf := rm.Fields()
		if rmf.All {
			return mapping.Fields{}, false
		}
		rf.mu.Lock()
		k := rf.started[rm.Index()]
		rf.mu.Unlock()
		if k == nil && r.examplesWanted() || k != nil && r.collectingExamples(k) {
			return mapping.Fields{}, false
		}
		f = f.Union(rmf)
		read = true
	}
	if read {
		f = f.Union(mapping.KeyFields(frameworkReads...))
	}
	return f, true
}

// withFields makes Fields answer for k's fetch: the union of what the
// resources of k's kind that sync in this resync read, and what the
// framework reads; and FieldsOf for every kind of the resync.
func (r *resyncRun) withFields(ctx context.Context, k *kindRun) context.Context {
	if r.cfg.DecodeAllFields {
		return ctx
	}
	v, _ := r.memo.Do(ctx, "ocean:fields", func() (any, error) {
		return &resyncFields{r: r, started: map[int]*kindRun{}}, nil
	}, func(error) bool { return true })
	rf, _ := v.(*resyncFields)
	if rf == nil {
		return ctx // the resync ended before the fetch began
	}
	rf.mu.Lock()
	rf.started[k.rm.Index()] = k
	rf.mu.Unlock()
	var f mapping.Fields
	for _, rm := range r.mapper.Resources() {
		if rm.Kind() != k.rm.Kind() || r.mapper.resyncErr(rm.Index()) != nil {
			continue // a resource that does not sync fetches nothing
		}
		f = f.Union(rm.Fields())
	}
	kf := &kindFields{whole: f.All, wholeWanted: func() bool { return r.collectingExamples(k) }, resync: rf}
	if !f.All {
		kf.fields = f.Union(mapping.KeyFields(frameworkReads...))
	}
	return context.WithValue(ctx, fieldsKey{}, kf)
}

// examplesWanted reports whether the resync's kinds take raw data
// examples.
func (r *resyncRun) examplesWanted() bool {
	return r.examplesOn && r.catalog != nil && !r.quiet
}

// collectingExamples reports whether k still takes raw data examples: the
// items fetched now may be among them.
func (r *resyncRun) collectingExamples(k *kindRun) bool {
	if !r.examplesWanted() {
		return false
	}
	k.exMu.Lock()
	defer k.exMu.Unlock()
	return len(k.examples) < numExamples
}
