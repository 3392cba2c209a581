package port

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

type pageResult struct {
	Chunks  [][]Entity
	Errs    []string
	Next    string
	N       int
	Stopped bool
	Err     string
}

// collect runs a page decoder, stopping after stopAfter chunks (0: never).
func collect(decode func([]byte, func([]Entity, error) bool) (string, int, bool, error), body string, stopAfter int) pageResult {
	var r pageResult
	next, n, stopped, err := decode([]byte(body), func(chunk []Entity, err error) bool {
		r.Chunks = append(r.Chunks, chunk)
		if err != nil {
			r.Errs = append(r.Errs, err.Error())
		}
		return stopAfter == 0 || len(r.Chunks) < stopAfter
	})
	r.Next, r.N, r.Stopped = next, n, stopped
	if err != nil {
		r.Err = err.Error()
	}
	return r
}

const sampleEntity = `{"identifier":"group/project-%d","blueprint":"service","title":"Project \"%d\"","icon":"GitLab",` +
	`"team":["a","b"],"properties":{"url":"https://x/%d?a=<b>&c","stars":%d,"ratio":1.5e-7,"big":1e400,"ok":true,"none":null,` +
	`"readme":"line\nline\u2028 é 日本","labels":["x",{"k":[1,2,{}]}],"empty":{},"list":[]},"relations":{"group":"g%d","members":null},` +
	`"createdAt":"2024-01-02T03:04:05.123Z","updatedAt":"2024-02-03T04:05:06Z","createdBy":"u","updatedBy":"v",` +
	`"$datasource":"port-ocean/gitlab-v2/1/x/exporter","scorecards":{"s":{"level":"Gold"}}}`

func samplePage(n int, odd map[int]string) string {
	var b strings.Builder
	b.WriteString(`{"ok":true,"entities":[`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		if e, ok := odd[i]; ok {
			b.WriteString(e)
			continue
		}
		// 1e400 is out of float64's range: json.Unmarshal refuses it.
		fmt.Fprintf(&b, strings.Replace(sampleEntity, `"big":1e400,`, "", 1), i, i, i, i, i)
	}
	b.WriteString(`],"next":"cursor-1"}`)
	return b.String()
}

