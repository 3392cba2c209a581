package gitlab

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGraphQLTypedMatchesTwoSteps checks that decoding an answer's data in
// one pass leads where GraphQL followed by json.Unmarshal of its Data led:
// the same data, errors, data error and request error.
func TestGraphQLTypedMatchesTwoSteps(t *testing.T) {
	t.Parallel()
	type langs = map[string]*gqlContent
	tests := map[string]struct {
		status int
		body   string
	}{
		"data":                         {200, `{"data":{"p0":{"languages":[{"name":"Go","share":90.5}],"repository":{"blobs":{"nodes":[{"path":"README.md","rawTextBlob":"hi\n"}]}}},"p1":null}}`},
		"data and errors":              {200, `{"data":{"p0":null},"errors":[{"message":"not found","path":["p0"]}]}`},
		"data null":                    {200, `{"data":null,"errors":[{"message":"boom"}]}`},
		"no data":                      {200, `{"errors":[{"message":"boom"}]}`},
		"data of the wrong shape":      {200, `{"data":{"p0":{"languages":"Go"}},"errors":[{"message":"x","path":["p1"]}]}`},
		"data not an object":           {200, `{"data":[1,2]}`},
		"errors of the wrong shape":    {200, `{"data":{},"errors":"boom"}`},
		"not JSON":                     {200, `{"data":{`},
		"400 error document":           {400, `{"errors":[{"message":"Query has complexity of 500, which exceeds max complexity of 250"}]}`},
		"400 error document with data": {400, `{"data":{"p0":null},"errors":[{"message":"bad"}]}`},
		"400 without errors":           {400, `{"message":"bad request"}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			t.Cleanup(srv.Close)
			cfg := testConfig(srv.URL)
			cfg.MaxRetries = 0
			c, err := NewClient(cfg)
			require.NoError(t, err)

			want, wantErr := c.GraphQL(t.Context(), "query{x}", nil)
			got, gotErr := graphQLTyped[langs](t.Context(), c, "query{x}", nil)
			if wantErr != nil {
				require.Error(t, gotErr)
				assert.Equal(t, wantErr.Error(), gotErr.Error())
				assert.Nil(t, got)
				return
			}
			require.NoError(t, gotErr)
			var wantData langs
			var wantDataErr error
			if len(want.Data) > 0 {
				wantDataErr = json.Unmarshal(want.Data, &wantData)
			}
			assert.Equal(t, want.Errors, got.Errors)
			if wantDataErr != nil {
				require.Error(t, got.DataErr)
				assert.Equal(t, wantDataErr.Error(), got.DataErr.Error())
				assert.Nil(t, got.Data)
				return
			}
			assert.NoError(t, got.DataErr)
			assert.Equal(t, wantData, got.Data)
		})
	}
}
