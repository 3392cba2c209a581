package suggest

import "testing"

func TestNearest(t *testing.T) {
	t.Parallel()
	known := []string{"merge-request", "project", "member"}
	tests := []struct {
		name string
		max  int
		want string
	}{
		{"projet", 3, "project"},
		{"Merge-Requests", 3, "merge-request"},
		{"pipeline", 3, ""},
		{"membr", 0, ""},
	}
	for _, tt := range tests {
		if got := Nearest(tt.name, known, tt.max); got != tt.want {
			t.Errorf("Nearest(%q, %d) = %q, want %q", tt.name, tt.max, got, tt.want)
		}
	}
}
