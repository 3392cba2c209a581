package program

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestContainerMemoryLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		files   map[string]string
		want    int64
		wantErr bool
	}{
		{"no cgroup", nil, 0, false},
		{"v2 limit", map[string]string{"memory.max": "536870912\n"}, 512 << 20, false},
		{"v2 unlimited", map[string]string{"memory.max": "max\n"}, 0, false},
		{"v1 limit", map[string]string{"memory/memory.limit_in_bytes": "268435456\n"}, 256 << 20, false},
		{"v1 unlimited", map[string]string{"memory/memory.limit_in_bytes": "9223372036854771712\n"}, 0, false},
		{"v2 wins over v1", map[string]string{"memory.max": "1048576", "memory/memory.limit_in_bytes": "2097152"}, 1 << 20, false},
		{"garbage", map[string]string{"memory.max": "lots"}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := fstest.MapFS{}
			for name, data := range tt.files {
				root[name] = &fstest.MapFile{Data: []byte(data)}
			}
			got, err := containerMemoryLimit(root)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// GOMEMLIMIT set by the operator wins: nothing is read or changed.
func TestContainerMemoryLimitKeepsGOMEMLIMIT(t *testing.T) {
	t.Parallel()
	root := fstest.MapFS{"memory.max": &fstest.MapFile{Data: []byte("268435456")}}
	got := applyContainerMemoryLimit(root, func(k string) (string, bool) { return "off", k == "GOMEMLIMIT" })
	assert.Equal(t, memLimit{}, got)
}
