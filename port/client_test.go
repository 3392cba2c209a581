package port_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

func TestNewValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		base, id, sec string
		opts          []port.Option
		wantErr       bool
	}{
		{name: "ok", base: port.USBaseURL, id: "id", sec: "hunter2-secret"},
		{name: "default base", base: "", id: "id", sec: "hunter2-secret"},
		{name: "relative url", base: "api.getport.io", id: "id", sec: "hunter2-secret", wantErr: true},
		{name: "bad scheme", base: "ftp://x", id: "id", sec: "hunter2-secret", wantErr: true},
		{name: "no id", base: port.EUBaseURL, sec: "hunter2-secret", wantErr: true},
		{name: "no secret", base: port.EUBaseURL, id: "id", wantErr: true},
		{name: "nil http client", base: port.EUBaseURL, id: "id", sec: "hunter2-secret", opts: []port.Option{port.WithHTTPClient(nil)}, wantErr: true},
		{name: "nil logger", base: port.EUBaseURL, id: "id", sec: "hunter2-secret", opts: []port.Option{port.WithLogger(nil)}, wantErr: true},
		{name: "empty user agent", base: port.EUBaseURL, id: "id", sec: "hunter2-secret", opts: []port.Option{port.WithUserAgent(" ")}, wantErr: true},
		{name: "incomplete datasource", base: port.EUBaseURL, id: "id", sec: "hunter2-secret", opts: []port.Option{port.WithDatasource(port.Datasource{Type: "x"})}, wantErr: true},
		{name: "negative delay", base: port.EUBaseURL, id: "id", sec: "hunter2-secret", opts: []port.Option{port.WithRetryPolicy(port.RetryPolicy{BaseDelay: -1})}, wantErr: true},
		{name: "bad rate", base: port.EUBaseURL, id: "id", sec: "hunter2-secret", opts: []port.Option{port.WithRateLimit(0, 1)}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := port.New(tt.base, tt.id, tt.sec, tt.opts...)
			if tt.wantErr {
				require.Error(t, err)
				if tt.sec != "" {
					assert.NotContains(t, err.Error(), tt.sec)
				}
				return
			}
			require.NoError(t, err)
			require.NotNil(t, c)
		})
	}
}

func TestBaseURLWithV1Suffix(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t, porttest.WithBasePath("/base"))
	c, err := port.New(srv.URL+"/v1/", srv.ClientID, srv.ClientSecret)
	require.NoError(t, err)
	_, err = c.GetBlueprint(t.Context(), "service")
	require.NoError(t, err)
}

func TestDatasourceUserAgent(t *testing.T) {
	t.Parallel()
	d := port.Datasource{Type: "GitLab-v2", Version: "0.9.30", Identifier: "my-gitlab-v2-integration"}
	assert.Equal(t, "port-ocean/gitlab-v2/0.9.30/my-gitlab-v2-integration/exporter", d.UserAgent())
	assert.Equal(t, "port-ocean/gitlab-v2/", d.Prefix())
	assert.Equal(t, "/my-gitlab-v2-integration/exporter", d.Suffix())
	assert.True(t, strings.HasPrefix(d.UserAgent(), d.Prefix()))
	assert.True(t, strings.HasSuffix(d.UserAgent(), d.Suffix()))
}

