package main

// The program run in every mode of Port's port-ocean Helm chart, with the
// environment each mode's templates render (chart 0.21.0; the probe Job
// from templates/probe/job.yaml after it). The variables below are copied
// by hand from the templates, with the values a user would set and the
// fakes' URLs and credentials in place of the real ones:
//
//	templates/secret.yaml                 OCEAN__PORT__CLIENT_ID/SECRET, one OCEAN__INTEGRATION__CONFIG__<KEY> per integration.secrets key
//	templates/configmap.yaml              the main Deployment and the resync CronJob (ONCE forced)
//	templates/deployment.yaml             env: OCEAN__BASE_URL, OCEAN__LIVE_EVENTS__IS_REDIS_STREAM_CONSUMER_ENABLED, the certificate's SSL_CERT_FILE/REQUESTS_CA_BUNDLE
//	templates/configmap-live-events.yaml  the live-events worker (WEBHOOKS_ONLY)
//	templates/actions-processor/…         the actions processor (ACTIONS_ONLY)
//	templates/configmap-incremental.yaml  the incremental CronJob (ONCE + INCREMENTAL_SYNC_ENABLED)
//	templates/probe/job.yaml              `ocean probe . --mode shallow [--kinds a,b]`
//
// Only APPLICATION__PORT is added: the chart never renders it (its
// service.port is our default, 8000), and tests running side by side need
// ports of their own.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/gitlab/gitlabtest"
	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/port"
	"github.com/oceankit/oceankit/port/porttest"
)

// chartValues are the values.yaml settings the tests vary.
type chartValues struct {
	gitlabURL      string // integration.config.gitlabHost
	eventListener  string // integration.eventListener, as toJson renders it
	clientTimeout  string // clientTimeout
	liveEventsBase string // liveEvents.baseUrl
	redisConsumer  bool   // liveEvents.isRedisStreamConsumerEnabled
	selfSignedCert bool   // selfSignedCertificate.enabled
	origin         string // createPortResourcesOrigin
}

// chartSecret is templates/secret.yaml: the Port credentials and
// integration.secrets (gitlabToken, webhookSecret), snake-cased.
func (f *fakes) chartSecret() []string {
	return []string{
		"OCEAN__PORT__CLIENT_ID=" + f.pt.ClientID,
		"OCEAN__PORT__CLIENT_SECRET=" + f.pt.ClientSecret,
		"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=" + f.gl.Token,
		"OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET=hook-secret-1234",
	}
}

// chartCertificate is what every template adds when
// selfSignedCertificate.enabled: the variables below, and the CA mounted
// at /usr/local/share/ca-certificates/cert.crt.
func chartCertificate(v chartValues) []string {
	if !v.selfSignedCert {
		return nil
	}
	return []string{
		"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
		"REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt",
	}
}

func (v chartValues) gitlab(f *fakes) string {
	if v.gitlabURL != "" {
		return v.gitlabURL
	}
	return f.gl.URL
}

// chartMain is the main Deployment: configmap.yaml, then deployment.yaml's
// env. The resync CronJob (cron.yaml) uses the same ConfigMap with the
// listener forced to ONCE and no scheduled interval.
func (f *fakes) chartMain(v chartValues) []string {
	listener := v.eventListener
	if listener == "" {
		listener = `{"type":"POLLING"}`
	}
	env := []string{
		"OCEAN__PORT__BASE_URL=" + f.pt.URL,
		"OCEAN__INITIALIZE_PORT_RESOURCES=true",
	}
	if v.origin != "" {
		env = append(env, "OCEAN__CREATE_PORT_RESOURCES_ORIGIN="+v.origin)
	}
	env = append(env,
		"OCEAN__ALLOW_ENVIRONMENT_VARIABLES_JQ_ACCESS=true",
	)
	if v.clientTimeout != "" {
		env = append(env, "OCEAN__CLIENT_TIMEOUT="+v.clientTimeout)
	}
	env = append(env,
		"OCEAN__SEND_RAW_DATA_EXAMPLES=true",
		"OCEAN__EVENT_LISTENER="+listener,
		"OCEAN__INTEGRATION__IDENTIFIER=my-gitlab-integration",
		"OCEAN__INTEGRATION__CONFIG__GITLAB_HOST="+v.gitlab(f),
		"OCEAN__PROCESS_EXECUTION_MODE=single_process",
		"OCEAN__LAKEHOUSE_ENABLED=true",
		"OCEAN__PROCESSING_MODE=dsp",
		"OCEAN__STREAMING__ENABLED=false",
		"OCEAN__ACTIONS_PROCESSOR__ENABLED=false",
	)
	env = append(env, f.chartSecret()...)
	// deployment.yaml's env: (no live-events worker)
	if v.liveEventsBase != "" {
		env = append(env, "OCEAN__BASE_URL="+v.liveEventsBase)
	}
	env = append(env, fmt.Sprintf("OCEAN__LIVE_EVENTS__IS_REDIS_STREAM_CONSUMER_ENABLED=%t", v.redisConsumer))
	return append(env, chartCertificate(v)...)
}

