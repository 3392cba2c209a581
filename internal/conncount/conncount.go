// Package conncount counts the TCP connections an http.Server accepts and
// closes, for the fakes (gitlab/gitlabtest, port/porttest): a client that
// keeps fewer idle connections than it has requests in flight closes and
// reopens them all the time, and shows in the counts.
package conncount

import (
	"net"
	"net/http"
	"sync/atomic"
)

// Counter counts connections; its zero value is ready. Set ConnState as
// the server's http.Server.ConnState.
type Counter struct {
	opened, closed atomic.Int64
}

// ConnState is an http.Server.ConnState hook: it counts connections as they
// open and close, at no cost to the server.
func (c *Counter) ConnState(_ net.Conn, st http.ConnState) {
	switch st {
	case http.StateNew:
		c.opened.Add(1)
	case http.StateClosed, http.StateHijacked:
		c.closed.Add(1)
	}
}

// Counts returns how many connections were opened and closed so far.
func (c *Counter) Counts() (opened, closed int64) {
	return c.opened.Load(), c.closed.Load()
}
