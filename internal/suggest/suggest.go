// Package suggest finds the known name nearest to a mistyped one, for
// "did you mean" hints in configuration errors.
package suggest

import "strings"

// Nearest returns the name of known closest to name, ignoring case, when
// it is within maxDist edits; "" otherwise.
func Nearest(name string, known []string, maxDist int) string {
	best, bestD := "", maxDist+1
	ln := strings.ToLower(name)
	for _, c := range known {
		if d := distance(ln, strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// distance is the Levenshtein distance; long strings are never near.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