// chartCron is the resync CronJob's container (cron.yaml): the main
// ConfigMap with {"type":"ONCE"}.
func (f *fakes) chartCron(v chartValues) []string {
	v.eventListener = `{"type":"ONCE"}`
	return f.chartMain(v)
}

// chartLiveEvents is the live-events worker (configmap-live-events.yaml,
// deployment-live-events.yaml), with eventsDebugLogging on.
func (f *fakes) chartLiveEvents(v chartValues) []string {
	env := []string{
		"OCEAN__PORT__BASE_URL=" + f.pt.URL,
		"OCEAN__INITIALIZE_PORT_RESOURCES=false",
		"OCEAN__ALLOW_ENVIRONMENT_VARIABLES_JQ_ACCESS=true",
	}
	if v.clientTimeout != "" {
		env = append(env, "OCEAN__CLIENT_TIMEOUT="+v.clientTimeout)
	}
	env = append(env,
		`OCEAN__EVENT_LISTENER={"type":"WEBHOOKS_ONLY"}`,
		"OCEAN__INTEGRATION__IDENTIFIER=my-gitlab-integration",
		"OCEAN__INTEGRATION__CONFIG__GITLAB_HOST="+v.gitlab(f),
	)
	if v.liveEventsBase != "" {
		env = append(env, "OCEAN__BASE_URL="+v.liveEventsBase)
	}
	env = append(env,
		"OCEAN__LAKEHOUSE_ENABLED=true",
		"OCEAN__PROCESSING_MODE=dsp",
		"OCEAN__ACTIONS_PROCESSOR__ENABLED=false",
		"OCEAN__EVENTS_DEBUG_LOGGING=true",
		fmt.Sprintf("OCEAN__LIVE_EVENTS__IS_REDIS_STREAM_CONSUMER_ENABLED=%t", v.redisConsumer),
	)
	env = append(env, f.chartSecret()...)
	return append(env, chartCertificate(v)...)
}

// chartActions is the actions processor (actions-processor/configmap.yaml).
func (f *fakes) chartActions(v chartValues) []string {
	env := []string{
		"OCEAN__PORT__BASE_URL=" + f.pt.URL,
		"OCEAN__INITIALIZE_PORT_RESOURCES=false",
		"OCEAN__ALLOW_ENVIRONMENT_VARIABLES_JQ_ACCESS=true",
	}
	if v.clientTimeout != "" {
		env = append(env, "OCEAN__CLIENT_TIMEOUT="+v.clientTimeout)
	}
	env = append(env,
		`OCEAN__EVENT_LISTENER={"type":"ACTIONS_ONLY"}`,
		"OCEAN__INTEGRATION__IDENTIFIER=my-gitlab-integration",
		"OCEAN__INTEGRATION__CONFIG__GITLAB_HOST="+v.gitlab(f),
		"OCEAN__ACTIONS_PROCESSOR__ENABLED=true",
		"OCEAN__LAKEHOUSE_ENABLED=true",
		"OCEAN__PROCESSING_MODE=dsp",
	)
	env = append(env, f.chartSecret()...)
	return append(env, chartCertificate(v)...)
}

