// Package httpcheck applies net/http's own rules to a request before it is
// sent, so that the API clients can tell a request that cannot be sent (a
// local mistake, never worth a retry) from a connection that failed.
package httpcheck

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Request checks what req would put on the wire: the method, an absolute
// http(s) URL with a host, and header names and values. Header values are
// never quoted in the error: a token is one of them.
func Request(req *http.Request) error {
	if !validToken(req.Method) {
		return fmt.Errorf("invalid method %q", req.Method)
	}
	if req.URL == nil || (req.URL.Scheme != "http" && req.URL.Scheme != "https") || req.URL.Host == "" {
		return errors.New("the URL is not an absolute http(s) URL")
	}
	for name, values := range req.Header {
		if !validToken(name) {
			return fmt.Errorf("invalid header name %q", name)
		}
		for _, v := range values {
			if !validHeaderValue(v) {
				return fmt.Errorf("the value of header %s has a control character (a newline at the end of a token read from a file?)", name)
			}
		}
	}
	return nil
}

// validHeaderValue is RFC 7230's field-value as net/http checks it: no
// control character other than horizontal tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

// validToken is RFC 7230's token (a method or a header name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0:
		default:
			return false
		}
	}
	return true
}
