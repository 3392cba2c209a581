package ocean

import (
	"context"
	"encoding/json"
	"io"
	"sync"

	"github.com/oceankit/oceankit/ocean/report"
	"github.com/oceankit/oceankit/port"
)

// entityWriter is where a resync's writes go: Port, or a dry run's output.
type entityWriter interface {
	upsert(ctx context.Context, blueprint string, ents []port.Entity, opts port.UpsertOptions) ([]writeResult, error)
	delete(ctx context.Context, blueprint string, ids []string, opts port.DeleteOptions) (int, error)
}

type writeResult struct {
	Err     error
	Skipped bool
}

// portWriter writes to Port.
type portWriter struct {
	c *port.Client
}

func (w portWriter) upsert(ctx context.Context, bp string, ents []port.Entity, opts port.UpsertOptions) ([]writeResult, error) {
	res, err := w.c.BulkUpsert(ctx, bp, ents, opts)
	if err != nil {
		return nil, err
	}
	out := make([]writeResult, len(res))
	for i, r := range res {
		out[i] = writeResult{Err: r.Err}
	}
	return out, nil
}

// delete bulk-deletes, and falls back to one request per entity when Port
// rejects the bulk (without delete_dependents a single entity with
// dependents fails the whole request).
func (w portWriter) delete(ctx context.Context, bp string, ids []string, opts port.DeleteOptions) (int, error) {
	deleted, err := w.c.BulkDelete(ctx, bp, ids, opts)
	if err == nil {
		return len(deleted), nil
	}
	if ctx.Err() != nil {
		return len(deleted), err
	}
	done := map[string]bool{}
	for _, id := range deleted {
		done[id] = true
	}
	n := len(deleted)
	var lastErr error
	for _, id := range ids {
		if done[id] {
			continue
		}
		if err := w.c.DeleteEntity(ctx, bp, id, opts); err != nil {
			lastErr = err
			continue
		}
		n++
	}
	return n, lastErr
}

// dryRunWriter writes JSON lines instead of calling Port.
type dryRunWriter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func newDryRunWriter(w io.Writer) *dryRunWriter {
	return &dryRunWriter{enc: json.NewEncoder(w)}
}

func (d *dryRunWriter) upsert(_ context.Context, _ string, ents []port.Entity, _ port.UpsertOptions) ([]writeResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]writeResult, len(ents))
	for i := range ents {
		if err := d.enc.Encode(report.DryRunRecord{Op: "upsert", Entity: &ents[i]}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (d *dryRunWriter) delete(_ context.Context, bp string, ids []string, _ port.DeleteOptions) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, id := range ids {
		if err := d.enc.Encode(report.DryRunRecord{Op: "delete", Blueprint: bp, Identifier: id}); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}