// chartIncremental is the incremental CronJob's container
// (configmap-incremental.yaml).
func (f *fakes) chartIncremental(v chartValues) []string {
	env := []string{
		"OCEAN__PORT__BASE_URL=" + f.pt.URL,
		"OCEAN__INITIALIZE_PORT_RESOURCES=false",
		"OCEAN__ALLOW_ENVIRONMENT_VARIABLES_JQ_ACCESS=true",
	}
	if v.clientTimeout != "" {
		env = append(env, "OCEAN__CLIENT_TIMEOUT="+v.clientTimeout)
	}
	env = append(env,
		"OCEAN__SEND_RAW_DATA_EXAMPLES=true",
		`OCEAN__EVENT_LISTENER={"type":"ONCE"}`,
		"OCEAN__INTEGRATION__IDENTIFIER=my-gitlab-integration",
		"OCEAN__INTEGRATION__INCREMENTAL_SYNC_ENABLED=true",
		"OCEAN__INTEGRATION__CONFIG__GITLAB_HOST="+v.gitlab(f),
		"OCEAN__LAKEHOUSE_ENABLED=true",
		"OCEAN__PROCESSING_MODE=dsp",
	)
	env = append(env, f.chartSecret()...)
	return append(env, chartCertificate(v)...)
}

// chartProbe is the probe Job's container (probe/job.yaml): its env, then
// the main ConfigMap and the Secret through envFrom.
func (f *fakes) chartProbe(v chartValues) []string {
	env := []string{`OCEAN__EVENT_LISTENER={"type":"ONCE"}`, "OCEAN__PROBE_REPORTING_MODE=port"}
	env = append(env, chartCertificate(v)...)
	for _, kv := range f.chartMain(v) {
		if !strings.HasPrefix(kv, "OCEAN__EVENT_LISTENER=") {
			env = append(env, kv)
		}
	}
	return env
}

// newSteppedFakes are fakes whose Port moves its clock a second per
// reading from a fixed day: runs that follow each other within one second
// of the wall clock are still apart in Port's time, as Port's Date header
// (whole seconds) decides which entities a full resync finds stale.
func newSteppedFakes(t *testing.T) *fakes {
	t.Helper()
	size := gitlabtest.SizeSmall
	size.Now = time.Now()
	clk := porttest.NewStepClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC), time.Second)
	return &fakes{
		gl: gitlabtest.NewServer(t, gitlabtest.WithDataset(gitlabtest.Generate(3, size))),
		pt: porttest.NewServer(t, porttest.WithClock(clk.Now)),
	}
}

// TestHelmLongRunningModes starts the chart's three Deployments with
// clientTimeout set and checks both generations of probes: /health/live
// and /health/ready (0.16.0 and later) and /docs (up to 0.15.12).
func TestHelmLongRunningModes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		env   func(f *fakes, v chartValues) []string
		check func(t *testing.T, f *fakes, p *process, base string)
	}{
		{name: "main Deployment (POLLING)", env: (*fakes).chartMain, check: func(t *testing.T, f *fakes, p *process, base string) {
			waitFor(t, p, "first resync", func() bool {
				integ, ok := f.pt.Integration("my-gitlab-integration")
				return ok && integ.ResyncState != nil && integ.ResyncState.Status == "completed"
			})
			assert.Positive(t, f.pt.EntityCount("service"))
			assert.Equal(t, 1, strings.Count(p.output(), "raw data is mapped here"), "DSP and lakehouse are logged once")
		}},
		{name: "live-events worker (WEBHOOKS_ONLY, Redis consumer on, no Redis URL, no org flag)", env: (*fakes).chartLiveEvents, check: func(t *testing.T, f *fakes, p *process, base string) {
			assert.Contains(t, p.output(), "live events are queued in process")
			assert.Contains(t, p.output(), "does not have the feature flag LIVE_EVENTS_REDIS_STREAM_ENABLED")
			var projectID, iid int
			for _, pr := range f.gl.Dataset().Projects() {
				for _, mr := range f.gl.Dataset().MergeRequests(pr.ID) {
					if projectID == 0 {
						projectID, iid = pr.ID, mr.IID
					}
				}
			}
			require.NotZero(t, projectID)
			body := fmt.Sprintf(`{"object_kind":"merge_request","event_type":"merge_request","project":{"id":%d},`+
				`"object_attributes":{"iid":%d,"target_project_id":%d,"action":"open","description":"payload-marker-42"}}`, projectID, iid, projectID)
			assert.Equal(t, 202, httpStatus("POST", base+"/integration/webhook", body,
				map[string]string{"X-Gitlab-Event": "Merge Request Hook", "X-Gitlab-Token": "hook-secret-1234", "Content-Type": "application/json"}))
			waitFor(t, p, "the payload in the log (OCEAN__EVENTS_DEBUG_LOGGING)", func() bool {
				return strings.Contains(p.output(), "payload-marker-42")
			})
		}},
		{name: "actions processor (ACTIONS_ONLY)", env: (*fakes).chartActions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakes(t)
			port := freePort(t)
			env := append(tt.env(f, chartValues{clientTimeout: "60", redisConsumer: true}), fmt.Sprintf("APPLICATION__PORT=%d", port))
			p := start(t, env)
			base := fmt.Sprintf("http://127.0.0.1:%d", port)
			waitFor(t, p, "ready", func() bool { return httpStatus("GET", base+"/health/ready", "", nil) == 200 })
			assert.Equal(t, 200, httpStatus("GET", base+"/health/live", "", nil))
			assert.Equal(t, 200, httpStatus("GET", base+"/docs", "", nil), "charts up to 0.15.12 probe /docs")
			if tt.check != nil {
				tt.check(t, f, p, base)
			}
			assert.Equal(t, 0, p.stop(t), "output:\n%s", p.output())
			f.assertNoSecrets(t, p.output())
		})
	}
}