// The scanner's page decoding yields what encoding/json's yields: the same
// entities in the same chunks, the same cursor, count and errors, when it
// falls back half-way through a page too.
func TestDecodeEntityPageEqualsJSON(t *testing.T) {
	t.Parallel()
	pages := map[string]string{
		"usual":                    samplePage(600, nil),
		"one chunk":                samplePage(3, nil),
		"empty":                    `{"entities":[],"next":null}`,
		"null entities":            `{"entities":null,"next":"c"}`,
		"no next":                  `{"entities":[{"identifier":"a"}]}`,
		"escaped key falls back":   samplePage(300, map[int]string{280: `{"identifi\u0065r":"odd","blueprint":"service"}`}),
		"case-folded key":          samplePage(300, map[int]string{299: `{"Identifier":"odd","TITLE":"t"}`}),
		"number out of range":      samplePage(600, map[int]string{513: fmt.Sprintf(sampleEntity, 1, 1, 1, 1, 1)}),
		"bad time":                 samplePage(10, map[int]string{5: `{"identifier":"a","createdAt":"yesterday"}`}),
		"null time and strings":    `{"entities":[{"identifier":"a","createdAt":null,"title":null,"properties":null,"team":null}]}`,
		"wrong type":               samplePage(260, map[int]string{257: `{"identifier":"a","blueprint":5}`}),
		"repeated field":           `{"entities":[{"identifier":"a","properties":{"x":1},"properties":{"y":2}}]}`,
		"repeated map key":         `{"entities":[{"identifier":"a","properties":{"x":1,"x":2}}]}`,
		"invalid utf-8":            "{\"entities\":[{\"identifier\":\"a\xff\",\"properties\":{\"k\xfe\":\"v\xc3\"}}]}",
		"control character":        "{\"entities\":[{\"identifier\":\"a\x01\"}]}",
		"search-query identifier":  `{"entities":[{"identifier":{"combinator":"and","rules":[]}}]}`,
		"syntax error mid-page":    samplePage(300, map[int]string{270: `{"identifier":"a",}`}),
		"trailing data":            samplePage(2, nil) + ` x`,
		"no closing brace":         `{"entities":[{"identifier":"a"}]`,
		"repeated entities":        `{"entities":[{"identifier":"a"}],"entities":[{"identifier":"b"}],"next":"n"}`,
		"repeated next":            `{"next":"a","next":null,"entities":[]}`,
		"escaped next":             `{"next":"a\/b","entities":[]}`,
		"not an object":            `[{"identifier":"a"}]`,
		"deep value":               `{"entities":[{"identifier":"a","properties":{"d":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}}]}`,
		"numbers":                  `{"entities":[{"identifier":"a","properties":{"a":-0,"b":0.1,"c":1E3,"d":-2.5e-3,"e":123456789012345678901234567890}}]}`,
		"unknown field everywhere": `{"x":{"entities":[1]},"entities":[{"identifier":"a","x":[{"\u0041":"\n"}]}],"y":[]}`,
	}
	for name, body := range pages {
		for _, stop := range []int{0, 1, 2} {
			want := collect(decodeEntityPageJSON, body, stop)
			got := collect(decodeEntityPage, body, stop)
			assert.Equal(t, want, got, "%s, stopping after %d chunks", name, stop)
		}
	}
	// The usual page takes the fast path.
	_, _, ok, _ := scanEntityPage([]byte(samplePage(600, nil)), func([]Entity) bool { return true })
	assert.True(t, ok)
}

func FuzzDecodeEntityPage(f *testing.F) {
	f.Add(samplePage(2, nil))
	f.Add(`{"entities":[{"identifier":"a","properties":{"x":[1,"\u00e9",null]}}],"next":"c"}`)
	f.Add(`{"entities":[{"identifier":"a","createdAt":"2024-01-02T03:04:05Z","Team":1}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		want := collect(decodeEntityPageJSON, body, 0)
		got := collect(decodeEntityPage, body, 0)
		if !assert.ObjectsAreEqual(want, got) {
			t.Fatalf("%q:\ngot  %+v\nwant %+v", body, got, want)
		}
	})
}

func BenchmarkDecodeEntityPage(b *testing.B) {
	body := []byte(samplePage(1000, nil))
	for _, bc := range []struct {
		name   string
		decode func([]byte, func([]Entity, error) bool) (string, int, bool, error)
	}{{"encoding/json", decodeEntityPageJSON}, {"scanner", decodeEntityPage}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, _, err := bc.decode(body, func([]Entity, error) bool { return true }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDatasourceEntities reads a page of 1,000 entities over HTTP
// on loopback: the answer's reading and decoding, as a resync's catalog
// read does.
func BenchmarkDatasourceEntities(b *testing.B) {
	page := []byte(strings.Replace(samplePage(1000, nil), `"next":"cursor-1"`, `"next":null`, 1))
	for _, chunked := range []bool{false, true} {
		b.Run(fmt.Sprintf("chunked=%v", chunked), func(b *testing.B) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/v1/auth/access_token" {
					_, _ = w.Write([]byte(`{"ok":true,"accessToken":"t","expiresIn":10800,"tokenType":"Bearer"}`))
					return
				}
				if !chunked {
					w.Header().Set("Content-Length", strconv.Itoa(len(page)))
				}
				_, _ = w.Write(page)
			}))
			defer ts.Close()
			c, err := New(ts.URL, "id", "secret")
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			for b.Loop() {
				for _, err := range c.DatasourceEntities(b.Context(), DatasourceQuery{Prefix: "p"}) {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
