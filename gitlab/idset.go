package gitlab

import (
	"slices"
	"strconv"
)

// idSet is a set of GitLab ids. A resync keeps one per top-level group
// and search query until it ends (the projects in which the group's
// search matched; tens of thousands of sets at a million entities), so
// it is kept small: GitLab's numeric ids as a sorted slice, eight bytes
// each and no per-set map, anything else in a map. Build it with add,
// then sealed; has is safe for concurrent use once sealed.
type idSet struct {
	nums  []int64
	other map[string]struct{}
}

// add puts id in the set; the set must be sealed before has.
func (s *idSet) add(id string) {
	if n, ok := canonicalInt(id); ok {
		s.nums = append(s.nums, n)
		return
	}
	if s.other == nil {
		s.other = map[string]struct{}{}
	}
	s.other[id] = struct{}{}
}

// sealed returns the set ready for has, its ids sorted and without spare
// capacity.
func (s idSet) sealed() idSet {
	slices.Sort(s.nums)
	s.nums = slices.Clip(slices.Compact(s.nums))
	if len(s.nums) == 0 {
		s.nums = nil
	}
	return s
}

// has reports whether id is in the sealed set.
func (s idSet) has(id string) bool {
	if n, ok := canonicalInt(id); ok {
		_, found := slices.BinarySearch(s.nums, n)
		return found
	}
	_, found := s.other[id]
	return found
}

// canonicalInt parses id as a decimal integer written the way
// strconv.FormatInt writes it: "007" or "+7" stay strings, so that a set
// never equates two ids that differ as strings.
func canonicalInt(id string) (int64, bool) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || strconv.FormatInt(n, 10) != id {
		return 0, false
	}
	return n, true
}