// TestHelmRedisConsumerWithTheOrgFlag: with the organisation's flag the
// Redis queue the chart's value asks for is used (and the start fails
// when Redis cannot be reached, which is what the flag promises).
func TestHelmRedisConsumerWithTheOrgFlag(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	f.pt.SetFeatureFlags("LIVE_EVENTS_REDIS_STREAM_ENABLED")
	env := append(f.chartLiveEvents(chartValues{redisConsumer: true}),
		fmt.Sprintf("APPLICATION__PORT=%d", freePort(t)),
		fmt.Sprintf("OCEAN__LIVE_EVENTS__REDIS__URL=redis://127.0.0.1:%d", freePort(t)),
		"OCEAN__LIVE_EVENTS__REDIS__CONNECTION_STARTUP_MAX_RETRIES=0")
	r := runBinary(t, env)
	assert.Equal(t, 1, r.code, "stderr:\n%s", r.stderr)
	assert.Contains(t, r.stderr, "live events are queued in Redis stream")
	assert.Contains(t, r.stderr, "the organisation has the feature flag LIVE_EVENTS_REDIS_STREAM_ENABLED")
	f.assertNoSecrets(t, r.stdout, r.stderr)
}

// TestHelmCronJobs runs the resync CronJob and the incremental CronJob as
// the chart schedules them side by side: the incremental job never runs a
// full resync (nothing is deleted in it) and starts from the watermarks
// the full resync recorded; the next full resync deletes.
func TestHelmCronJobs(t *testing.T) {
	t.Parallel()
	f := newSteppedFakes(t)
	v := chartValues{clientTimeout: "60"}
	r := runBinary(t, f.chartCron(v))
	require.Equal(t, 0, r.code, "resync CronJob; stderr:\n%s", r.stderr)
	gone := f.pt.Entities("service")[0].ID()
	require.NoError(t, f.gl.Dataset().DeleteProject(gone))

	r = runBinary(t, f.chartIncremental(v))
	require.Equal(t, 0, r.code, "incremental CronJob; stderr:\n%s", r.stderr)
	assert.Contains(t, r.stderr, "incremental=true")
	assert.NotContains(t, r.stderr, "no incremental watermark", "the full resync recorded every resource's watermark")
	assert.Contains(t, r.stderr, "deletions wait for the next full resync")
	_, ok := f.pt.Entity("service", gone)
	assert.True(t, ok, "the incremental job deletes nothing")

	r = runBinary(t, f.chartCron(v))
	require.Equal(t, 0, r.code, "resync CronJob; stderr:\n%s", r.stderr)
	_, ok = f.pt.Entity("service", gone)
	assert.False(t, ok, "the full resync deletes the stale entity; stderr:\n%s", r.stderr)

	// A failed resync fails the Job (Ocean exits 0): kept on purpose.
	bad := append(f.chartCron(v), "OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=glpat-wrong-token-000")
	r = runBinary(t, bad)
	assert.Equal(t, 1, r.code, "stderr:\n%s", r.stderr)
	f.assertNoSecrets(t, r.stdout, r.stderr)
}

