package port

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// countingConn counts the writes of a connection.
type countingConn struct {
	net.Conn
	mu     sync.Mutex
	writes int
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *countingConn) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

// TestTransportWritesBulkBodyOnce checks that a request with a bulk body of a
// typical size leaves in a single write, headers included: with Go's default
// 4 KiB write buffer it takes two, and the second allocates a copy buffer.
func TestTransportWritesBulkBodyOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		bodyBytes  int
		wantWrites int
	}{
		{"small", 1 << 10, 1},
		{"typical bulk", 20 << 10, 1},
		{"larger than the buffer", writeBufferSize + 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got atomic.Int64
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n, _ := io.Copy(io.Discard, r.Body)
				got.Store(n)
			}))
			t.Cleanup(ts.Close)
			tr := newTransport()
			var conn atomic.Pointer[countingConn]
			dial := tr.DialContext
			tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := dial(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				cc := &countingConn{Conn: c}
				conn.Store(cc)
				return cc, nil
			}
			t.Cleanup(tr.CloseIdleConnections)
			body := bytes.Repeat([]byte("x"), tt.bodyBytes)
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.URL, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			res, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = res.Body.Close()
			if n := got.Load(); n != int64(tt.bodyBytes) {
				t.Fatalf("server read %d bytes, want %d", n, tt.bodyBytes)
			}
			if n := conn.Load().count(); n != tt.wantWrites {
				t.Errorf("request took %d writes, want %d", n, tt.wantWrites)
			}
		})
	}
}
