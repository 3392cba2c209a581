package ocean

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/oceankit/oceankit/ocean/report"
)

// scheduler runs resyncs one at a time. A request that says the running
// resync is stale (a changed config, an explicit request from Port) cancels
// it, as Ocean does; any other request (a timer, POST /resync) waits for it.
// Requests that arrive while one is pending collapse into it, so a burst of
// triggers runs one more resync, not many, and a steady trigger rate cannot
// keep a resync from ever finishing.
type scheduler struct {
	app *App
	// wake tells run that queued holds a request; requests are merged into
	// queued, never dropped, so a full resync asked for in a burst of
	// timer ticks is not lost.
	wake chan struct{}

	qmu    sync.Mutex
	queued *resyncRequest

	mu   sync.Mutex
	last *report.Resync
	// done is signalled after every resync, for tests and callers waiting
	// on an outcome.
	done chan *report.Resync
}

// resyncRequest is one ask for a resync.
type resyncRequest struct {
	reason string
	// cancel aborts the running resync: the config it runs with is stale.
	cancel bool
	// full asks for a full resync even when an incremental one would do
	// (the caller says the catalog may be stale).
	full bool
	// waiters are closed once a resync that started after the request
	// ended without being aborted (see RequestResync).
	waiters []chan struct{}
}

// merge folds a later request into r: the result cancels or is full if
// either does, and keeps the reason of the request that cancels, else the
// earlier one's.
func (r resyncRequest) merge(later resyncRequest) resyncRequest {
	if later.cancel && !r.cancel {
		r.reason = later.reason
	}
	r.cancel = r.cancel || later.cancel
	r.full = r.full || later.full
	r.waiters = append(r.waiters[:len(r.waiters):len(r.waiters)], later.waiters...)
	return r
}

func newScheduler(a *App) *scheduler {
	return &scheduler{app: a, wake: make(chan struct{}, 1), done: make(chan *report.Resync, 16)}
}

// trigger is Trigger's request: a cancelling request is also a full one.
func (s *scheduler) trigger(reason string, cancelRunning bool) {
	s.request(resyncRequest{reason: reason, cancel: cancelRunning, full: cancelRunning})
}

// RequestResync asks for a resync as TriggerResync does and returns a
// channel closed once a resync that started after the request has ended
// (a Kafka listener commits its offset then). A resync aborted by a newer
// request passes the wait on; one aborted because the program stops never
// closes it.
func (a *App) RequestResync(reason string, cancelRunning bool) <-chan struct{} {
	ch := make(chan struct{})
	a.sched.request(resyncRequest{reason: reason, cancel: cancelRunning, full: cancelRunning, waiters: []chan struct{}{ch}})
	return ch
}

// ResyncRequester is implemented by the App's Trigger (see
// App.RequestResync): listeners that can acknowledge a request late use it
// to acknowledge only what a resync has acted on.
type ResyncRequester interface {
	RequestResync(reason string, cancelRunning bool) <-chan struct{}
}

// request hands r to run, merged with any request run has not taken yet.
func (s *scheduler) request(r resyncRequest) {
	s.qmu.Lock()
	if s.queued == nil {
		s.queued = &r
	} else {
		m := s.queued.merge(r)
		s.queued = &m
	}
	s.qmu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default: // run is already woken and will take the merged request
	}
}

// take returns the merged requests made since the last take.
func (s *scheduler) take() (resyncRequest, bool) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if s.queued == nil {
		return resyncRequest{}, false
	}
	r := *s.queued
	s.queued = nil
	return r, true
}

func (s *scheduler) run(ctx context.Context) {
	var (
		running  bool
		cancelFn context.CancelFunc
		finished = make(chan *report.Resync, 1)
		pending  *resyncRequest
		// waiting are the waiters of the running resync's requests.
		waiting []chan struct{}
	)
	start := func(r resyncRequest) {
		rctx, cancel := context.WithCancel(ctx)
		cancelFn, running, waiting = cancel, true, r.waiters
		go func() {
			// A request that says the catalog is stale (a mapping change,
			// a resync asked for in Port or on /resync) gets a full
			// resync; timers get an incremental one when incremental sync
			// is on and allows.
			incremental := !r.full && !r.cancel && s.app.wantIncremental(rctx)
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
		case <-s.wake:
			r, ok := s.take()
			if !ok {
				continue
			}
			if !running {
				start(r)
				continue
			}
			if r.cancel {
				s.app.log.Info("a newer resync request aborts the running resync", "reason", r.reason)
				cancelFn()
			}
			if pending == nil {
				pending = &r
			} else {
				m := pending.merge(r)
				pending = &m
			}
		case rep := <-finished:
			running = false
			if rep != nil && rep.Status == report.StateAborted {
				if ctx.Err() == nil && len(waiting) > 0 {
					// Aborted for a newer request: the next resync answers
					// these requests too.
					w := resyncRequest{waiters: waiting}
					if pending == nil {
						pending = &resyncRequest{reason: "aborted resync", full: true}
					}
					m := pending.merge(w)
					pending = &m
				}
			} else {
				for _, w := range waiting {
					close(w)
				}
			}
			waiting = nil
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
