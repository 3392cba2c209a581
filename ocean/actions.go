package ocean

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/oceankit/oceankit/ocean/actions"
	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port"
)

func runFromPort(r *port.ActionRun) *actions.Run {
	in := r.Payload.IntegrationActionExecutionProperties
	if in == nil {
		in = map[string]any{}
	}
	return &actions.Run{ID: r.ID, Action: r.Action.Identifier, Type: r.Payload.IntegrationActionType,
		Status: r.Status, Inputs: in, ExternalRunID: r.ExternalRunID}
}

// RunEventProcessor is a live-event Processor whose events complete action
// runs instead of changing the catalog (Ocean's ACTION-type processors,
// such as gitlab-v2's pipeline-completion processor). The framework calls
// HandleRunEvent once per event instead of Handle per mapped resource; its
// Kinds and Handle are not used. Errors are retried like Handle's.
type RunEventProcessor interface {
	Processor
	HandleRunEvent(ctx context.Context, ev *Event, runs actions.Runs) error
}

// maxRateLimitWait caps one wait before a rate-limited run, as Ocean does,
// so that the run's log shows it is still alive.
const maxRateLimitWait = 10 * time.Second

// rememberedRuns bounds the IDs of finished runs kept to skip a run Port
// hands out again after it ran.
const rememberedRuns = 4096

// actionRunner is the actions processor: it claims runs, queues them in a
// bounded buffer and executes them on a fixed number of workers.
type actionRunner struct {
	app   *App
	log   *slog.Logger
	execs map[string]actions.Executor
	names []string

	mu         sync.Mutex
	cond       *sync.Cond
	queue      []*queuedRun
	perAction  map[string]int // queued or running, by action
	running    map[string]int // running, by action
	buffered   int
	seen       map[string]bool // queued or running
	finished   map[string]bool
	finishedQ  []string
	closed     bool
	space      chan struct{}
	followCtx  context.Context
	followWait sync.WaitGroup
}

type queuedRun struct {
	run  *actions.Run
	exec actions.Executor
}

func newActionRunner(a *App) (*actionRunner, error) {
	r := &actionRunner{
		app: a, log: a.log.With("component", "actions"), execs: map[string]actions.Executor{},
		perAction: map[string]int{}, running: map[string]int{}, seen: map[string]bool{},
		finished: map[string]bool{}, space: make(chan struct{}, 1), followCtx: context.Background(),
	}
	r.cond = sync.NewCond(&r.mu)
	for _, ex := range a.provider.Actions {
		if ex == nil {
			return nil, errors.New("ocean: provider has a nil action executor")
		}
		name := ex.Action()
		if name == "" {
			return nil, errors.New("ocean: an action executor has no Action name")
		}
		if _, dup := r.execs[name]; dup {
			return nil, fmt.Errorf("ocean: two executors for action %q", name)
		}
		r.execs[name] = ex
		r.names = append(r.names, name)
	}
	slices.Sort(r.names)
	return r, nil
}

// startActions binds the actions processor to Run's context and, when the
// listener runs actions, starts it.
func (a *App) startActions(ctx context.Context, typ string) (func(context.Context) error, error) {
	r := a.actions
	r.mu.Lock()
	r.followCtx = ctx
	r.mu.Unlock()
	poll := typ == settings.ListenerActionsOnly || (a.cfg.ActionsProcessor.Enabled && typ != settings.ListenerWebhooksOnly && typ != settings.ListenerOnce)
	if poll && (a.port == nil || a.dryRun) {
		if typ == settings.ListenerActionsOnly {
			return nil, &settings.ConfigError{Name: "OCEAN__EVENT_LISTENER__TYPE", Reason: "ACTIONS_ONLY needs Port credentials and no dry run"}
		}
		a.log.Warn("actions processor is off: it needs Port credentials and no dry run")
		poll = false
	}
	if poll && len(r.execs) == 0 {
		a.log.Warn("actions processor runs, but the provider registers no action executor: every run is failed")
	}
	return func(ctx context.Context) error {
		if poll {
			r.run(ctx)
		} else {
			<-ctx.Done()
		}
		r.followWait.Wait()
		return nil
	}, nil
}

func (r *actionRunner) pollInterval() time.Duration {
	if r.app.actionPoll > 0 {
		return r.app.actionPoll
	}
	return time.Duration(r.app.cfg.ActionsProcessor.PollCheckIntervalSeconds) * time.Second
}

func (r *actionRunner) perActionLimit() int {
	c := r.app.cfg.ActionsProcessor
	return max(1, c.RunsBufferHighWatermark*c.MaxRunsBufferUtilPctPerAction/100)
}

