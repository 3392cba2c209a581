package gitlab

import (
	"context"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// endpointClass groups the endpoints GitLab.com rate-limits separately from
// the per-user API limit.
type endpointClass uint8

const (
	classDefault       endpointClass = iota
	classProjectList                 // GET /projects: 2,000 per 10 minutes
	classGroupList                   // GET /groups: 50/min
	classSearch                      // search API: 100/min
	classProjectGet                  // GET /projects/:id: 400/min
	classGroupGet                    // GET /groups/:id: 400/min
	classGroupProjects               // GET /groups/:id/projects: 600/min
	classMembersAll                  // GET …/members/all: 200/min
	numClasses
)

var classNames = [numClasses]string{"default", "projects-list", "groups-list", "search", "project-get", "group-get", "group-projects", "members-all"}

func (c endpointClass) String() string { return classNames[c] }

// gitLabComLimits are GitLab.com's documented per-endpoint limits, per
// minute (docs.gitlab.com/user/gitlab_com/rate_limits).
var gitLabComLimits = [numClasses]float64{
	classProjectList:   200,
	classGroupList:     50,
	classSearch:        100,
	classProjectGet:    400,
	classGroupGet:      400,
	classGroupProjects: 600,
	classMembersAll:    200,
}

var (
	reProjectGet    = regexp.MustCompile(`^projects/[^/]+$`)
	reGroupGet      = regexp.MustCompile(`^groups/[^/]+$`)
	reGroupProjects = regexp.MustCompile(`^groups/[^/]+/projects$`)
)

// classify maps a GET path (relative to /api/v4/) to its endpoint class.
func classify(method, path string) endpointClass {
	if method != http.MethodGet {
		return classDefault
	}
	switch {
	case path == "projects":
		return classProjectList
	case path == "groups":
		return classGroupList
	case path == "search" || hasSuffixSegment(path, "search"):
		return classSearch
	case hasSuffixSegment(path, "members/all"):
		return classMembersAll
	case reProjectGet.MatchString(path):
		return classProjectGet
	case reGroupGet.MatchString(path):
		return classGroupGet
	case reGroupProjects.MatchString(path):
		return classGroupProjects
	}
	return classDefault
}

func hasSuffixSegment(path, seg string) bool {
	return len(path) > len(seg) && path[len(path)-len(seg)-1] == '/' && path[len(path)-len(seg):] == seg
}

// limiter bounds what the client sends: a global concurrency bound, a
// global request window (configured, or learnt from RateLimit-Limit), one
// window per endpoint class with its own limit, and pauses until a reset
// time when GitLab says the budget is (nearly) spent.
//
// client-go's own limiter is replaced (WithCustomLimiter) because it is
// rebuilt racily on the first response and only knows one bucket.
type limiter struct {
	sem     chan struct{}
	global  atomic.Pointer[window] // nil: no proactive global limit (yet)
	learn   bool                   // the global limit follows RateLimit-Limit headers
	classes [numClasses]*window
	sleep   func(context.Context, time.Duration) error
	now     func() time.Time

	mu    sync.Mutex
	pause [numClasses]time.Time // classDefault pauses every class
}

func newLimiter(maxConcurrency int, perMinute float64, learn bool, endpointLimits bool, sleep func(context.Context, time.Duration) error) *limiter {
	l := &limiter{
		sem:   make(chan struct{}, max(1, maxConcurrency)),
		learn: learn,
		sleep: sleep,
		now:   time.Now,
	}
	if w := newWindow(perMinute); w != nil {
		l.global.Store(w)
	}
	if endpointLimits {
		for c, n := range gitLabComLimits {
			l.classes[c] = newWindow(n)
		}
	}
	return l
}

// Wait implements client-go's RateLimiter. Our own acquire does the real
// work before client-go is called, so this only honours cancellation.
func (l *limiter) Wait(ctx context.Context) error { return ctx.Err() }

// acquire waits for a pause to end, for the class and global budgets, and
// for a concurrency slot. The returned func releases the slot.
func (l *limiter) acquire(ctx context.Context, class endpointClass) (func(), error) {
	if d := l.pauseLeft(class); d > 0 {
		if err := l.sleep(ctx, d); err != nil {
			return nil, err
		}
	}
	for _, w := range [...]*window{l.classes[class], l.global.Load()} {
		if w == nil {
			continue
		}
		// The global slot is booked only once the class admits the
		// request, so a long class wait does not hold global budget.
		if d := w.reserve(l.now()).Sub(l.now()); d > 0 {
			if err := l.sleep(ctx, d); err != nil {
				return nil, err
			}
		}
	}
	select {
	case l.sem <- struct{}{}:
		return func() { <-l.sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *limiter) pauseLeft(class endpointClass) time.Duration {
	l.mu.Lock()
	until := l.pause[classDefault]
	if class != classDefault && l.pause[class].After(until) {
		until = l.pause[class]
	}
	l.mu.Unlock()
	if until.IsZero() {
		return 0
	}
	return until.Sub(l.now())
}

// pauseFor stops requests of class (every class for classDefault) for d.
func (l *limiter) pauseFor(class endpointClass, d time.Duration) {
	until := l.now().Add(d)
	l.mu.Lock()
	if until.After(l.pause[class]) {
		l.pause[class] = until
	}
	l.mu.Unlock()
}

// observe reads GitLab's rate-limit headers after every response: it adopts
// the announced per-minute limit (less a margin) when the global rate is
// learnt, and pauses everything until the reset when fewer requests remain
// than can be in flight at once.
func (l *limiter) observe(h http.Header) {
	if l.learn {
		if n, err := strconv.ParseFloat(h.Get("RateLimit-Limit"), 64); err == nil && n > 0 {
			l.learnGlobal(n * 0.9)
		}
	}
	remaining, err := strconv.Atoi(h.Get("RateLimit-Remaining"))
	if err != nil || remaining > cap(l.sem) {
		return
	}
	reset, err := strconv.ParseInt(h.Get("RateLimit-Reset"), 10, 64)
	if err != nil {
		return
	}
	if d := time.Unix(reset, 0).Sub(l.now()); d > 0 {
		l.pauseFor(classDefault, d)
	}
}

// learnGlobal adopts a per-minute global limit announced by GitLab.
func (l *limiter) learnGlobal(perMinute float64) {
	if w := l.global.Load(); w != nil {
		w.setPerMinute(perMinute)
		return
	}
	if !l.global.CompareAndSwap(nil, newWindow(perMinute)) {
		l.global.Load().setPerMinute(perMinute)
	}
}

// globalPerMinute is the global limit in force, 0 for none.
func (l *limiter) globalPerMinute() float64 {
	if w := l.global.Load(); w != nil {
		return w.perMinute()
	}
	return 0
}

// windowSlots caps the admission times a window remembers; a limit above
// it is kept as the same rate over a proportionally shorter period.
const windowSlots = 10000

// windowSlack widens each one-minute period (proportionally for shorter
// ones): GitLab counts a request when it arrives, so two sends exactly a
// minute apart could land in the same minute after network jitter.
const windowSlack = time.Minute / 60

// window admits at most n requests in any period. GitLab's limits count
// requests per minute, so the whole minute's budget may go at once; a
// sliding window never puts more than n requests into any fixed minute,
// where a token bucket refilling while it drains could put up to its
// burst more.
type window struct {
	mu     sync.Mutex
	limit  float64       // per minute, as configured or announced
	period time.Duration // the span n admissions must fit in
	sent   []time.Time   // ring of the last admission times; oldest at next
	next   int
}

// newWindow returns a window for perMinute requests a minute, or nil for
// no limit.
func newWindow(perMinute float64) *window {
	if !(perMinute >= 1) || math.IsInf(perMinute, 1) {
		return nil
	}
	w := &window{}
	w.resize(perMinute)
	return w
}

func (w *window) resize(perMinute float64) {
	n := int(perMinute)
	period := time.Minute
	if n > windowSlots {
		period = time.Duration(float64(time.Minute) * windowSlots / perMinute)
		n = windowSlots
	}
	// Keep the most recent admissions, oldest first, so a new limit
	// still counts what was just sent.
	var recent []time.Time
	for i := range w.sent {
		if t := w.sent[(w.next+i)%len(w.sent)]; !t.IsZero() {
			recent = append(recent, t)
		}
	}
	if len(recent) > n {
		recent = recent[len(recent)-n:]
	}
	w.limit, w.period = perMinute, period+time.Duration(float64(windowSlack)*float64(period)/float64(time.Minute))
	// Free slots first, then the recent ones: the oldest entry is at 0.
	w.sent = append(make([]time.Time, n-len(recent)), recent...)
	w.next = 0
}

func (w *window) setPerMinute(perMinute float64) {
	if !(perMinute >= 1) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if perMinute != w.limit {
		w.resize(perMinute)
	}
}

func (w *window) perMinute() float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.limit
}

// reserve books the earliest time at or after now when one more request
// keeps the window within its limit, and returns it. Booked times never
// decrease, so the ring stays ordered and its oldest entry is the one n
// requests back.
func (w *window) reserve(now time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	at := now
	if oldest := w.sent[w.next]; !oldest.IsZero() {
		if free := oldest.Add(w.period); free.After(at) {
			at = free
		}
	}
	if last := w.sent[(w.next+len(w.sent)-1)%len(w.sent)]; last.After(at) {
		at = last
	}
	w.sent[w.next] = at
	w.next = (w.next + 1) % len(w.sent)
	return at
}
