package ocean

import (
	"context"
)

// numExamples is how many raw items per kind go to Port (Ocean: 5).
const numExamples = 5

// keepExamples keeps a kind's first raw items and reports whether they
// are now complete and ready to send, which happens once per kind: they
// go while the kind is still fetching, not after it.
func (r *resyncRun) keepExamples(k *kindRun, items []Item) bool {
	if !r.examplesOn {
		return false
	}
	k.exMu.Lock()
	defer k.exMu.Unlock()
	if len(k.examples) >= numExamples {
		return false
	}
	for _, it := range items {
		if len(k.examples) >= numExamples {
			break
		}
		// Sized before anything is encoded: an item too large for what is
		// left of Port's request limit is passed over for a later one.
		left := examplesBudget - k.exBytes
		n := jsonSize(it, left)
		if n > left {
			k.exSkipped++
			continue
		}
		k.exBytes += n + 1
		k.examples = append(k.examples, it)
	}
	if len(k.examples) < numExamples || k.exSending {
		return false
	}
	k.exSending = true
	return true
}

// takeExamples reports whether a finished kind still has examples to send
// (it had fewer items than numExamples).
func (r *resyncRun) takeExamples(k *kindRun) bool {
	k.exMu.Lock()
	defer k.exMu.Unlock()
	if k.exSending || len(k.examples) == 0 {
		return false
	}
	k.exSending = true
	return true
}

// sendExamples posts a kind's raw examples to Port on every resync, as
// Ocean does: Port's mapping editor shows them, and they should be current.
func (r *resyncRun) sendExamples(ctx context.Context, k *kindRun) {
	k.exMu.Lock()
	ex := k.examples
	k.exMu.Unlock()
	if len(ex) == 0 || r.catalog == nil || r.quiet {
		return
	}
	k.exMu.Lock()
	if k.exSkipped > 0 {
		r.log.Info("raw data examples: items too large for Port's request limit were passed over",
			"kind", k.rm.Kind(), "count", k.exSkipped, "limit_bytes", examplesBudget)
	}
	k.exMu.Unlock()
	examples := make([]any, len(ex))
	for i, e := range ex {
		examples[i] = e
	}
	if err := r.catalog.PostKindExamples(ctx, r.integrationID, k.rm.Kind(), examples); err != nil {
		r.log.Warn("could not send raw data examples", "kind", k.rm.Kind(), "error", err)
	}
}
