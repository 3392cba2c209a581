package gitlab

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	glapi "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/oceankit/oceankit/ocean"
)

// refProjectBlock and refContentQuery are how a content query was built
// before contentBody: the reference it is checked against.
func refProjectBlock(k int, p ocean.Item, what projectEnrichment) string {
	var b strings.Builder
	b.WriteString("p")
	b.WriteString(strconv.Itoa(k))
	b.WriteString(":project(fullPath:")
	b.WriteString(gqlString(str(p["path_with_namespace"])))
	b.WriteString("){")
	if what.languages {
		b.WriteString("languages{name share}")
	}
	if len(what.files) > 0 {
		b.WriteString("repository{blobs(paths:$paths,ref:")
		b.WriteString(gqlString(refOf(p)))
		b.WriteString("){nodes{path rawTextBlob}}}")
	}
	b.WriteString("}")
	return b.String()
}

func refContentQuery(projects []ocean.Item, batch []int, what projectEnrichment) (string, map[string]any) {
	var b strings.Builder
	var vars map[string]any
	if len(what.files) > 0 {
		b.WriteString("query($paths:[String!]!){")
		vars = map[string]any{"paths": what.files}
	} else {
		b.WriteString("query{")
	}
	for k, i := range batch {
		if k > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(refProjectBlock(k, projects[i], what))
	}
	b.WriteString("}")
	return b.String(), vars
}

// refContentBody is the request body client-go made of a content query.
func refContentBody(t testing.TB, projects []ocean.Item, batch []int, what projectEnrichment) []byte {
	query, vars := refContentQuery(projects, batch, what)
	b, err := json.Marshal(glapi.GraphQLQuery{Query: query, Variables: vars})
	require.NoError(t, err)
	return b
}

// checkContentBody checks contentBody and gqlProjectBlockLen against the
// reference for the projects, in every batch position up to 12.
func checkContentBody(t *testing.T, projects []ocean.Item) {
	t.Helper()
	whats := []projectEnrichment{
		{languages: true},
		{files: []string{"README.md"}},
		{languages: true, files: []string{"README.md", "CODEOWNERS", `docs/<a>&"b".md`, "é\u2028"}},
	}
	var batch []int
	for len(batch) < 12 {
		for i := range projects {
			batch = append(batch, i)
		}
	}
	for _, what := range whats {
		want := refContentBody(t, projects, batch, what)
		got := contentBody(projects, batch, what)
		require.Equal(t, string(want), string(got))
		plain := true
		for _, p := range projects {
			plain = plain && gqlPlain(str(p["path_with_namespace"])) && gqlPlain(refOf(p))
		}
		if plain {
			require.Equal(t, len(got), cap(got), "the body's buffer is sized exactly")
		}
		for k, i := range batch {
			require.Equal(t, len(refProjectBlock(k, projects[i], what)), gqlProjectBlockLen(k, projects[i], what), "block %d", k)
		}
	}
}

func TestContentBodyMatchesMarshal(t *testing.T) {
	t.Parallel()
	tests := map[string]ocean.Item{
		"plain":                  {"path_with_namespace": "group/sub/project-1", "default_branch": "main"},
		"no default branch":      {"path_with_namespace": "g/p"},
		"no path":                {"default_branch": "develop"},
		"path of the wrong type": {"path_with_namespace": 12.0, "default_branch": true},
		"quotes and backslashes": {"path_with_namespace": `g/"p"\q`, "default_branch": `feat\"x"`},
		"HTML":                   {"path_with_namespace": "g/<p>&q", "default_branch": "a&b"},
		"control characters":     {"path_with_namespace": "g/p\n\t\x00\x1f\x7f", "default_branch": "\b\f\r"},
		"not ASCII":              {"path_with_namespace": "g/projét-日本", "default_branch": "br\u2028\u2029"},
		"invalid UTF-8":          {"path_with_namespace": "g/\xff\xfe", "default_branch": "\xc3"},
		"empty":                  {"path_with_namespace": "", "default_branch": ""},
	}
	for name, p := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkContentBody(t, []ocean.Item{p, {"path_with_namespace": "other/plain", "default_branch": "main"}})
		})
	}
}

