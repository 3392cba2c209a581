package gitlabtest

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Connections counts what clients open and close: a keep-alive client
// reuses one connection, a client without keep-alives opens one per
// request.
func TestConnections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		keepAlives bool
		wantOpened int64
	}{
		{"keep-alive reuses one connection", true, 1},
		{"no keep-alive opens one per request", false, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := NewServer(t)
			tr := &http.Transport{DisableKeepAlives: !tt.keepAlives}
			hc := &http.Client{Transport: tr}
			for range 3 {
				req, err := http.NewRequest(http.MethodGet, s.APIURL()+"/version", nil)
				require.NoError(t, err)
				req.Header.Set("PRIVATE-TOKEN", s.Token)
				resp, err := hc.Do(req)
				require.NoError(t, err)
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			opened, _ := s.Connections()
			assert.Equal(t, tt.wantOpened, opened)
			tr.CloseIdleConnections()
			// The server sees a close when it next reads the connection.
			require.Eventually(t, func() bool { _, closed := s.Connections(); return closed == tt.wantOpened },
				10*time.Second, 5*time.Millisecond)
		})
	}
}