// Entities written by Port's Python image for the same type and identifier (another
// version) are ours; other identifiers, types and the gitops agent are not.
func TestDatasourceOwnershipMatchesPythonOcean(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t)
	ctx := t.Context()
	write := func(ua, id string) {
		c := newClient(t, srv, port.WithUserAgent(ua))
		_, err := c.UpsertEntity(ctx, port.Entity{Identifier: id, Blueprint: "service"}, port.UpsertOptions{})
		require.NoError(t, err)
	}
	c := newClient(t, srv)
	_, err := c.UpsertEntity(ctx, port.Entity{Identifier: "ours-go", Blueprint: "service"}, port.UpsertOptions{})
	require.NoError(t, err)
	write("port-ocean/gitlab-v2/0.9.12/my-gitlab/exporter", "ours-python-old")
	write("port-ocean/gitlab-v2/0.9.30/other-gitlab/exporter", "other-identifier")
	write("port-ocean/github/0.9.30/my-gitlab/exporter", "other-type")
	write("port-ocean/gitlab-v2/0.9.30/my-gitlab/gitops", "gitops")
	write("port-ocean/gitlab-v2/0.9.30/xmy-gitlab/exporter", "suffix-lookalike")

	got, ok := srv.Entity("service", "ours-go")
	require.True(t, ok)
	assert.Equal(t, testDS.UserAgent(), got.Datasource)

	var ids []string
	for page, err := range c.DatasourceEntities(ctx, port.DatasourceQuery{}) {
		require.NoError(t, err)
		for _, e := range page {
			ids = append(ids, e.ID())
		}
	}
	assert.ElementsMatch(t, []string{"ours-go", "ours-python-old"}, ids)
}

func TestTokenIsCachedAndSharedAcrossGoroutines(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t)
	c := newClient(t, srv)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			_, err := c.GetBlueprint(t.Context(), "service")
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Equal(t, 1, srv.Count(porttest.RouteToken), "concurrent callers share one token request")
	assert.EqualValues(t, 1, c.Stats().TokenRefreshes)
}

func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	srv := newCatalog(t, porttest.WithClock(clock.Now), porttest.WithTokenLifetime(10*time.Minute))
	c := newClient(t, srv)
	port.SetClock(c, clock.Now)
	ctx := t.Context()

	_, err := c.GetBlueprint(ctx, "service")
	require.NoError(t, err)
	clock.Advance(8 * time.Minute)
	_, err = c.GetBlueprint(ctx, "service")
	require.NoError(t, err)
	assert.Equal(t, 1, srv.Count(porttest.RouteToken), "token still fresh")

	// Within the last minute the client refreshes before sending.
	clock.Advance(90 * time.Second)
	_, err = c.GetBlueprint(ctx, "service")
	require.NoError(t, err)
	assert.Equal(t, 2, srv.Count(porttest.RouteToken))

	// Past expiry the server would answer 401; the client never sends the old token.
	clock.Advance(11 * time.Minute)
	srv.ResetRequests()
	_, err = c.GetBlueprint(ctx, "service")
	require.NoError(t, err)
	for _, r := range srv.Requests() {
		assert.NotEqual(t, http.StatusUnauthorized, r.Status)
	}
}

func TestTokenRefreshedOnceAfter401(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t)
	c := newClient(t, srv)
	ctx := t.Context()
	_, err := c.GetBlueprint(ctx, "service")
	require.NoError(t, err)

	srv.ExpireTokens() // Port revoked the token early.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, err := c.GetBlueprint(ctx, "service")
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Equal(t, 2, srv.Count(porttest.RouteToken), "one refresh shared by every caller that saw the 401")

	// A 401 that persists after the refresh is returned, not retried forever.
	srv.InjectFault(porttest.Fault{Route: porttest.RouteGetBlueprint, Status: http.StatusUnauthorized, Times: 2})
	_, err = c.GetBlueprint(ctx, "service")
	require.Error(t, err)
	assert.True(t, port.IsUnauthorized(err))
}

func TestBadCredentials(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t)
	logs := &syncBuffer{}
	secret := "very-secret-value-123"
	c, err := port.New(srv.URL, srv.ClientID, secret, port.WithRetryPolicy(fastRetry), port.WithLogger(debugLogger(logs)))
	require.NoError(t, err)
	_, err = c.GetBlueprint(t.Context(), "service")
	require.Error(t, err)
	assert.True(t, port.IsUnauthorized(err))
	assert.NotContains(t, err.Error(), secret)
	assert.NotContains(t, logs.String(), secret)
	assert.Equal(t, 1, srv.Count(porttest.RouteToken), "401 on the token route is not retried")
}

func TestSecretsNeverInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t)
	logs := &syncBuffer{}
	c := newClient(t, srv, port.WithLogger(debugLogger(logs)))
	ctx := t.Context()
	var errs []error
	_, err := c.GetBlueprint(ctx, "service")
	require.NoError(t, err)
	token := srv.AccessToken()
	require.NotEmpty(t, token)

	srv.InjectFault(porttest.Fault{Status: http.StatusServiceUnavailable, Times: 10})
	_, err = c.GetBlueprint(ctx, "service")
	errs = append(errs, err)
	srv.ClearFaults()
	srv.ExpireTokens()
	srv.InjectFault(porttest.Fault{Route: porttest.RouteGetIntegration, Drop: true, Times: 10})
	_, err = c.GetIntegration(ctx, "x")
	errs = append(errs, err)
	_, err = c.GetEntity(ctx, "service", "missing")
	errs = append(errs, err)
	res, err := c.BulkUpsert(ctx, "service", []port.Entity{{Identifier: "x", Properties: map[string]any{"nope": 1}}}, port.UpsertOptions{})
	require.NoError(t, err)
	errs = append(errs, res[0].Err)
	newToken := srv.AccessToken()
	for _, err := range errs {
		require.Error(t, err)
		for _, secret := range []string{srv.ClientSecret, token, newToken} {
			assert.NotContains(t, err.Error(), secret)
		}
	}
	assert.NotEmpty(t, logs.String())
	for _, secret := range []string{srv.ClientSecret, token, newToken} {
		assert.NotContains(t, logs.String(), secret)
	}
}

// Port's message text is scrubbed even if it echoes a secret.
func TestErrorRedactsEchoedSecret(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-value"
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-trace-id", "trace-1")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"ok":false,"error":"unauthorized","message":"bad secret s3cr3t-value"}`))
	}))
	t.Cleanup(ts.Close)
	c, err := port.New(ts.URL, "id", secret, port.WithRetryPolicy(fastRetry))
	require.NoError(t, err)
	_, err = c.GetBlueprint(t.Context(), "x")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), secret)
	var pe *port.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "trace-1", pe.TraceID)
	assert.Equal(t, "unauthorized", pe.Code)
	assert.Contains(t, pe.Message, "[REDACTED]")
}

func TestErrorTyping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		is     func(error) bool
	}{
		{http.StatusNotFound, port.IsNotFound},
		{http.StatusUnauthorized, port.IsUnauthorized},
		{http.StatusForbidden, port.IsForbidden},
		{http.StatusTooManyRequests, port.IsRateLimited},
		{http.StatusUnprocessableEntity, port.IsValidation},
		{http.StatusConflict, port.IsConflict},
		{http.StatusRequestEntityTooLarge, port.IsTooLarge},
	}
	all := []func(error) bool{port.IsNotFound, port.IsUnauthorized, port.IsForbidden, port.IsRateLimited, port.IsValidation, port.IsConflict, port.IsTooLarge}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			t.Parallel()
			err := error(&port.Error{StatusCode: tt.status, Code: "c", Message: "m", Method: "GET", Path: "/v1/x", TraceID: "t1"})
			wrapped := errors.Join(errors.New("context"), err)
			n := 0
			for _, is := range all {
				if is(wrapped) {
					n++
				}
			}
			assert.True(t, tt.is(wrapped))
			assert.Equal(t, 1, n, "exactly one helper matches")
			assert.Contains(t, err.Error(), "GET /v1/x")
			assert.Contains(t, err.Error(), "t1")
		})
	}
	assert.False(t, port.IsNotFound(errors.New("plain")))
	assert.False(t, port.IsNotFound(nil))
}