func FuzzContentBody(f *testing.F) {
	f.Add("group/project", "main")
	f.Add(`g/"p"\<&>`, "feat/\u2028x")
	f.Add("g/\xff\n", "\x00")
	f.Fuzz(func(t *testing.T, path, ref string) {
		checkContentBody(t, []ocean.Item{{"path_with_namespace": path, "default_branch": ref}})
	})
}

func FuzzGraphQLBody(f *testing.F) {
	f.Add("query{x}")
	f.Add("query{x(a:\"<&>\u2028\xff\")}")
	f.Fuzz(func(t *testing.T, query string) {
		vars := map[string]any{"paths": []string{query}}
		want, err := json.Marshal(glapi.GraphQLQuery{Query: query, Variables: vars})
		require.NoError(t, err)
		got, err := graphQLBody(query, vars)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got))
	})
}

func TestGraphQLBodyMatchesMarshal(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		query string
		vars  map[string]any
	}{
		"no variables":    {"query{currentUser{username}}", nil},
		"empty variables": {"query{x}", map[string]any{}},
		"variables":       {`query($p:[String!]!,$n:Int){x(a:"<&>")}`, map[string]any{"p": []string{"a", "<b>"}, "n": 3, "z": nil}},
		"escapes":         {"query{x(a:\"\\\"\n\t\u2028\xff\")}", nil},
		"empty":           {"", nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want, err := json.Marshal(glapi.GraphQLQuery{Query: tc.query, Variables: tc.vars})
			require.NoError(t, err)
			got, err := graphQLBody(tc.query, tc.vars)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got))
		})
	}
	_, err := graphQLBody("query{x}", map[string]any{"f": func() {}})
	assert.Error(t, err, "variables json.Marshal refuses are refused")
}

// checkContentDecode checks that decodeContentAnswer answers b as
// decodeAnswer does, and that what readContentAnswer reads itself is what
// json.Unmarshal reads.
func checkContentDecode(t *testing.T, b []byte) (fast bool) {
	t.Helper()
	want, wantErr := decodeAnswer[map[string]*gqlContent](b)
	got, gotErr := decodeContentAnswer(b)
	if wantErr != nil {
		require.Error(t, gotErr)
		require.Equal(t, wantErr.Error(), gotErr.Error())
	} else {
		require.NoError(t, gotErr)
	}
	requireSameAnswer(t, want, got)

	read, ok := readContentAnswer(b)
	if !ok {
		return false
	}
	var direct contentAnswer
	require.NoError(t, json.Unmarshal(b, &direct), "read by hand what encoding/json refuses")
	requireSameAnswer(t, direct, read)
	return true
}

func requireSameAnswer(t *testing.T, want, got contentAnswer) {
	t.Helper()
	if !reflect.DeepEqual(want.Data, got.Data) {
		w, _ := json.Marshal(want.Data)
		g, _ := json.Marshal(got.Data)
		t.Fatalf("data differ:\nwant %s (nil %v)\n got %s (nil %v)", w, want.Data == nil, g, got.Data == nil)
	}
	require.Equal(t, want.Errors, got.Errors)
	require.True(t, reflect.DeepEqual(want.Errors, got.Errors), "errors differ in nil-ness")
	if want.DataErr == nil {
		require.NoError(t, got.DataErr)
	} else {
		require.Error(t, got.DataErr)
		require.Equal(t, want.DataErr.Error(), got.DataErr.Error())
	}
}

