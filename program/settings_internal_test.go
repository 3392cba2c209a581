package program

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestUpperSnake(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"trackerUrl":    "TRACKER_URL",
		"useGraphQL":    "USE_GRAPH_QL",
		"gitlabHost":    "GITLAB_HOST",
		"maxFileSize":   "MAX_FILE_SIZE",
		"token":         "TOKEN",
		"apiURLPrefix":  "API_URL_PREFIX",
		"webhookSecret": "WEBHOOK_SECRET",
	}
	for in, want := range tests {
		assert.Equal(t, want, upperSnake(in), in)
	}
}
