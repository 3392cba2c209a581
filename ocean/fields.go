package ocean

import (
	"context"

	"github.com/oceankit/oceankit/mapping"
)

// Decoding the third party's JSON is most of a resync's CPU, and most of
// each item is read by no mapping (a GitLab merge request carries its
// author, assignees, reviewers, time stats, … whole). A resync knows what
// of an item its jq programs may read (mapping.ResourceMapper.Fields: the
// keys, and of their values the keys and elements read), so a kind may
// decode only that: Fields hands it to the kind's fetch.

type fieldsKey struct{}

// kindFields is what Fields answers for one resource's fetch.
type kindFields struct {
	// fields is what the mapping and the framework read.
	fields mapping.Fields
	// wholeWanted reports that items must still be whole: the kind's raw
	// data examples, which Port's mapping editor shows, are being
	// collected.
	wholeWanted func() bool
}

// frameworkReads are the item keys the framework itself reads: the ones
// that name an item in a mapping error report (see exampleOf).
var frameworkReads = exampleKeys[:]

// Fields returns what of each item the resync may read, for a kind that
// can decode less than whole items; ok is false when items must be whole
// (outside a resync, while raw data examples are collected, when a
// resource may read the whole item, or with OCEAN__RESYNC__DECODE_ALL_FIELDS).
// The kind adds what its own code reads (Fields.Union), keeps items it
// shares with other kinds whole or projects them to what every one of
// those kinds reads (FieldsOf), and asks again for each page. The Fields
// is shared: it must not be changed.
func Fields(ctx context.Context) (fields mapping.Fields, ok bool) {
	f, _ := ctx.Value(fieldsKey{}).(*kindFields)
	if f == nil || f.wholeWanted() {
		return mapping.Fields{}, false
	}
	return f.fields, true
}

// withFields makes Fields answer for k's fetch: the union of what the
// resources of k's kind that sync in this resync read, and what the
// framework reads.
func (r *resyncRun) withFields(ctx context.Context, k *kindRun) context.Context {
	if r.cfg.DecodeAllFields {
		return ctx
	}
	var f mapping.Fields
	for _, rm := range r.mapper.Resources() {
		if rm.Kind() != k.rm.Kind() || r.mapper.resyncErr(rm.Index()) != nil {
			continue // a resource that does not sync fetches nothing
		}
		f = f.Union(rm.Fields())
	}
	if f.All {
		return ctx
	}
	f = f.Union(mapping.KeyFields(frameworkReads...))
	kf := &kindFields{fields: f, wholeWanted: func() bool { return r.collectingExamples(k) }}
	return context.WithValue(ctx, fieldsKey{}, kf)
}

// collectingExamples reports whether k still takes raw data examples: the
// items fetched now may be among them.
func (r *resyncRun) collectingExamples(k *kindRun) bool {
	if !r.examplesOn || r.catalog == nil || r.quiet {
		return false
	}
	k.exMu.Lock()
	defer k.exMu.Unlock()
	return len(k.examples) < numExamples
}
