package gitlabtest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/oceankit/oceankit/gitlab/gitlabtest"
)

// Example starts a fake GitLab over a generated dataset and lists the
// projects the token user can develop in.
func Example() {
	ds := gitlabtest.Generate(1, gitlabtest.SizeSmall)
	srv := gitlabtest.New(gitlabtest.WithDataset(ds), gitlabtest.WithRateLimit(600))
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v4/projects?min_access_level=30&per_page=100", nil)
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var projects []struct {
		PathWithNamespace string `json:"path_with_namespace"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&projects)
	fmt.Println(resp.StatusCode, resp.Header.Get("X-Total"), len(projects), resp.Header.Get("RateLimit-Remaining"))
	fmt.Println(srv.RouteRequests("GET /projects"))
	// Output:
	// 200 8 8 599
	// 1
}

// Example_mutation changes the world while a client watches.
func Example_mutation() {
	srv := gitlabtest.New()
	defer srv.Close()
	ds := srv.Dataset()
	p, _ := ds.Project("1")
	_ = ds.PutFile(p.ID, *p.DefaultBranch, "port.yml", []byte("identifier: changed\n"))

	req, _ := http.NewRequest(http.MethodGet, srv.APIURL()+"/projects/1/repository/files/port.yml/raw", nil)
	req.Header.Set("PRIVATE-TOKEN", srv.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(string(body))
	// Output: identifier: changed
}

// TestNewServer is the usual shape of a test against the fake: NewServer
// closes the server when the test ends.
func TestNewServer(t *testing.T) {
	srv := gitlabtest.NewServer(t, gitlabtest.WithDataset(gitlabtest.Generate(7, gitlabtest.SizeSmall)))
	srv.FailNext(1, http.StatusBadGateway, 0, "/projects")
	req, _ := http.NewRequest(http.MethodGet, srv.APIURL()+"/projects", nil)
	req.Header.Set("PRIVATE-TOKEN", srv.Token)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, want the injected 502", resp.StatusCode)
	}
}
