package gitlab

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
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
// global token bucket (configured, or learnt from RateLimit-Limit), one
// bucket per endpoint class with its own limit, and pauses until a reset
// time when GitLab says the budget is (nearly) spent.
//
// client-go's own limiter is replaced (WithCustomLimiter) because it is
// rebuilt racily on the first response and only knows one bucket.
type limiter struct {
	sem     chan struct{}
	global  *rate.Limiter
	learn   bool // the global rate follows RateLimit-Limit headers
	classes [numClasses]*rate.Limiter
	sleep   func(context.Context, time.Duration) error
	now     func() time.Time

	mu    sync.Mutex
	pause [numClasses]time.Time // classDefault pauses every class
}

func newLimiter(maxConcurrency int, perMinute float64, learn bool, endpointLimits bool, sleep func(context.Context, time.Duration) error) *limiter {
	l := &limiter{
		sem:    make(chan struct{}, max(1, maxConcurrency)),
		global: rate.NewLimiter(rate.Inf, 0),
		learn:  learn,
		sleep:  sleep,
		now:    time.Now,
	}
	if perMinute > 0 {
		l.global = rate.NewLimiter(perSecond(perMinute), burstFor(perMinute))
	}
	if endpointLimits {
		for c, n := range gitLabComLimits {
			if n > 0 {
				l.classes[c] = rate.NewLimiter(perSecond(n), burstFor(n))
			}
		}
	}
	return l
}

func perSecond(perMinute float64) rate.Limit { return rate.Limit(perMinute / 60) }

// burstFor allows a tenth of a minute's budget at once: enough to overlap
// requests, small enough that a resync start cannot spend the minute.
func burstFor(perMinute float64) int { return max(1, int(perMinute/10)) }

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
	if lim := l.classes[class]; lim != nil {
		if err := lim.Wait(ctx); err != nil {
			return nil, ctxErr(ctx, err)
		}
	}
	if err := l.global.Wait(ctx); err != nil {
		return nil, ctxErr(ctx, err)
	}
	select {
	case l.sem <- struct{}{}:
		return func() { <-l.sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ctxErr prefers the context's error: rate.Limiter reports a wait that
// would outlast the deadline with its own error.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
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
			want := perSecond(n * 0.9)
			if l.global.Limit() != want {
				l.global.SetLimit(want)
				l.global.SetBurst(burstFor(n * 0.9))
			}
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

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