// run claims and executes runs until ctx is done, then lets the runs in
// progress finish for at most MaxWaitSecondsBeforeShutdown.
func (r *actionRunner) run(ctx context.Context) {
	a := r.app
	r.ensureEnabled(ctx)
	r.log.Info("actions processor started", "actions", r.names, "workers", a.cfg.ActionsProcessor.WorkersCount,
		"poll_interval", r.pollInterval())
	drainCtx, cancelDrain := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelDrain()
	var workers sync.WaitGroup
	for range max(1, a.cfg.ActionsProcessor.WorkersCount) {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for {
				q, ok := r.next()
				if !ok {
					return
				}
				r.execute(drainCtx, q)
				r.done(q)
			}
		}()
	}
	r.poll(ctx)

	r.mu.Lock()
	r.closed = true
	dropped := len(r.queue)
	r.cond.Broadcast()
	r.mu.Unlock()
	if dropped > 0 {
		r.log.Info("claimed runs not started before shutdown are handed out again after their visibility timeout", "count", dropped)
	}
	finished := make(chan struct{})
	go func() { workers.Wait(); close(finished) }()
	t := time.NewTimer(time.Duration(a.cfg.MaxWaitSecondsBeforeShutdown * float64(time.Second)))
	defer t.Stop()
	select {
	case <-finished:
	case <-t.C:
		r.log.Warn("runs still executing at shutdown are cancelled")
		cancelDrain()
		<-finished
	}
}

// ensureEnabled turns on actionsProcessingEnabled on the integration, which
// Port needs to hand it runs, as Ocean does at start-up.
func (r *actionRunner) ensureEnabled(ctx context.Context) {
	id := r.app.cfg.Integration.Identifier
	integ, err := r.app.port.GetIntegration(ctx, id)
	if err != nil {
		if !port.IsNotFound(err) && ctx.Err() == nil {
			r.log.Warn("could not read the integration to check actionsProcessingEnabled", "error", err)
		}
		return
	}
	if integ.ActionsProcessingEnabled {
		return
	}
	if _, err := r.app.port.PatchIntegration(ctx, id, map[string]any{"actionsProcessingEnabled": true}); err != nil {
		r.log.Warn("could not set actionsProcessingEnabled on the integration", "error", err)
	}
}

func (r *actionRunner) poll(ctx context.Context) {
	for {
		n, err := r.claim(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			msg := "could not claim action runs"
			if port.IsForbidden(err) || port.IsUnauthorized(err) {
				msg += " (claiming runs needs organization machine credentials, not a personal token, and an organization allowed to run integration actions)"
			}
			r.log.Warn(msg, "error", err)
		}
		if n > 0 {
			continue // more may be pending
		}
		// The App's clock paces the polls, so a test with a fake clock
		// decides when the next claim happens.
		t := r.app.clock.NewTicker(r.pollInterval())
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		case <-r.space:
		}
		t.Stop()
	}
}

// claim asks Port for as many runs as the buffer has room for and queues
// the new ones. It returns how many runs it queued or rejected.
func (r *actionRunner) claim(ctx context.Context) (int, error) {
	cfg := r.app.cfg.ActionsProcessor
	r.mu.Lock()
	room := cfg.RunsBufferHighWatermark - r.buffered
	var exclude []string
	limit := r.perActionLimit()
	for action, n := range r.perAction {
		if n >= limit {
			exclude = append(exclude, action)
		}
	}
	r.mu.Unlock()
	if room <= 0 {
		return 0, nil
	}
	slices.Sort(exclude)
	runs, err := r.app.port.ClaimPendingRuns(ctx, port.ClaimRunsRequest{InstallationID: r.app.cfg.Integration.Identifier,
		Limit: room, VisibilityTimeoutMs: cfg.VisibilityTimeoutMs, Exclude: exclude})
	if err != nil {
		return 0, err
	}
	n := 0
	for i := range runs {
		run := runFromPort(&runs[i])
		ex, ok := r.execs[run.Type]
		if !r.admit(run, ex, ok) {
			continue
		}
		n++
		if !ok {
			r.reject(ctx, run)
		}
	}
	return n, nil
}

// admit queues a claimed run unless it is queued, running or finished
// already (Port hands a run out again once its visibility timeout passes).
// A run with no executor is admitted for rejection, not queued.
func (r *actionRunner) admit(run *actions.Run, ex actions.Executor, hasExec bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[run.ID] || r.finished[run.ID] {
		r.log.Debug("run already taken by this process; skipping the duplicate", "run", run.ID)
		return false
	}
	if !hasExec {
		r.remember(run.ID)
		return true
	}
	r.seen[run.ID] = true
	r.buffered++
	r.perAction[run.Action]++
	r.queue = append(r.queue, &queuedRun{run: run, exec: ex})
	r.cond.Signal()
	return true
}