// TestHelmIncrementalFirstRun: an incremental CronJob that runs before any
// full resync recorded a watermark reads the resources in full and still
// deletes nothing.
func TestHelmIncrementalFirstRun(t *testing.T) {
	t.Parallel()
	f := newSteppedFakes(t)
	r := runBinary(t, f.chartCron(chartValues{}))
	require.Equal(t, 0, r.code, r.stderr)
	// A mapping change: no resource has a watermark any more.
	gone := f.pt.Entities("service")[0].ID()
	require.NoError(t, f.gl.Dataset().DeleteProject(gone))
	integ, ok := f.pt.Integration("my-gitlab-integration")
	require.True(t, ok)
	var pac map[string]any
	require.NoError(t, json.Unmarshal(integ.Config, &pac))
	for _, res := range pac["resources"].([]any) {
		sel, _ := res.(map[string]any)["selector"].(map[string]any)
		if sel == nil {
			sel = map[string]any{}
			res.(map[string]any)["selector"] = sel
		}
		sel["query"] = "true and true"
	}
	pc, err := port.New(f.pt.URL, f.pt.ClientID, f.pt.ClientSecret)
	require.NoError(t, err)
	_, err = pc.PatchIntegration(t.Context(), "my-gitlab-integration", map[string]any{"config": pac})
	require.NoError(t, err)

	r = runBinary(t, f.chartIncremental(chartValues{}))
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "no incremental watermark")
	_, ok = f.pt.Entity("service", gone)
	assert.True(t, ok, "nothing is deleted in the incremental job, even when it reads a resource in full")
}

// TestHelmSelfSignedCertificate: a self-managed GitLab behind a private CA,
// the CA in a folder laid out as the chart mounts it
// (…/usr/local/share/ca-certificates/cert.crt), the chart's
// SSL_CERT_FILE/REQUESTS_CA_BUNDLE set. The program trusts the folder
// (OCEAN__SSL__CA_DIR, whose default is the chart's path), and so does Go
// itself through SSL_CERT_DIR, which the image sets.
func TestHelmSelfSignedCertificate(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	caPEM, serverCert := newPrivateCA(t)
	tlsGitLab := httptest.NewUnstartedServer(f.gl)
	tlsGitLab.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12}
	tlsGitLab.StartTLS()
	t.Cleanup(tlsGitLab.Close)
	mount := filepath.Join(t.TempDir(), "usr", "local", "share", "ca-certificates")
	require.NoError(t, os.MkdirAll(mount, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(mount, "cert.crt"), caPEM, 0o444))

	v := chartValues{gitlabURL: tlsGitLab.URL, selfSignedCert: true, clientTimeout: "60"}
	tests := []struct {
		name     string
		extra    []string
		wantCode int
		wantErr  string
	}{
		{name: "the folder, as the program reads it", extra: []string{"OCEAN__SSL__CA_DIR=" + mount}, wantCode: 0},
		{name: "the folder, through SSL_CERT_DIR as the image sets it", extra: []string{"OCEAN__SSL__CA_DIR=" + filepath.Join(t.TempDir(), "none"), "SSL_CERT_DIR=" + mount + ":/etc/ssl/certs"}, wantCode: 0},
		{name: "without the CA", extra: []string{"OCEAN__SSL__CA_DIR=" + filepath.Join(t.TempDir(), "none")}, wantCode: 1, wantErr: "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The fakes are shared: cases run one after another.
			r := runBinary(t, append(f.chartCron(v), tt.extra...))
			assert.Equal(t, tt.wantCode, r.code, "stderr:\n%s", r.stderr)
			if tt.wantErr != "" {
				assert.Contains(t, r.stderr, tt.wantErr)
			}
			f.assertNoSecrets(t, r.stdout, r.stderr)
		})
	}
	// The probe Job goes through the same mount.
	r := runOcean(t, append(f.chartProbe(v), "OCEAN__SSL__CA_DIR="+mount), "probe", ".", "--mode", "shallow")
	assert.Equal(t, 0, r.code, "stderr:\n%s", r.stderr)
}

