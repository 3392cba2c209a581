package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/gitlab/gitlabtest"
	"github.com/oceankit/oceankit/port/porttest"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gitlab-sync-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "gitlab-sync")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build gitlab-sync: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type fakes struct {
	gl *gitlabtest.Server
	pt *porttest.Server
}

func newFakes(t *testing.T) *fakes {
	t.Helper()
	size := gitlabtest.SizeSmall
	size.Now = time.Now()
	return &fakes{
		gl: gitlabtest.NewServer(t, gitlabtest.WithDataset(gitlabtest.Generate(3, size))),
		pt: porttest.NewServer(t),
	}
}

// installEnv is the environment of Port's install docs for gitlab-v2,
// pointed at the fakes.
func (f *fakes) installEnv(listener string) []string {
	return []string{
		"OCEAN__PORT__CLIENT_ID=" + f.pt.ClientID,
		"OCEAN__PORT__CLIENT_SECRET=" + f.pt.ClientSecret,
		"OCEAN__PORT__BASE_URL=" + f.pt.URL,
		"OCEAN__EVENT_LISTENER__TYPE=" + listener,
		"OCEAN__INITIALIZE_PORT_RESOURCES=true",
		"OCEAN__SEND_RAW_DATA_EXAMPLES=true",
		"OCEAN__INTEGRATION__IDENTIFIER=my-gitlab-integration",
		"OCEAN__INTEGRATION__TYPE=gitlab-v2",
		"OCEAN__INTEGRATION__CONFIG__GITLAB_URL=" + f.gl.URL,
		"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=" + f.gl.Token,
		"OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET=hook-secret-1234",
		"APPLICATION__LOG_LEVEL=INFO",
	}
}

type result struct {
	code           int
	stdout, stderr string
}

func runBinary(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
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

func (f *fakes) assertNoSecrets(t *testing.T, outputs ...string) {
	t.Helper()
	for _, o := range outputs {
		for _, s := range []string{f.pt.ClientSecret, f.gl.Token, "hook-secret-1234"} {
			assert.NotContains(t, o, s, "a secret leaked into the output")
		}
	}
}

func TestOnceSucceedsWithExitCodeZero(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	r := runBinary(t, f.installEnv("ONCE"))
	require.Equal(t, 0, r.code, "stderr:\n%s", r.stderr)
	assert.Positive(t, f.pt.EntityCount("service"))
	assert.Positive(t, f.pt.EntityCount("gitlabMergeRequest"))
	integ, ok := f.pt.Integration("my-gitlab-integration")
	require.True(t, ok)
	assert.Equal(t, "completed", integ.ResyncState.Status)
	assert.Contains(t, r.stderr, "resync finished")
	f.assertNoSecrets(t, r.stdout, r.stderr)
}

func TestOnceFailsWithNonZeroExitCode(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	env := append(f.installEnv("ONCE"), "OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=glpat-wrong-token-000")
	r := runBinary(t, env)
	assert.Equal(t, 1, r.code, "a failed resync exits non-zero; stderr:\n%s", r.stderr)
	integ, ok := f.pt.Integration("my-gitlab-integration")
	require.True(t, ok)
	assert.Equal(t, "failed", integ.ResyncState.Status)
	assert.NotContains(t, r.stderr, "glpat-wrong-token-000")
	f.assertNoSecrets(t, r.stdout, r.stderr)
}

func TestBadConfigurationExitsTwo(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	var env []string
	for _, kv := range f.installEnv("ONCE") {
		if !strings.HasPrefix(kv, "OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=") {
			env = append(env, kv)
		}
	}
	r := runBinary(t, env)
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN")

	r = runBinary(t, append(f.installEnv("ONCE"), "OCEAN__EVENT_LISTENER__TYPE=SOMETIMES"))
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "OCEAN__EVENT_LISTENER__TYPE")
	f.assertNoSecrets(t, r.stdout, r.stderr)
}

