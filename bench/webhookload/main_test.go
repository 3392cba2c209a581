package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"
)

// TestMain lets the test binary serve as the server under test, as the
// command does.
func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) == "1" {
		if err := serve(); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestJSONStreamIsValid(t *testing.T) {
	t.Parallel()
	for _, n := range []int64{200, 1000, 4096, 1 << 20} {
		var sent atomic.Int64
		b, err := io.ReadAll(&jsonStream{n: n, sent: &sent})
		if err != nil || int64(len(b)) != n || !json.Valid(b) || sent.Load() != n {
			t.Fatalf("n=%d: %d bytes, valid JSON %v, counted %d", n, len(b), json.Valid(b), sent.Load())
		}
	}
}

// TestTinyRun keeps the load program working: every scenario at a tiny
// size against a real server process.
func TestTinyRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"-big", "2", "-big-size", "1048576", "-slow", "4", "-rejects", "20", "-read-timeout", "300ms"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| wrong secret | 401 ×2 |", "| no X-Gitlab-Event | 200 ×2 |", "| wrong secret | 4 of 4 |", "| right secret | 4 of 4 |", "answers: 401 ×20"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
