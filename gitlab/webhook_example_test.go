package gitlab_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/oceankit/oceankit/gitlab"
	"github.com/oceankit/oceankit/gitlab/gitlabtest"
	"github.com/oceankit/oceankit/ocean/settings"
)

// ExampleIntegration_RegisterWebhooks registers the integration's
// webhooks, as the framework's start hook does when OCEAN__BASE_URL is
// set; running it again creates nothing.
func ExampleIntegration_RegisterWebhooks() {
	gl := gitlabtest.New(gitlabtest.WithDataset(gitlabtest.Generate(1, gitlabtest.SizeSmall)))
	defer gl.Close()
	g, err := gitlab.New(gitlab.Config{
		Host: gl.URL, Token: settings.Secret(gl.Token),
		WebhookSecret:         "a-long-random-secret",
		IntegrationIdentifier: "my-gitlab",
	}, gitlab.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		fmt.Println(err)
		return
	}
	url := "https://ocean.example.com/integration/webhook"
	first, _ := g.RegisterWebhooks(context.Background(), url)
	again, _ := g.RegisterWebhooks(context.Background(), url)
	fmt.Println("created:", first.Created, "then created:", again.Created, "updated:", again.Updated)
	// Output: created: 3 then created: 0 updated: 3
}
