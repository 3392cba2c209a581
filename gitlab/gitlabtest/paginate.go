package gitlabtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// totalsLimit is the count above which GitLab stops sending X-Total,
// X-Total-Pages and rel="last".
const totalsLimit = 10000

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"message":"500 Internal Server Error"}`)
	}
	writeBytes(w, status, b)
}

func writeBytes(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeMessage writes GitLab's usual error shape {"message": "..."}.
func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}

// writeError writes GitLab's validation error shape {"error": "..."}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// listOpts says how an endpoint paginates.
type listOpts struct {
	// keyset is non-nil when the endpoint supports pagination=keyset; it
	// holds the order_by values keyset accepts.
	keyset []string
	// offsetCapType, when set, enforces the offset cap with this type name in
	// the error ("Project").
	offsetCapType string
}

func (rc *reqCtx) perPage() int {
	n, err := strconv.Atoi(rc.q.Get("per_page"))
	if err != nil || n < 1 {
		return 20
	}
	return min(n, 100)
}

// isKeyset reports whether the request asks for keyset pagination and the
// endpoint supports it; it writes a 405 when the combination is unsupported.
func (rc *reqCtx) isKeyset(o listOpts) (keyset, ok bool) {
	if rc.q.Get("pagination") != "keyset" || o.keyset == nil {
		return false, true
	}
	orderBy := rc.q.Get("order_by")
	if orderBy == "" {
		orderBy = "id"
	}
	for _, ob := range o.keyset {
		if ob == orderBy {
			return true, true
		}
	}
	writeMessage(rc.w, http.StatusMethodNotAllowed, "405 Method Not Allowed - Keyset pagination is not yet available for this type of request")
	return false, false
}

// paginate writes a page of items (already filtered and sorted) with
// GitLab's pagination headers. For keyset pagination the items must be
// sorted by ID in the requested direction.
func paginate[T any](rc *reqCtx, items []T, idOf func(T) int, enc func(T) []byte, o listOpts) {
	keyset, ok := rc.isKeyset(o)
	if !ok {
		return
	}
	perPage := rc.perPage()
	h := rc.w.Header()
	if keyset {
		desc := rc.q.Get("sort") == "desc"
		start := 0
		if v := rc.q.Get("id_after"); v != "" && !desc {
			after, err := strconv.Atoi(v)
			if err != nil {
				writeError(rc.w, http.StatusBadRequest, "id_after is invalid")
				return
			}
			for start < len(items) && idOf(items[start]) <= after {
				start++
			}
		}
		if v := rc.q.Get("id_before"); v != "" && desc {
			before, err := strconv.Atoi(v)
			if err != nil {
				writeError(rc.w, http.StatusBadRequest, "id_before is invalid")
				return
			}
			for start < len(items) && idOf(items[start]) >= before {
				start++
			}
		}
		end := min(len(items), start+perPage)
		page := items[start:end]
		if end < len(items) && len(page) > 0 {
			key, other := "id_after", "id_before"
			if desc {
				key, other = "id_before", "id_after"
			}
			next := rc.linkURL(map[string]string{key: strconv.Itoa(idOf(page[len(page)-1])), other: "", "page": ""})
			h.Set("Link", "<"+next+`>; rel="next"`)
		}
		writePage(rc, page, enc)
		return
	}

	page := 1
	if v, err := strconv.Atoi(rc.q.Get("page")); err == nil && v > 0 {
		page = v
	}
	if o.offsetCapType != "" && rc.s.cfg.offsetLimit > 0 && page*perPage > rc.s.cfg.offsetLimit {
		writeError(rc.w, http.StatusMethodNotAllowed, "Offset pagination has a maximum allowed offset of "+
			strconv.Itoa(rc.s.cfg.offsetLimit)+" for requests that return objects of type "+o.offsetCapType+
			". Remaining records can be retrieved using keyset pagination.")
		return
	}
	total := len(items)
	start := min(total, (page-1)*perPage)
	end := min(total, start+perPage)
	totalPages := max(1, (total+perPage-1)/perPage)
	showTotals := total <= totalsLimit

	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Per-Page", strconv.Itoa(perPage))
	prev, next := "", ""
	if page > 1 {
		prev = strconv.Itoa(min(page-1, totalPages))
	}
	if end < total {
		next = strconv.Itoa(page + 1)
	}
	h.Set("X-Prev-Page", prev)
	h.Set("X-Next-Page", next)
	if showTotals {
		h.Set("X-Total", strconv.Itoa(total))
		h.Set("X-Total-Pages", strconv.Itoa(totalPages))
	}
	var links []string
	if prev != "" {
		links = append(links, "<"+rc.linkURL(map[string]string{"page": prev})+`>; rel="prev"`)
	}
	if next != "" {
		links = append(links, "<"+rc.linkURL(map[string]string{"page": next})+`>; rel="next"`)
	}
	links = append(links, "<"+rc.linkURL(map[string]string{"page": "1"})+`>; rel="first"`)
	if showTotals {
		links = append(links, "<"+rc.linkURL(map[string]string{"page": strconv.Itoa(totalPages)})+`>; rel="last"`)
	}
	h.Set("Link", strings.Join(links, ", "))
	writePage(rc, items[start:end], enc)
}

func writePage[T any](rc *reqCtx, page []T, enc func(T) []byte) {
	// The page is written once, whole, from a buffer the server reuses: a
	// list of a hundred objects is the hot path of a benchmark resync, and
	// a fresh buffer per page (plus one slice of parts) was a tenth of what
	// the fakes allocated.
	buf := rc.s.pageBuf()
	defer rc.s.putPageBuf(buf)
	buf.WriteByte('[')
	for i, it := range page {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(enc(it))
	}
	buf.WriteByte(']')
	writeBytes(rc.w, http.StatusOK, buf.Bytes())
}

// linkURL is the request's URL with some query parameters replaced (an empty
// value removes the parameter).
func (rc *reqCtx) linkURL(set map[string]string) string {
	q := url.Values{}
	for k, v := range rc.q {
		q[k] = v
	}
	for k, v := range set {
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
	}
	if _, ok := set["per_page"]; !ok {
		q.Set("per_page", strconv.Itoa(rc.perPage()))
	}
	return rc.s.URL + rc.r.URL.EscapedPath() + "?" + q.Encode()
}

// --- query parameter helpers ---

// boolParam parses a GitLab boolean parameter; ok is false when absent.
func (rc *reqCtx) boolParam(name string) (val, ok bool) {
	v := rc.q.Get(name)
	if v == "" {
		return false, false
	}
	switch strings.ToLower(v) {
	case "true", "1", "yes", "t":
		return true, true
	}
	return false, true
}

// timeParam parses an ISO 8601 parameter; a malformed value writes 400.
func (rc *reqCtx) timeParam(name string) (time.Time, bool, bool) {
	t, has, ok := parseTimeParam(rc.q.Get(name))
	if !ok {
		writeError(rc.w, http.StatusBadRequest, name+" is invalid")
	}
	return t, has, ok
}

// parseTimeParam is timeParam's parsing: has is false for "", ok false for
// a value no layout takes.
func parseTimeParam(v string) (t time.Time, has, ok bool) {
	if v == "" {
		return time.Time{}, false, true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true, true
		}
	}
	return time.Time{}, false, false
}

func (rc *reqCtx) intParam(name string) (int, bool) {
	v, err := strconv.Atoi(rc.q.Get(name))
	return v, err == nil
}

// listParam returns a parameter given as name[]=a&name[]=b or name=a,b.
func (rc *reqCtx) listParam(name string) []string {
	var out []string
	for _, v := range rc.q[name+"[]"] {
		out = append(out, v)
	}
	for _, v := range rc.q[name] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// timeFilter applies *_after / *_before parameters to a timestamp.
type timeFilter struct {
	after, before       time.Time
	hasAfter, hasBefore bool
}

func (rc *reqCtx) timeFilter(prefix string) (timeFilter, bool) {
	var tf timeFilter
	var ok bool
	if tf.after, tf.hasAfter, ok = rc.timeParam(prefix + "_after"); !ok {
		return tf, false
	}
	if tf.before, tf.hasBefore, ok = rc.timeParam(prefix + "_before"); !ok {
		return tf, false
	}
	return tf, true
}

func (tf timeFilter) match(t time.Time) bool {
	if tf.hasAfter && (t.IsZero() || t.Before(tf.after)) {
		return false
	}
	if tf.hasBefore && (t.IsZero() || t.After(tf.before)) {
		return false
	}
	return true
}