func TestHelpDocumentsEverySetting(t *testing.T) {
	t.Parallel()
	r := runBinary(t, nil, "--help")
	require.Equal(t, 0, r.code)
	for _, s := range allSettings() {
		assert.Contains(t, r.stderr, s.Env)
		assert.NotEmpty(t, s.Help, "%s has no description in settings.go", s.Env)
	}
	for _, flag := range []string{"-dry-run", "-config", "-log-format", "-log-level", "-once", "-port"} {
		assert.Contains(t, r.stderr, flag)
	}
}

// TestDocsDocumentEverySetting keeps the configuration reference
// (docs/configuration.md) true: every variable the program reads is
// listed there.
func TestDocsDocumentEverySetting(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/configuration.md")
	require.NoError(t, err)
	for _, s := range allSettings() {
		assert.Contains(t, string(doc), "`"+s.Env+"`", "docs/configuration.md does not document %s", s.Env)
	}
}

func TestDryRunWritesEntitiesAndTouchesNothing(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	mappingFile := filepath.Join(t.TempDir(), "mapping.yml")
	require.NoError(t, os.WriteFile(mappingFile, []byte(`
resources:
  - kind: project
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: .path_with_namespace
          title: .name
          blueprint: '"service"'
          properties:
            url: .web_url
`), 0o600))
	// Only GitLab credentials: no Port at all.
	env := []string{
		"OCEAN__INTEGRATION__CONFIG__GITLAB_URL=" + f.gl.URL,
		"OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN=" + f.gl.Token,
	}
	r := runBinary(t, env, "--dry-run", "--config", mappingFile, "--log-format", "json")
	require.Equal(t, 0, r.code, "stderr:\n%s", r.stderr)
	var n int
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		var rec struct {
			Op     string         `json:"op"`
			Entity map[string]any `json:"entity"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rec), sc.Text())
		assert.Equal(t, "upsert", rec.Op)
		assert.NotEmpty(t, rec.Entity["identifier"])
		assert.Equal(t, "service", rec.Entity["blueprint"])
		n++
	}
	assert.Positive(t, n)
	assert.Contains(t, r.stderr, "would delete", "a summary table follows")
	assert.Zero(t, f.pt.TotalEntities())
	assert.Empty(t, f.pt.Requests(), "a dry run sends nothing to Port")
	f.assertNoSecrets(t, r.stdout, r.stderr)

	r = runBinary(t, env, "--dry-run")
	assert.Equal(t, 2, r.code, "a dry run without a mapping source is a usage error")
}

// process runs the binary in the background.
type process struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan error
}

func (p *process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.Write(b)
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

func start(t *testing.T, env []string) *process {
	t.Helper()
	p := &process{done: make(chan error, 1)}
	p.cmd = exec.Command(binary)
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	p.cmd.Stderr = p
	p.cmd.Stdout = p
	require.NoError(t, p.cmd.Start())
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	return p
}

// stop sends SIGTERM and returns the exit code.
func (p *process) stop(t *testing.T) int {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit after SIGTERM; output:\n%s", p.output())
	}
	return p.cmd.ProcessState.ExitCode()
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitFor(t *testing.T, p *process, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; output:\n%s", what, p.output())
}

func httpStatus(method, url string, body string, headers map[string]string) int {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestPollingResyncsAndServesHealth(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	port := freePort(t)
	env := append(f.installEnv("POLLING"), fmt.Sprintf("APPLICATION__PORT=%d", port), "OCEAN__EVENT_LISTENER__INTERVAL=1")
	p := start(t, env)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitFor(t, p, "ready", func() bool { return httpStatus("GET", base+"/health/ready", "", nil) == 200 })
	waitFor(t, p, "first resync", func() bool {
		integ, ok := f.pt.Integration("my-gitlab-integration")
		return ok && integ.ResyncState != nil && integ.ResyncState.Status == "completed"
	})
	before := len(f.pt.ResyncStates("my-gitlab-integration"))
	_, ok := f.pt.RequestResync("my-gitlab-integration")
	require.True(t, ok)
	waitFor(t, p, "a resync after the request", func() bool {
		states := f.pt.ResyncStates("my-gitlab-integration")
		return len(states) >= before+2 && states[len(states)-1].Status == "completed"
	})
	assert.Equal(t, 200, httpStatus("GET", base+"/health/live", "", nil))
	assert.Equal(t, 200, httpStatus("GET", base+"/metrics", "", nil))
	assert.Equal(t, 0, p.stop(t), "SIGTERM is a clean shutdown")
	f.assertNoSecrets(t, p.output())
}

func TestWebhooksOnlyServesTheWebhookRoute(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	port := freePort(t)
	env := append(f.installEnv("WEBHOOKS_ONLY"), fmt.Sprintf("APPLICATION__PORT=%d", port))
	p := start(t, env)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitFor(t, p, "ready", func() bool { return httpStatus("GET", base+"/health/ready", "", nil) == 200 })
	// An authenticated delivery whose body is not JSON is refused; one no
	// processor takes (no GitLab headers) is answered 200 from its headers.
	assert.Equal(t, 400, httpStatus("POST", base+"/integration/webhook", "{not json",
		map[string]string{"X-Gitlab-Event": "Merge Request Hook", "X-Gitlab-Token": "hook-secret-1234"}))
	assert.Equal(t, 200, httpStatus("POST", base+"/integration/webhook", "{not json", nil))
	assert.Zero(t, f.pt.TotalEntities(), "WEBHOOKS_ONLY does not resync")

	// A merge request event, as GitLab delivers it: the processor fetches
	// the merge request and it lands in Port.
	var projectID, iid, mrID int
	for _, pr := range f.gl.Dataset().Projects() {
		for _, mr := range f.gl.Dataset().MergeRequests(pr.ID) {
			if mr.State == "opened" && projectID == 0 {
				projectID, iid, mrID = pr.ID, mr.IID, mr.ID
			}
		}
	}
	require.NotZero(t, projectID)
	body := fmt.Sprintf(`{"object_kind":"merge_request","event_type":"merge_request","project":{"id":%d},`+
		`"object_attributes":{"iid":%d,"target_project_id":%d,"action":"open"}}`, projectID, iid, projectID)
	hook := map[string]string{"X-Gitlab-Event": "Merge Request Hook", "Content-Type": "application/json"}
	hook["X-Gitlab-Token"] = "not-the-secret"
	assert.Equal(t, 401, httpStatus("POST", base+"/integration/webhook", body, hook))
	hook["X-Gitlab-Token"] = "hook-secret-1234"
	assert.Equal(t, 202, httpStatus("POST", base+"/integration/webhook", body, hook))
	waitFor(t, p, "the merge request in Port", func() bool {
		_, ok := f.pt.Entity("gitlabMergeRequest", fmt.Sprint(mrID))
		return ok
	})
	assert.Equal(t, 0, p.stop(t))
	f.assertNoSecrets(t, p.output())
}

func TestPlanShowsChangesAndWritesNothing(t *testing.T) {
	t.Parallel()
	f := newFakes(t)
	r := runBinary(t, f.installEnv("ONCE"))
	require.Equal(t, 0, r.code, r.stderr)
	gone := f.pt.Entities("service")[0].ID()
	require.NoError(t, f.gl.Dataset().DeleteProject(gone))
	before := len(f.pt.Requests())

	r = runBinary(t, f.installEnv("POLLING"), "--plan")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "blueprint")
	assert.Contains(t, r.stdout, "- "+gone, "the deleted project's entity would be deleted")
	for _, req := range f.pt.Requests()[before:] {
		assert.NotContains(t, []string{"POST /v1/blueprints/{blueprint}/entities/bulk", "POST /v1/blueprints/{blueprint}/bulk/entities/delete",
			"PATCH /v1/integration/{id}/resync-state", "DELETE /v1/blueprints/{blueprint}/entities/{identifier}"}, req.Route, "a plan writes nothing")
	}
	_, ok := f.pt.Entity("service", gone)
	assert.True(t, ok)

	r = runBinary(t, f.installEnv("POLLING"), "--plan", "--plan-format", "json")
	require.Equal(t, 0, r.code, r.stderr)
	var plan map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &plan))
	assert.Contains(t, plan, "blueprints")
	f.assertNoSecrets(t, r.stdout, r.stderr)
}
