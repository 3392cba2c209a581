package gitlab_test

import (
	"fmt"
	"time"

	"github.com/oceankit/oceankit/gitlab"
	"github.com/oceankit/oceankit/ocean/settings"
)

// ExampleIntegration_TriggerPipeline shows the trigger_pipeline executor
// the provider registers, and how to tune how it follows pipelines when
// live events are off. Run the App with the ACTIONS_ONLY listener, or with
// OCEAN__ACTIONS_PROCESSOR__ENABLED=true beside POLLING, to execute runs.
func ExampleIntegration_TriggerPipeline() {
	g, err := gitlab.New(gitlab.Config{Host: "https://gitlab.example.com", Token: settings.Secret("glpat-example-token")})
	if err != nil {
		fmt.Println(err)
		return
	}
	tp := g.TriggerPipeline()
	tp.PollInterval = 10 * time.Second // first wait between polls; it grows to MaxPollInterval
	tp.PollTimeout = 2 * time.Hour     // long pipelines
	for _, ex := range g.Provider().Actions {
		fmt.Println(ex.Action())
	}
	// Output: trigger_pipeline
}