func TestNotFoundCarriesPortDetails(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t)
	c := newClient(t, srv)
	_, err := c.GetBlueprint(t.Context(), "nope")
	require.Error(t, err)
	var pe *port.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, http.StatusNotFound, pe.StatusCode)
	assert.Equal(t, "not_found", pe.Code)
	assert.Equal(t, http.MethodGet, pe.Method)
	assert.Equal(t, "/v1/blueprints/nope", pe.Path)
	assert.NotEmpty(t, pe.TraceID)
	assert.JSONEq(t, `{"resource":"Blueprint","byField":"identifier","withValue":"nope"}`, string(pe.Details))
}

func TestRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fault     porttest.Fault
		call      func(ctx context.Context, c *port.Client) error
		wantErr   bool
		wantSends int
		minWait   time.Duration
	}{
		{
			name:  "429 honours Retry-After",
			fault: porttest.Fault{Route: porttest.RouteGetBlueprint, Status: 429, RetryAfter: "7", Times: 1},
			call: func(ctx context.Context, c *port.Client) error {
				_, err := c.GetBlueprint(ctx, "service")
				return err
			},
			wantSends: 2, minWait: 7 * time.Second,
		},
		{
			name:  "503 retried",
			fault: porttest.Fault{Route: porttest.RouteGetBlueprint, Status: 503, Times: 2},
			call: func(ctx context.Context, c *port.Client) error {
				_, err := c.GetBlueprint(ctx, "service")
				return err
			},
			wantSends: 3,
		},
		{
			name:  "502 and 504 retried on upsert POST",
			fault: porttest.Fault{Route: porttest.RouteUpsertEntity, Status: 504, Times: 1},
			call: func(ctx context.Context, c *port.Client) error {
				_, err := c.UpsertEntity(ctx, port.Entity{Identifier: "a", Blueprint: "service"}, port.UpsertOptions{})
				return err
			},
			wantSends: 2,
		},
		{
			name:  "connection reset retried on bulk upsert",
			fault: porttest.Fault{Route: porttest.RouteBulkUpsert, Drop: true, Times: 2},
			call: func(ctx context.Context, c *port.Client) error {
				res, err := c.BulkUpsert(ctx, "service", services(3, "s"), port.UpsertOptions{})
				if err == nil {
					err = res[0].Err
				}
				return err
			},
			wantSends: 3,
		},
		{
			name:  "500 not retried",
			fault: porttest.Fault{Route: porttest.RouteGetBlueprint, Status: 500, Times: 1},
			call: func(ctx context.Context, c *port.Client) error {
				_, err := c.GetBlueprint(ctx, "service")
				return err
			},
			wantErr: true, wantSends: 1,
		},
		{
			name:  "attempts are bounded",
			fault: porttest.Fault{Route: porttest.RouteGetBlueprint, Status: 429, Times: 100},
			call: func(ctx context.Context, c *port.Client) error {
				_, err := c.GetBlueprint(ctx, "service")
				if err != nil && !port.IsRateLimited(err) {
					return errors.New("want a 429 error, got " + err.Error())
				}
				return err
			},
			wantErr: true, wantSends: fastRetry.MaxAttempts,
		},
		{
			name:  "non-idempotent PATCH not retried after 503",
			fault: porttest.Fault{Route: porttest.RoutePatchBlueprint, Status: 503, Times: 1},
			call: func(ctx context.Context, c *port.Client) error {
				_, err := c.PatchBlueprint(ctx, "service", map[string]any{"title": "S"})
				return err
			},
			wantErr: true, wantSends: 1,
		},
		{
			name:  "non-idempotent PATCH not retried after a dropped connection",
			fault: porttest.Fault{Route: porttest.RoutePatchBlueprint, Drop: true, Times: 1},
			call: func(ctx context.Context, c *port.Client) error {
				_, err := c.PatchBlueprint(ctx, "service", map[string]any{"title": "S"})
				return err
			},
			wantErr: true, wantSends: 1,
		},
		{
			name:  "non-idempotent PATCH retried after 429 (not applied)",
			fault: porttest.Fault{Route: porttest.RoutePatchBlueprint, Status: 429, RetryAfter: "1", Times: 1},
			call: func(ctx context.Context, c *port.Client) error {
				_, err := c.PatchBlueprint(ctx, "service", map[string]any{"title": "S"})
				return err
			},
			wantSends: 2, minWait: time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newCatalog(t)
			rec := &sleepRecorder{}
			c := newClient(t, srv, port.WithRetryPolicy(port.RetryPolicy{MaxAttempts: 4, BaseDelay: 10 * time.Millisecond, MaxDelay: time.Minute}))
			port.SetSleep(c, rec.sleep)
			srv.InjectFault(tt.fault)
			err := tt.call(t.Context(), c)
			if tt.wantErr {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.wantSends, srv.Count(tt.fault.Route))
			if tt.minWait > 0 {
				waits := rec.all()
				require.NotEmpty(t, waits)
				assert.GreaterOrEqual(t, waits[0], tt.minWait)
			}
		})
	}
}

