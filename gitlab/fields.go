package gitlab

import (
	"context"

	"github.com/oceankit/oceankit/internal/jsonproj"
	"github.com/oceankit/oceankit/ocean"
)

// Decoding GitLab's JSON was most of a resync's CPU, and most of it is
// read by no mapping: a merge request comes with its author, assignees,
// reviewers, references and time stats whole. Within a resync the
// framework says which top-level keys the kind's mapping may read
// (ocean.Fields); the lists whose items a kind sends as they are decode
// only those, plus the keys this package's own code reads from them.
//
// Those reads are declared next to the code that reads (projectRefReads,
// rootGroupReads, keysetReads, pendingDeletionReads, …), and a test syncs
// with projection on and off and compares the catalogs and the requests
// (TestProjectionSyncsTheSameCatalog).
//
// Lists whose items are shared between kinds or nested into other items
// stay whole: groups (one listing per resync for every kind that needs
// them), members (shared by member and group-with-members), and the
// projects the per-project kinds fan out over (nested as __project).

// concatReads joins declared key lists.
func concatReads(reads ...[]string) []string {
	var out []string
	for _, r := range reads {
		out = append(out, r...)
	}
	return out
}

// projection says, page by page, which top-level keys of the items to
// decode; nil, or a nil answer, decodes them whole. It is asked for each
// page because the answer changes during a fetch: items are whole while
// the kind's raw data examples are being collected.
type projection func() *jsonproj.Keys

// sentItems is the projection of the items a kind sends as GitLab lists
// them: the keys the resync reads (ocean.Fields) and reads, the keys this
// package reads from them before they are sent. Outside a resync (a live
// event), and whenever the framework wants whole items, they are whole.
func (g *Integration) sentItems(ctx context.Context, reads ...[]string) projection {
	return func() *jsonproj.Keys {
		keys, ok := ocean.Fields(ctx)
		if !ok {
			return nil
		}
		g.projectedPages.Add(1)
		n := len(keys)
		for _, r := range reads {
			n += len(r)
		}
		all := make([]string, 0, n)
		all = append(all, keys...)
		for _, r := range reads {
			all = append(all, r...)
		}
		return jsonproj.NewKeys(all...)
	}
}
