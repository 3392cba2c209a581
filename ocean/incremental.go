package ocean

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/oceankit/oceankit/mapping"
	"github.com/oceankit/oceankit/port"
)

// Incremental resyncs fetch, for the kinds that can list changes since a
// time, only what changed since the kind's last successful sync; other
// kinds are fetched in full. They upsert and never delete: a deleted item
// does not show up in "changed since", so deletions wait for the next full
// resync, which runs when OCEAN__INTEGRATION__FULL_RESYNC_INTERVAL has
// passed since the last one (and on a mapping change or a resync requested
// in Port).
//
// Watermarks are kept per resource (kind, position and a hash of the
// resource's config, so that editing a resource's mapping makes its next
// sync a full one) in Port's incremental-sync cursors — the same store
// Ocean uses, so they survive restarts and replicas — or in a file.

type sinceKey struct{}

// Since returns the time an incremental resync fetches changes from, when
// the kind runs incrementally. Kinds wrapped with Incremental read it in
// their list function and add their API's filter (GitLab's updated_after).
func Since(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(sinceKey{}).(time.Time)
	return t, ok
}

func withSince(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, sinceKey{}, t)
}

// incrementalKind marks a kind whose list function honours Since.
type incrementalKind struct{ Kind }

func (incrementalKind) supportsSince() bool { return true }

// Incremental marks k as able to list only what changed since a time: its
// list function reads Since(ctx) and filters with it when set.
func Incremental(k Kind) Kind { return incrementalKind{k} }

func supportsSince(k Kind) bool {
	s, ok := k.(interface{ supportsSince() bool })
	return ok && s.supportsSince()
}

// stateStore keeps incremental-sync watermarks.
type stateStore interface {
	watermark(ctx context.Context, key resourceKey) (time.Time, bool, error)
	setWatermark(ctx context.Context, key resourceKey, t time.Time) error
	lastFull(ctx context.Context) (time.Time, bool, error)
	setLastFull(ctx context.Context, t time.Time) error
}

// resourceKey names a resource's watermark.
type resourceKey struct {
	kind  string
	index int
	hash  string
}

func keyOf(res *mapping.Resource, index int) resourceKey {
	b, _ := json.Marshal(res)
	sum := sha256.Sum256(b)
	return resourceKey{kind: res.Kind, index: index, hash: hex.EncodeToString(sum[:4])}
}

const fullResyncCursor = "__oceankit_full_resync__"

// portStore keeps watermarks in Port's incremental-sync cursors.
type portStore struct {
	c  *port.Client
	id string
}

func (s portStore) get(ctx context.Context, kind string, index int) (time.Time, bool, error) {
	cur, err := s.c.GetCursor(ctx, s.id, kind, index)
	if err != nil || cur == nil {
		return time.Time{}, false, err
	}
	t, err := time.Parse(time.RFC3339Nano, cur.Primary)
	if err != nil {
		return time.Time{}, false, nil // not ours, or corrupt: sync in full
	}
	return t, true, nil
}

func (s portStore) watermark(ctx context.Context, k resourceKey) (time.Time, bool, error) {
	return s.get(ctx, k.kind+"@"+k.hash, k.index)
}

func (s portStore) setWatermark(ctx context.Context, k resourceKey, t time.Time) error {
	return s.c.SetCursor(ctx, s.id, k.kind+"@"+k.hash, k.index, port.Cursor{Primary: t.UTC().Format(time.RFC3339Nano)})
}

func (s portStore) lastFull(ctx context.Context) (time.Time, bool, error) {
	return s.get(ctx, fullResyncCursor, 0)
}

func (s portStore) setLastFull(ctx context.Context, t time.Time) error {
	return s.c.SetCursor(ctx, s.id, fullResyncCursor, 0, port.Cursor{Primary: t.UTC().Format(time.RFC3339Nano)})
}

// fileStore keeps watermarks in a JSON file (OCEAN__INTEGRATION__INCREMENTAL_STATE_FILE).
type fileStore struct {
	path string
	mu   sync.Mutex
}

type fileState struct {
	LastFull   *time.Time           `json:"lastFullResync,omitempty"`
	Watermarks map[string]time.Time `json:"watermarks"`
}

func (k resourceKey) String() string { return k.kind + "@" + k.hash + "#" + strconv.Itoa(k.index) }

func (s *fileStore) load() (*fileState, error) {
	st := &fileState{Watermarks: map[string]time.Time{}}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ocean: read incremental state %s: %w", s.path, err)
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("ocean: incremental state %s: %w", s.path, err)
	}
	if st.Watermarks == nil {
		st.Watermarks = map[string]time.Time{}
	}
	return st, nil
}

