package port

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// maxRefreshMargin is how long before expiry a token is replaced, so that no request
// leaves with a token that expires in flight.
const maxRefreshMargin = 60 * time.Second

// tokenSource caches the access token and refreshes it with a single flight.
type tokenSource struct {
	c *Client

	mu      sync.Mutex
	value   string // "<tokenType> <accessToken>", the Authorization header value
	renewAt time.Time
	flight  *flight
}

type flight struct {
	done  chan struct{}
	value string
	err   error
}

func (ts *tokenSource) current() string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.value
}

// token returns the Authorization header value. stale is a value Port just rejected with
// 401; it is never returned again, forcing one refresh shared by every caller that saw it.
func (ts *tokenSource) token(ctx context.Context, stale string) (string, error) {
	for {
		ts.mu.Lock()
		if ts.value != "" && ts.value != stale && ts.c.clock.Now().Before(ts.renewAt) {
			v := ts.value
			ts.mu.Unlock()
			return v, nil
		}
		f := ts.flight
		leader := f == nil
		if leader {
			f = &flight{done: make(chan struct{})}
			ts.flight = f
		}
		ts.mu.Unlock()

		if leader {
			v, renewAt, err := ts.fetch(ctx)
			ts.mu.Lock()
			if err == nil {
				ts.value, ts.renewAt = v, renewAt
			}
			f.value, f.err = v, err
			ts.flight = nil
			ts.mu.Unlock()
			close(f.done)
			return v, err
		}
		select {
		case <-f.done:
			if f.err == nil {
				return f.value, nil
			}
			if (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) && ctx.Err() == nil {
				// The leader gave up because of its own context; try ourselves.
				continue
			}
			return "", f.err
		case <-ctx.Done():
			return "", fmt.Errorf("port: waiting for access token: %w", ctx.Err())
		}
	}
}

type tokenRequest struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
}

type tokenResponse struct {
	AccessToken string  `json:"accessToken"`
	ExpiresIn   float64 `json:"expiresIn"`
	TokenType   string  `json:"tokenType"`
}

func (ts *tokenSource) fetch(ctx context.Context) (string, time.Time, error) {
	c := ts.c
	body, err := encodeBody(tokenRequest{ClientID: c.clientID, ClientSecret: c.clientSecret})
	if err != nil {
		return "", time.Time{}, err
	}
	start := c.clock.Now()
	resp, err := c.send(ctx, &call{method: http.MethodPost, path: "/auth/access_token", body: body, idempotent: true, noAuth: true})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("port: get access token: %w", err)
	}
	c.stats.tokens.Add(1)
	var tr tokenResponse
	if err := resp.decode(&tr); err != nil {
		return "", time.Time{}, err
	}
	if tr.AccessToken == "" || tr.ExpiresIn <= 0 {
		return "", time.Time{}, errors.New("port: get access token: answer has no accessToken or expiresIn")
	}
	if tr.TokenType == "" {
		tr.TokenType = "Bearer"
	}
	// Port returns the same active token with a smaller expiresIn until it expires, so the
	// expiry always comes from the latest answer.
	life := time.Duration(tr.ExpiresIn * float64(time.Second))
	margin := min(maxRefreshMargin, life/4)
	c.log.DebugContext(ctx, "port: access token refreshed", "expires_in", life)
	return tr.TokenType + " " + tr.AccessToken, start.Add(life - margin), nil
}