func TestRetryAfterIsCapped(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t)
	rec := &sleepRecorder{}
	c := newClient(t, srv, port.WithRetryPolicy(port.RetryPolicy{MaxAttempts: 2, MaxDelay: 3 * time.Second}))
	port.SetSleep(c, rec.sleep)
	srv.InjectFault(porttest.Fault{Route: porttest.RouteGetBlueprint, Status: 429, RetryAfter: "3600"})
	_, err := c.GetBlueprint(t.Context(), "service")
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{3 * time.Second}, rec.all())
}

func TestBackoffGrowsWithJitter(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t)
	rec := &sleepRecorder{}
	c := newClient(t, srv, port.WithRetryPolicy(port.RetryPolicy{MaxAttempts: 5, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}))
	port.SetSleep(c, rec.sleep)
	srv.InjectFault(porttest.Fault{Route: porttest.RouteGetBlueprint, Status: 503, Times: 4})
	_, err := c.GetBlueprint(t.Context(), "service")
	require.NoError(t, err)
	waits := rec.all()
	require.Len(t, waits, 4)
	for i, w := range waits {
		base := 100 * time.Millisecond << i
		assert.GreaterOrEqual(t, w, base*3/4, "attempt %d", i+1)
		assert.LessOrEqual(t, w, min(base*5/4, time.Second), "attempt %d", i+1)
	}
}

func TestContextCancelStopsWaiting(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t)
	c := newClient(t, srv, port.WithRetryPolicy(port.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Hour, MaxDelay: time.Hour}))
	srv.InjectFault(porttest.Fault{Route: porttest.RouteGetBlueprint, Status: 503, Times: 5})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := c.GetBlueprint(ctx, "service")
		done <- err
	}()
	for srv.Count(porttest.RouteGetBlueprint) == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	err := <-done
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestPacingFollowsRateLimitHeaders(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t, porttest.WithRateLimit(porttest.RateLimit{Limit: 10, Period: 300 * time.Millisecond}))
	c := newClient(t, srv)
	ctx := t.Context()
	for i := range 25 {
		_, err := c.UpsertEntity(ctx, port.Entity{Identifier: "e" + itoa(i), Blueprint: "service"}, port.UpsertOptions{})
		require.NoError(t, err)
	}
	throttled := 0
	for _, r := range srv.Requests() {
		if r.Status == http.StatusTooManyRequests {
			throttled++
		}
	}
	assert.Zero(t, throttled, "the client slowed down before Port answered 429")
	assert.Positive(t, c.Stats().Throttled)
	assert.Zero(t, c.Stats().RateLimited)
}

func TestClientSideRateLimit(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t)
	rec := &sleepRecorder{}
	c := newClient(t, srv, port.WithRateLimit(1, 2))
	port.SetSleep(c, rec.sleep)
	for range 4 {
		_, err := c.GetBlueprint(t.Context(), "service")
		require.NoError(t, err)
	}
	assert.NotEmpty(t, rec.all(), "requests beyond the burst wait")
}