// reject fails a run no executor here can run, so that the user sees why
// instead of a run that never starts.
func (r *actionRunner) reject(ctx context.Context, run *actions.Run) {
	log := r.log.With("run", run.ID, "action_type", run.Type)
	if err := r.app.port.AckRun(ctx, run.ID); err != nil {
		if !errors.Is(err, port.ErrRunAcknowledged) {
			log.Warn("could not acknowledge a run with no executor", "error", err)
			r.forget(run.ID)
		}
		return
	}
	known := "none"
	if len(r.names) > 0 {
		known = strings.Join(r.names, ", ")
	}
	msg := fmt.Sprintf("This integration has no executor for action type %q (it runs: %s)", run.Type, known)
	log.Warn("failing a run with no executor")
	rep := r.reporter(run)
	if err := rep.Fail(ctx, msg); err != nil {
		log.Warn("could not report the run as failed", "error", err)
	}
}

// next blocks for a run to start; ok is false once the
// runner is closed. Of the runs that may start, it takes the first one of
// the action with the fewest runs executing, so that a flood of one action
// cannot hold every worker while another action's runs wait.
func (r *actionRunner) next() (*queuedRun, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if r.closed {
			return nil, false
		}
		best := -1
		for i, q := range r.queue {
			if best < 0 || r.running[q.run.Action] < r.running[r.queue[best].run.Action] {
				best = i
			}
		}
		if best >= 0 {
			q := r.queue[best]
			r.queue = slices.Delete(r.queue, best, best+1)
			r.running[q.run.Action]++
			return q, true
		}
		r.cond.Wait()
	}
}

// done releases a run's place in the buffer.
func (r *actionRunner) done(q *queuedRun) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// The poller waits only when the buffer or this action's share was
	// full; wake it when room appears.
	wasFull := r.buffered >= r.app.cfg.ActionsProcessor.RunsBufferHighWatermark || r.perAction[q.run.Action] >= r.perActionLimit()
	r.buffered--
	if r.running[q.run.Action]--; r.running[q.run.Action] <= 0 {
		delete(r.running, q.run.Action)
	}
	r.perAction[q.run.Action]--
	if r.perAction[q.run.Action] <= 0 {
		delete(r.perAction, q.run.Action)
	}
	delete(r.seen, q.run.ID)
	r.cond.Broadcast()
	if wasFull {
		select {
		case r.space <- struct{}{}:
		default:
		}
	}
}

// forget lets a run be claimed again (its acknowledgement failed).
func (r *actionRunner) forget(id string) {
	r.mu.Lock()
	delete(r.finished, id)
	r.mu.Unlock()
}

// remember records a finished run; r.mu is held.
func (r *actionRunner) remember(id string) {
	if r.finished[id] {
		return
	}
	if len(r.finishedQ) >= rememberedRuns {
		delete(r.finished, r.finishedQ[0])
		r.finishedQ = r.finishedQ[1:]
	}
	r.finished[id] = true
	r.finishedQ = append(r.finishedQ, id)
}

// execute runs one claimed run: wait out the executor's rate limit,
// acknowledge, execute, and report the outcome.
func (r *actionRunner) execute(ctx context.Context, q *queuedRun) {
	run := q.run
	log := r.log.With("run", run.ID, "action_type", run.Type)
	r.mu.Lock()
	r.remember(run.ID)
	r.mu.Unlock()
	if rl, ok := q.exec.(actions.RateLimiter); ok {
		for {
			d := rl.RateLimitWait(run)
			if d <= 0 {
				break
			}
			d = min(d, maxRateLimitWait)
			if err := r.app.port.PostRunLog(ctx, run.ID, "Delayed due to low remaining rate limit. Will attempt to re-run in "+roundWait(d)); err != nil {
				log.Debug("could not log the delay to the run", "error", err)
			}
			if err := r.app.clock.Sleep(ctx, d); err != nil {
				// Not acknowledged: Port hands the run out again.
				r.forget(run.ID)
				return
			}
		}
	}
	if err := r.app.port.AckRun(ctx, run.ID); err != nil {
		if errors.Is(err, port.ErrRunAcknowledged) {
			log.Info("run acknowledged by another worker; skipping it")
			return
		}
		log.Warn("could not acknowledge the run; Port hands it out again after its visibility timeout", "error", err)
		r.forget(run.ID)
		return
	}
	rep := r.reporter(run)
	start := time.Now()
	err := safeExecute(ctx, q.exec, run, rep)
	switch {
	case err != nil:
		log.Warn("action run failed", "error", err)
		if ferr := rep.Fail(ctx, err.Error()); ferr != nil {
			log.Error("could not report the failed run", "error", ferr)
		}
	case !rep.isComplete() && !rep.isContinued():
		if serr := rep.Succeed(ctx, ""); serr != nil {
			log.Error("could not report the run as successful", "error", serr)
		}
	}
	log.Info("action run executed", "elapsed", time.Since(start).Round(time.Millisecond), "ok", err == nil)
}