// contentDecodeCases are answers read by hand (fast) or handed to
// encoding/json, each checked to lead where decodeAnswer leads.
var contentDecodeCases = map[string]struct {
	body string
	fast bool
}{
	"full":                   {`{"data":{"p0":{"languages":[{"name":"Go","share":90.5},{"name":"Shell","share":9.5}],"repository":{"blobs":{"nodes":[{"path":"README.md","rawTextBlob":"# Title\n\nSee \"docs\" \\ \u00e9 \ud83d\ude00 </a>\n"},{"path":"CODEOWNERS","rawTextBlob":null}]}}},"p1":null}}`, true},
	"white space":            {" \n{ \"data\" : { \"p0\" : { \"languages\" : [ ] , \"repository\" : null } } } \r\n\t", true},
	"empty":                  {`{}`, true},
	"empty data":             {`{"data":{}}`, true},
	"data null":              {`{"data":null,"errors":[{"message":"boom"}]}`, true},
	"no data":                {`{"errors":[{"message":"boom","locations":[{"line":1,"column":2}],"path":["p0","repository",0]}]}`, true},
	"partial data":           {`{"data":{"p0":null,"p1":{"languages":[]}},"errors":[{"message":"not found","path":["p0"]}]}`, true},
	"errors null":            {`{"data":{"p0":{}},"errors":null}`, true},
	"errors empty":           {`{"data":{"p0":{}},"errors":[]}`, true},
	"errors first":           {`{"errors":[{"message":"x","path":["p1"]}],"data":{"p0":{"languages":null}}}`, true},
	"nulls everywhere":       {`{"data":{"p0":{"languages":[null,{"name":null,"share":null}],"repository":{"blobs":{"nodes":[null,{"path":null,"rawTextBlob":null}]}}},"p1":{"repository":{"blobs":null}},"p2":{"repository":{"blobs":{"nodes":null}}}}}`, true},
	"empty lists":            {`{"data":{"p0":{"languages":[],"repository":{"blobs":{"nodes":[]}}}}}`, true},
	"unknown keys":           {`{"extensions":{"a":[1,-2.5e3,true,false,null,"x\u0041"]},"data":{"p0":{"__typename":"Project","languages":[{"name":"Go","share":1,"color":"#00ADD8"}],"repository":{"x":{},"blobs":{"y":[],"nodes":[{"oid":"abc","path":"a","rawTextBlob":""}]}}}}}`, true},
	"numbers":                {`{"data":{"p0":{"languages":[{"name":"a","share":0},{"name":"b","share":-0},{"name":"c","share":100.0000},{"name":"d","share":1e2},{"name":"e","share":12345678901234567890},{"name":"f","share":0.1234567890123456789},{"name":"g","share":-3.25E-2}]}}}`, true},
	"escaped alias":          {`{"data":{"p\u0030":{"languages":[]}}}`, true},
	"repeated alias":         {`{"data":{"p0":{"languages":[{"name":"a","share":1}]},"p0":{"repository":null}}}`, true},
	"odd strings":            {`{"data":{"p0":{"repository":{"blobs":{"nodes":[{"path":"\ud800","rawTextBlob":"\ud800\u0041 \udc00 \ud800\ud800 \ud83d\ude00 \u0000 \/ \b\f\r\t` + "\xff\xc3\x28 \xed\xa0\x80 é \xef\xbf\xbd \x7f" + `"}]}}}}}`, true},
	"long plain blob":        {`{"data":{"p0":{"repository":{"blobs":{"nodes":[{"path":"README.md","rawTextBlob":"` + strings.Repeat("abcdefgh", 40) + `"}]}}}}}`, true},
	"many blocks":            {manyBlocksAnswer(70, 20, 10), true},
	"repeated top key":       {`{"data":{"p0":null},"data":{"p1":null}}`, false},
	"repeated errors":        {`{"errors":[{"message":"a"}],"errors":[{"message":"b"}]}`, false},
	"repeated field":         {`{"data":{"p0":{"languages":[{"name":"a","share":1,"name":null}]}}}`, false},
	"key in another case":    {`{"Data":{"p0":null}}`, false},
	"field in another case":  {`{"data":{"p0":{"Languages":[{"NAME":"Go"}]}}}`, false},
	"escaped key":            {`{"d\u0061ta":{"p0":null}}`, false},
	"folding key":            {`{"data":{"p0":{"languageſ":[]}}}`, false},
	"data not an object":     {`{"data":[1,2]}`, false},
	"languages a string":     {`{"data":{"p0":{"languages":"Go"}},"errors":[{"message":"x","path":["p1"]}]}`, false},
	"share a string":         {`{"data":{"p0":{"languages":[{"name":"Go","share":"90"}]}}}`, false},
	"share out of range":     {`{"data":{"p0":{"languages":[{"name":"Go","share":1e400}]}}}`, false},
	"name a number":          {`{"data":{"p0":{"languages":[{"name":1}]}}}`, false},
	"blob a number":          {`{"data":{"p0":{"repository":{"blobs":{"nodes":[{"rawTextBlob":1}]}}}}}`, false},
	"project a list":         {`{"data":{"p0":[]}}`, false},
	"errors of wrong shape":  {`{"data":{},"errors":"boom"}`, false},
	"error path of objects":  {`{"errors":[{"message":"m","path":[{"a":[]}]}]}`, true},
	"not JSON":               {`{"data":{`, false},
	"trailing garbage":       {`{"data":null} x`, false},
	"bad escape":             {`{"data":{"p0":{"repository":{"blobs":{"nodes":[{"rawTextBlob":"\x"}]}}}}}`, false},
	"control character":      {"{\"data\":{\"p0\":{\"repository\":{\"blobs\":{\"nodes\":[{\"rawTextBlob\":\"a\nb\"}]}}}}}", false},
	"bad number":             {`{"data":{"p0":{"languages":[{"share":01}]}}}`, false},
	"top null":               {`null`, false},
	"top list":               {`[]`, false},
	"empty body":             {``, false},
	"truncated literal":      {`{"data":nul`, false},
	"deep unknown":           {`{"x":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `,"data":null}`, false},
	"unterminated surrogate": {`{"data":{"p0":{"repository":{"blobs":{"nodes":[{"rawTextBlob":"\ud800\u12"}]}}}}}`, false},
}

// manyBlocksAnswer is an answer of n blocks (every third null) of langs
// languages and nodes blobs each (every other text null), past what the
// decoder gathers on the stack.
func manyBlocksAnswer(n, langs, nodes int) string {
	var b strings.Builder
	b.WriteString(`{"data":{`)
	for k := range n {
		if k > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"p%d":`, k)
		if k%3 == 2 {
			b.WriteString("null")
			continue
		}
		b.WriteString(`{"languages":[`)
		for i := range langs {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"name":"L%d","share":%d.%d}`, i, k, i)
		}
		b.WriteString(`],"repository":{"blobs":{"nodes":[`)
		for i := range nodes {
			if i > 0 {
				b.WriteByte(',')
			}
			if i%2 == 1 {
				fmt.Fprintf(&b, `{"path":"f%d","rawTextBlob":null}`, i)
				continue
			}
			fmt.Fprintf(&b, `{"path":"f%d","rawTextBlob":"text %d\n of p%d"}`, i, i, k)
		}
		b.WriteString(`]}}}`)
	}
	b.WriteString(`}}`)
	return b.String()
}

func TestDecodeContentAnswer(t *testing.T) {
	t.Parallel()
	for name, tc := range contentDecodeCases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fast := checkContentDecode(t, []byte(tc.body))
			assert.Equal(t, tc.fast, fast, "read by hand")
		})
	}
}

func FuzzDecodeContentAnswer(f *testing.F) {
	for _, tc := range contentDecodeCases {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkContentDecode(t, b)
	})
}

// FuzzDecodeContentFields fuzzes the raw text of a string token (escapes,
// surrogates, invalid UTF-8, control characters), of a number and of a
// key inside an answer of the usual shape, where random bytes seldom
// reach.
func FuzzDecodeContentFields(f *testing.F) {
	f.Add(`line\n \"q\" \ud83d\ude00 \ud800\u0041 \/`, "93.41", "languages")
	f.Add("\xff\xc3(\xed\xa0\x80\x7f", "-0.5e-3", "Repository")
	f.Add(`\u00e9\u2028\t`, "12345678901234567", "x\\u0041")
	f.Fuzz(func(t *testing.T, text, number, key string) {
		body := `{"data":{"p0":{"languages":[{"name":"` + text + `","share":` + number + `}],` +
			`"` + key + `":1,"repository":{"blobs":{"nodes":[{"path":"README.md","rawTextBlob":"` + text + `"}]}}}}}`
		checkContentDecode(t, []byte(body))
	})
}

func FuzzPlainRun(f *testing.F) {
	f.Add([]byte("abcdefgh\"ijklmnop"), 0)
	f.Add([]byte("abcdefghijklmn\x1fop\\"), 3)
	f.Fuzz(func(t *testing.T, b []byte, i int) {
		if i < 0 || i > len(b) {
			return
		}
		want := i
		for want < len(b) && b[want] != '"' && b[want] != '\\' && b[want] >= 0x20 && b[want] < 0x80 {
			want++
		}
		require.Equal(t, want, plainRun(b, i))
	})
}