func TestDoRawRequest(t *testing.T) {
	t.Parallel()
	srv := newCatalog(t)
	srv.SetFeatureFlags("USE_PROVISIONED_DEFAULTS")
	c := newClient(t, srv)
	var out struct {
		Organization struct {
			FeatureFlags []string `json:"featureFlags"`
		} `json:"organization"`
	}
	require.NoError(t, c.Do(t.Context(), port.Request{Method: http.MethodGet, Path: "/organization"}, &out))
	assert.Equal(t, []string{"USE_PROVISIONED_DEFAULTS"}, out.Organization.FeatureFlags)

	org, err := c.GetOrganization(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []string{"USE_PROVISIONED_DEFAULTS"}, org.FeatureFlags)

	err = c.Do(t.Context(), port.Request{Method: http.MethodGet, Path: "/nope"}, nil)
	assert.True(t, port.IsNotFound(err))
	require.Error(t, c.Do(t.Context(), port.Request{Method: http.MethodGet, Path: "nope"}, nil))
}

func TestRequestsThatCannotBeSentAreNotRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []port.Option
		call func(ctx context.Context, c *port.Client) error
	}{
		{
			name: "user agent with a newline",
			opts: []port.Option{port.WithUserAgent("oceankit\r\nX-Injected: 1")},
			call: func(ctx context.Context, c *port.Client) error {
				_, err := c.GetBlueprint(ctx, "service")
				return err
			},
		},
		{
			name: "extra header value with a newline, on a POST",
			call: func(ctx context.Context, c *port.Client) error {
				return c.Do(ctx, port.Request{Method: http.MethodPost, Path: "/blueprints", Header: http.Header{"X-Skip-Resync": {"true\n"}}, Body: map[string]any{}}, nil)
			},
		},
		{
			name: "invalid header name",
			call: func(ctx context.Context, c *port.Client) error {
				return c.Do(ctx, port.Request{Method: http.MethodGet, Path: "/blueprints", Header: http.Header{"Bad Name": {"v"}}}, nil)
			},
		},
		{
			name: "invalid method",
			call: func(ctx context.Context, c *port.Client) error {
				return c.Do(ctx, port.Request{Method: "GE T", Path: "/blueprints"}, nil)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newCatalog(t)
			rec := &sleepRecorder{}
			c := newClient(t, srv, append([]port.Option{port.WithRetryPolicy(port.RetryPolicy{MaxAttempts: 10, BaseDelay: time.Second, MaxDelay: time.Minute})}, tt.opts...)...)
			port.SetSleep(c, rec.sleep)
			err := tt.call(t.Context(), c)
			require.ErrorIs(t, err, port.ErrInvalidRequest)
			assert.NotContains(t, err.Error(), srv.ClientSecret)
			assert.Empty(t, rec.all(), "no wait: nothing is retried")
			assert.Zero(t, c.Stats().Retries)
		})
	}
}

func TestCutAnswerNamesItsCause(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/auth/access_token" {
			_, _ = w.Write([]byte(`{"accessToken":"tok","expiresIn":3600,"tokenType":"Bearer"}`))
			return
		}
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"ok":tr`))
		w.(http.Flusher).Flush()
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			_ = conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	c, err := port.New(srv.URL, "id", "secret", port.WithRetryPolicy(port.RetryPolicy{MaxAttempts: 2}))
	require.NoError(t, err)
	err = c.Do(t.Context(), port.Request{Method: http.MethodGet, Path: "/organization"}, nil)
	require.ErrorContains(t, err, "unexpected EOF")
	assert.ErrorContains(t, err, "read the 200 answer")
	assert.Equal(t, int64(1), c.Stats().Retries, "a GET whose answer was cut is retried")
}