// roundWait prints a wait for a run's log: whole seconds, or milliseconds
// under a second.
func roundWait(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func safeExecute(ctx context.Context, ex actions.Executor, run *actions.Run, rep actions.Reporter) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the %s executor failed unexpectedly: %v", run.Type, p)
		}
	}()
	return ex.Execute(ctx, run, rep)
}

// ByExternalID implements actions.Runs.
func (r *actionRunner) ByExternalID(ctx context.Context, externalRunID string) (*actions.Run, actions.Reporter, error) {
	pr, err := r.app.port.FindRunByExternalID(ctx, externalRunID)
	if err != nil || pr == nil {
		return nil, nil, err
	}
	run := runFromPort(pr)
	return run, r.reporter(run), nil
}

// applyRunEvent hands a live event to a RunEventProcessor, with the same
// retries as Handle.
func (a *App) applyRunEvent(ctx context.Context, p RunEventProcessor, ev *Event, retries int, base time.Duration) error {
	if a.port == nil || a.dryRun {
		a.log.Debug("live event about action runs ignored: no Port client or a dry run", "event", ev.ID, "processor", p.Name())
		return nil
	}
	delay := base
	for attempt := 0; ; attempt++ {
		err := p.HandleRunEvent(ctx, ev, a.actions)
		if err == nil || IsPermanent(err) || attempt >= retries || ctx.Err() != nil {
			return err
		}
		if err := a.clock.Sleep(ctx, delay); err != nil {
			return err
		}
		delay = min(delay*2, 30*time.Second)
	}
}

// runReporter is the actions.Reporter of one run.
type runReporter struct {
	r   *actionRunner
	run *actions.Run

	mu        sync.Mutex
	complete  bool
	continued bool
}

func (r *actionRunner) reporter(run *actions.Run) *runReporter {
	return &runReporter{r: r, run: run, complete: run.Status.Terminal()}
}

func (p *runReporter) redact(s string) string {
	for _, sec := range p.r.app.cfg.Secrets() {
		if len(sec) >= 6 {
			s = strings.ReplaceAll(s, sec, settings.Mask)
		}
	}
	return s
}

func (p *runReporter) Log(ctx context.Context, message string) error {
	return p.r.app.port.PostRunLog(ctx, p.run.ID, p.redact(message))
}

func (p *runReporter) SetLink(ctx context.Context, link, externalRunID string) error {
	if link == "" && externalRunID == "" {
		return nil
	}
	_, err := p.r.app.port.PatchRun(ctx, p.run.ID, port.RunPatch{Link: link, ExternalRunID: externalRunID})
	return err
}

func (p *runReporter) Succeed(ctx context.Context, summary string) error {
	return p.finish(ctx, actions.Success, summary)
}

func (p *runReporter) Fail(ctx context.Context, summary string) error {
	return p.finish(ctx, actions.Failure, summary)
}

func (p *runReporter) finish(ctx context.Context, st actions.Status, summary string) error {
	p.mu.Lock()
	if p.complete {
		p.mu.Unlock()
		return nil
	}
	p.complete = true
	p.mu.Unlock()
	if _, err := p.r.app.port.PatchRun(ctx, p.run.ID, port.RunPatch{Status: st, Summary: p.redact(summary)}); err != nil {
		p.mu.Lock()
		p.complete = false
		p.mu.Unlock()
		return err
	}
	p.r.log.Info("action run completed", "run", p.run.ID, "status", st)
	return nil
}

func (p *runReporter) Status(ctx context.Context) (actions.Status, error) {
	pr, err := p.r.app.port.GetRun(ctx, p.run.ID)
	if err != nil {
		return "", err
	}
	if pr.Status.Terminal() {
		p.mu.Lock()
		p.complete = true
		p.mu.Unlock()
	}
	return pr.Status, nil
}

func (p *runReporter) Continue(f func(ctx context.Context, rep actions.Reporter) error) {
	p.mu.Lock()
	p.continued = true
	p.mu.Unlock()
	r := p.r
	r.mu.Lock()
	ctx := r.followCtx
	r.followWait.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.followWait.Done()
		err := f(ctx, p)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			r.log.Info("action run left in progress at shutdown", "run", p.run.ID)
			return
		}
		if ferr := p.Fail(ctx, err.Error()); ferr != nil {
			r.log.Error("could not report the failed run", "run", p.run.ID, "error", ferr)
		}
	}()
}

func (p *runReporter) isComplete() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.complete
}

func (p *runReporter) isContinued() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.continued
}