// save writes atomically, so a crash never leaves a half-written file.
func (s *fileStore) save(st *fileState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".ocean-state-*")
	if err != nil {
		return fmt.Errorf("ocean: write incremental state: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("ocean: write incremental state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("ocean: write incremental state: %w", err)
	}
	return os.Rename(tmp.Name(), s.path)
}

func (s *fileStore) watermark(_ context.Context, k resourceKey) (time.Time, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.load()
	if err != nil {
		return time.Time{}, false, err
	}
	t, ok := st.Watermarks[k.String()]
	return t, ok, nil
}

func (s *fileStore) setWatermark(_ context.Context, k resourceKey, t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.load()
	if err != nil {
		return err
	}
	st.Watermarks[k.String()] = t.UTC()
	return s.save(st)
}

func (s *fileStore) lastFull(_ context.Context) (time.Time, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.load()
	if err != nil || st.LastFull == nil {
		return time.Time{}, false, err
	}
	return *st.LastFull, true, nil
}

func (s *fileStore) setLastFull(_ context.Context, t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.load()
	if err != nil {
		return err
	}
	u := t.UTC()
	st.LastFull = &u
	return s.save(st)
}

func (a *App) stateStore() stateStore {
	if p := a.cfg.Integration.IncrementalStateFile; p != "" {
		return a.files
	}
	if a.port == nil {
		return nil
	}
	return portStore{c: a.port, id: a.cfg.Integration.Identifier}
}

// onceIncremental says whether a ONCE run is incremental: always when
// incremental sync is on, as Ocean's ONCE listener then always runs
// sync_incremental. Port's chart runs such a job every 15 minutes in a
// small pod beside the workload that runs the full resyncs; a full resync
// (and its deletions) inside it is not what it is sized or scheduled for.
// Resources without a watermark (no full resync recorded one yet, or
// their mapping changed since) are fetched in full, and still nothing is
// deleted.
func (a *App) onceIncremental() bool {
	return a.cfg.Integration.IncrementalSyncEnabled
}

// wantIncremental decides whether a resync that nothing forces to be full
// can be incremental: incremental sync is on, a full resync completed
// before, and the full-resync interval has not passed since.
func (a *App) wantIncremental(ctx context.Context) bool {
	if !a.cfg.Integration.IncrementalSyncEnabled {
		return false
	}
	st := a.stateStore()
	if st == nil {
		return false
	}
	last, ok, err := st.lastFull(ctx)
	if err != nil {
		a.log.Warn("could not read the last full resync time; running a full resync", "error", err)
		return false
	}
	if !ok {
		return false
	}
	every := time.Duration(a.cfg.Integration.FullResyncInterval) * time.Minute
	return every <= 0 || a.clock.Now().Sub(last) < every
}

// recordWatermarks stores, after a resync, the start time as the watermark
// of every resource that completed, and of the whole resync when it was a
// complete full one. A full resync records them even when incremental sync
// is off in this process: under Port's Helm chart the full resyncs run in
// one workload (the Deployment or the resync CronJob, without
// OCEAN__INTEGRATION__INCREMENTAL_SYNC_ENABLED) and the incremental
// CronJob, which never runs a full one, starts from what they recorded.
func (r *resyncRun) recordWatermarks(ctx context.Context, kinds []*kindRun, failed bool) {
	if r.quiet || r.plan != nil {
		return
	}
	st := r.state
	if st == nil {
		return
	}
	for _, k := range kinds {
		if !k.report.Complete {
			continue
		}
		if err := st.setWatermark(ctx, keyOf(k.rm.Resource(), k.rm.Index()), r.report.Start); err != nil {
			r.log.Warn("could not store the incremental watermark", "kind", k.rm.Kind(), "error", err)
		}
	}
	if !r.incremental && !failed {
		if err := st.setLastFull(ctx, r.report.Start); err != nil {
			r.log.Warn("could not store the full resync time", "error", err)
		}
	}
}

// sinceFor returns the time a kind fetches changes from in an incremental
// resync, or false to fetch it in full.
func (r *resyncRun) sinceFor(ctx context.Context, kind Kind, k *kindRun) (time.Time, bool) {
	if !r.incremental || !supportsSince(kind) {
		return time.Time{}, false
	}
	st := r.state
	if st == nil {
		return time.Time{}, false
	}
	wm, ok, err := st.watermark(ctx, keyOf(k.rm.Resource(), k.rm.Index()))
	if err != nil {
		r.log.Warn("could not read the incremental watermark; fetching the kind in full", "kind", k.rm.Kind(), "error", err)
		return time.Time{}, false
	}
	if !ok {
		r.log.Info("no incremental watermark for this resource yet (no full resync recorded one, or its mapping changed): fetching it in full, deleting nothing", "kind", k.rm.Kind())
		return time.Time{}, false
	}
	// Clocks drift and GitLab's updated_at is set when a write starts:
	// overlap the windows so nothing falls between two runs.
	return wm.Add(-r.incrementalOverlap), true
}
