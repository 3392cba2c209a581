package gitlab

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// maxInFixedMinute is the most admissions any fixed one-minute window
// (aligned at every admission, the worst case for GitLab's counters) holds.
func maxInFixedMinute(times []time.Time) int {
	best := 0
	for i, start := range times {
		n := 0
		for _, t := range times[i:] {
			if t.Sub(start) < time.Minute {
				n++
			}
		}
		best = max(best, n)
	}
	return best
}

func TestWindowSpendsTheMinuteAtOnceButNeverMore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		perMinute float64
		requests  int
		gap       time.Duration // between arrivals of requests
	}{
		{"burst of the whole budget", 100, 100, 0},
		{"three minutes of demand at once", 50, 150, 0},
		{"steady demand above the limit", 100, 400, 300 * time.Millisecond},
		{"steady demand below the limit", 100, 50, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWindow(tt.perMinute)
			require.NotNil(t, w)
			start := time.Unix(1_700_000_000, 0)
			var at []time.Time
			for i := range tt.requests {
				now := start.Add(time.Duration(i) * tt.gap)
				got := w.reserve(now)
				require.False(t, got.Before(now), "a request never goes before it is asked for")
				if len(at) > 0 {
					require.False(t, got.Before(at[len(at)-1]), "admissions are ordered")
				}
				at = append(at, got)
			}
			assert.LessOrEqual(t, maxInFixedMinute(at), int(tt.perMinute), "no minute holds more than the limit")
			budget := min(tt.requests, int(tt.perMinute))
			assert.Equal(t, start, at[budget-1].Add(-time.Duration(budget-1)*tt.gap), "the first minute's budget goes without waiting")
		})
	}
}

func TestWindowWaitsForTheOldestAdmissionToAge(t *testing.T) {
	t.Parallel()
	w := newWindow(3)
	t0 := time.Unix(1_700_000_000, 0)
	for range 3 {
		assert.Equal(t, t0, w.reserve(t0))
	}
	assert.Equal(t, t0.Add(time.Minute+windowSlack), w.reserve(t0.Add(10*time.Second)), "the fourth waits a minute (and slack) after the first")
	late := t0.Add(5 * time.Minute)
	assert.Equal(t, late, w.reserve(late), "an idle window admits at once")
}

func TestWindowResizeKeepsRecentAdmissions(t *testing.T) {
	t.Parallel()
	w := newWindow(10)
	t0 := time.Unix(1_700_000_000, 0)
	for range 4 {
		w.reserve(t0)
	}
	w.setPerMinute(4)
	assert.InDelta(t, 4, w.perMinute(), 0)
	assert.Equal(t, t0.Add(time.Minute+windowSlack), w.reserve(t0), "the four already sent count against the lower limit")
	w.setPerMinute(20)
	assert.Equal(t, t0.Add(time.Minute+windowSlack), w.reserve(t0), "admissions stay ordered after growing")
}

func TestWindowNoLimitAndHugeLimits(t *testing.T) {
	t.Parallel()
	assert.Nil(t, newWindow(0))
	assert.Nil(t, newWindow(-5))
	big := newWindow(1e6)
	require.NotNil(t, big)
	assert.Len(t, big.sent, windowSlots, "memory stays bounded")
	t0 := time.Unix(1_700_000_000, 0)
	var last time.Time
	for range 3 * windowSlots {
		last = big.reserve(t0)
	}
	// 30,000 requests at a million a minute take about two periods of
	// 0.6 s (plus slack each): the rate is kept, not the slot count.
	assert.Less(t, last.Sub(t0), 5*time.Second)
}