// newPrivateCA makes a CA and a certificate for 127.0.0.1 signed by it.
func newPrivateCA(t *testing.T) ([]byte, tls.Certificate) {
	t.Helper()
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	epoch := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Self-managed GitLab CA"},
		NotBefore: epoch, NotAfter: epoch.AddDate(100, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "gitlab.internal"},
		NotBefore: epoch, NotAfter: epoch.AddDate(100, 0, 0),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// runOcean runs the binary under the name `ocean`, as the image installs it
// for the chart's probe Job (command: ["ocean", "probe"]).
func runOcean(t *testing.T, env []string, args ...string) result {
	t.Helper()
	dir := t.TempDir()
	link := filepath.Join(dir, "ocean")
	require.NoError(t, os.Symlink(binary, link))
	return runBinaryAs(t, link, env, args...)
}

// runBinaryAs runs the program under another name (a link to it).
func runBinaryAs(t *testing.T, path string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// TestHelmProbe runs the probe Job's command line.
func TestHelmProbe(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	r := runBinary(t, f.chartCron(chartValues{}))
	require.Equal(t, 0, r.code, r.stderr)
	env := f.chartProbe(chartValues{clientTimeout: "60"})
	tests := []struct {
		name     string
		env      []string
		args     []string
		wantCode int
		want     []string // in stdout's JSON report or stderr
	}{
		{name: "shallow, every kind of the mapping", args: []string{"probe", ".", "--mode", "shallow"}, wantCode: 0,
			want: []string{`"ok":true`, "port credentials", "gitlab credentials", "gitlab token scopes", "kind project", "kind merge-request"}},
		{name: "selected kinds", args: []string{"probe", ".", "--mode", "shallow", "--kinds", "project,merge-request"}, wantCode: 0,
			want: []string{`"name":"kind project"`, `"name":"kind merge-request"`}},
		{name: "a wrong GitLab token", env: []string{"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=glpat-wrong-token-000"}, args: []string{"probe", "."}, wantCode: 1,
			want: []string{`"ok":false`, "gitlab credentials"}},
		{name: "wrong Port credentials", env: []string{"OCEAN__PORT__CLIENT_SECRET=wrong-secret-000"}, args: []string{"probe", "."}, wantCode: 1,
			want: []string{`"ok":false`, "port credentials"}},
		{name: "an unknown kind", args: []string{"probe", ".", "--kinds", "no-such-kind"}, wantCode: 1, want: []string{"unknown kind"}},
		{name: "an unknown mode", args: []string{"probe", ".", "--mode", "sideways"}, wantCode: 2, want: []string{"--mode"}},
		{name: "ocean without a command", args: []string{"list"}, wantCode: 2, want: []string{"ocean probe"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runOcean(t, append(append([]string(nil), env...), tt.env...), tt.args...)
			assert.Equal(t, tt.wantCode, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			for _, w := range tt.want {
				assert.Contains(t, r.stdout+r.stderr, w)
			}
			f.assertNoSecrets(t, r.stdout, r.stderr)
		})
	}
	// The binary's own name takes `probe` as its first argument too.
	r = runBinary(t, env, "probe", ".", "--kinds", "project")
	assert.Equal(t, 0, r.code, r.stderr)
	var rep struct {
		OK     bool               `json:"ok"`
		Checks []ocean.ProbeCheck `json:"checks"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	assert.True(t, rep.OK)
	assert.NotEmpty(t, rep.Checks)
	// The probe changes nothing in Port.
	before := len(f.pt.Requests())
	r = runOcean(t, env, "probe", ".")
	require.Equal(t, 0, r.code)
	for _, req := range f.pt.Requests()[before:] {
		assert.True(t, strings.HasPrefix(req.Route, "GET ") || strings.HasPrefix(req.Route, "POST /v1/auth"), "a probe only reads: %s", req.Route)
	}
}

// TestHelmLogFormatFromEnvironment: the chart can pass only environment
// (extraEnv), so JSON logs are a setting.
func TestHelmLogFormatFromEnvironment(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	r := runBinary(t, append(f.chartCron(chartValues{}), "APPLICATION__LOG_FORMAT=json"))
	require.Equal(t, 0, r.code, r.stderr)
	sc := bufio.NewScanner(strings.NewReader(r.stderr))
	lines := 0
	for sc.Scan() {
		var v map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &v), "not JSON: %s", sc.Text())
		lines++
	}
	assert.Positive(t, lines)
}
