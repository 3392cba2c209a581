package ocean

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"
)

// scheduler runs resyncs one at a time. A request that says the running
// resync is stale (a changed config, an explicit request from Port) cancels
// it, as Ocean does; any other request (a timer) waits for it. Requests that
// arrive while one is pending collapse into it, so a burst of triggers runs
// one more resync, not many, and a steady trigger rate cannot keep a resync
// from ever finishing.
type scheduler struct {
	app  *App
	reqs chan resyncRequest

	mu   sync.Mutex
	last *ResyncReport
	// done is signalled after every resync, for tests and callers waiting
	// on an outcome.
	done chan *ResyncReport
}

type resyncRequest struct {
	reason string
	cancel bool
}

func newScheduler(a *App) *scheduler {
	return &scheduler{app: a, reqs: make(chan resyncRequest, 16), done: make(chan *ResyncReport, 16)}
}

func (s *scheduler) trigger(reason string, cancelRunning bool) {
	select {
	case s.reqs <- resyncRequest{reason: reason, cancel: cancelRunning}:
	default:
		// The buffer is full of requests that will collapse into one
		// resync anyway; this one adds nothing.
	}
}

func (s *scheduler) run(ctx context.Context) {
	var (
		running  bool
		cancelFn context.CancelFunc
		finished = make(chan *ResyncReport, 1)
		pending  *resyncRequest
	)
	start := func(r resyncRequest) {
		rctx, cancel := context.WithCancel(ctx)
		cancelFn, running = cancel, true
		go func() {
			// A request that says the catalog is stale (a mapping change,
			// a resync asked for in Port) gets a full resync; timers get
			// an incremental one when incremental sync is on and allows.
			incremental := !r.cancel && s.app.wantIncremental(rctx)
			rep, _ := s.app.Resync(rctx, ResyncOptions{Trigger: r.reason, Incremental: incremental})
			cancel()
			finished <- rep
		}()
	}
	for {
		select {
		case <-ctx.Done():
			if running {
				cancelFn()
				<-finished
			}
			return
		case r := <-s.reqs:
			if !running {
				start(r)
				continue
			}
			if r.cancel {
				s.app.log.Info("a newer resync request aborts the running resync", "reason", r.reason)
				cancelFn()
			}
			if pending == nil || r.cancel {
				pending = &r
			}
		case rep := <-finished:
			running = false
			s.mu.Lock()
			s.last = rep
			s.mu.Unlock()
			select {
			case s.done <- rep:
			default:
			}
			if pending != nil {
				r := *pending
				pending = nil
				start(r)
			}
		}
	}
}

// LastResync returns the report of the last finished resync run by the
// App's scheduler, or nil.
func (a *App) LastResync() *ResyncReport {
	a.sched.mu.Lock()
	defer a.sched.mu.Unlock()
	return a.sched.last
}

// ResyncDone delivers the report of every resync the scheduler finishes
// (dropping reports nobody reads).
func (a *App) ResyncDone() <-chan *ResyncReport { return a.sched.done }

// poll is the POLLING listener: resync at start, then every interval ask
// Port whether a resync was requested or the integration's config changed.
func (a *App) poll(ctx context.Context) {
	var (
		watermark time.Time
		cfgHash   [32]byte
	)
	if req, err := a.port.GetResyncRequest(ctx, a.cfg.Integration.Identifier); err == nil && req != nil {
		watermark = req.UpdatedAt
	}
	if integ, err := a.port.GetIntegration(ctx, a.cfg.Integration.Identifier); err == nil {
		cfgHash = sha256.Sum256(integ.Config)
	}
	if a.cfg.EventListener.ResyncOnStart {
		a.TriggerResync("start", false)
	}
	t := a.clock.NewTicker(time.Duration(a.cfg.EventListener.Interval) * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		req, err := a.port.GetResyncRequest(ctx, a.cfg.Integration.Identifier)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("polling: could not read resync request", "error", err)
			}
		} else if req != nil && req.UpdatedAt.After(watermark) {
			watermark = req.UpdatedAt
			a.TriggerResync("resync requested in Port", true)
			continue
		}
		if a.staticConfig != nil {
			continue
		}
		integ, err := a.port.GetIntegration(ctx, a.cfg.Integration.Identifier)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("polling: could not read integration", "error", err)
			}
			continue
		}
		if h := sha256.Sum256(integ.Config); h != cfgHash {
			cfgHash = h
			a.pacMu.Lock()
			a.pacCache = nil
			a.pacMu.Unlock()
			a.TriggerResync("port app config changed", true)
		}
	}
}

// scheduled triggers a resync every OCEAN__SCHEDULED_RESYNC_INTERVAL
// minutes. It never aborts a running resync: it waits for it.
func (a *App) scheduled(ctx context.Context) {
	a.every(ctx, time.Duration(a.cfg.ScheduledResyncInterval)*time.Minute, "scheduled")
}

// every triggers a resync that waits for a running one, each period.
func (a *App) every(ctx context.Context, period time.Duration, reason string) {
	t := a.clock.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			a.TriggerResync(reason, false)
		}
	}
}

// incrementalTimer triggers a resync every
// OCEAN__INTEGRATION__INCREMENTAL_SYNC_INTERVAL; the scheduler makes it
// incremental, or full when a full one is due.
func (a *App) incrementalTimer(ctx context.Context) {
	period, err := a.cfg.IncrementalInterval()
	if err != nil || period <= 0 {
		return
	}
	a.every(ctx, period, "incremental schedule")
}
