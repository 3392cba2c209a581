package gitlab

import (
	"context"
	"errors"
	"strings"

	"github.com/oceankit/oceankit/internal/jsonproj"
	"github.com/oceankit/oceankit/mapping"
	"github.com/oceankit/oceankit/ocean"
)

// Decoding GitLab's JSON was most of a resync's CPU, and most of it is
// read by no mapping: a merge request comes with its author, assignees,
// reviewers, references and time stats whole. Within a resync the
// framework says what of the kind's items its mapping may read
// (ocean.Fields: keys, and of their values the keys and elements, as in
// `.author.username` or `.reviewers[].username`); the lists whose items a
// kind sends as they are decode only that, plus what this package's own
// code reads from them.
//
// Those reads are declared next to the code that reads (projectRefReads,
// rootGroupReads, keysetReads, pendingDeletionReads, …) as paths of keys
// joined by dots ("namespace.full_path" reads full_path of namespace,
// whole), and a test syncs with projection on and off and compares the
// catalogs and the requests (TestProjectionSyncsTheSameCatalog).
//
// Lists whose items are shared between kinds are projected to what every
// kind of the resync that reads them reads (ocean.FieldsOf, sharedItems):
// groups (one listing per resync for every kind that needs them) and
// members (shared by member and group-with-members). The projects the
// per-project kinds fan out over stay whole (nested as __project).

// concatReads joins declared reads.
func concatReads(reads ...[]string) []string {
	var out []string
	for _, r := range reads {
		out = append(out, r...)
	}
	return out
}

// readFields is what declared reads read.
func readFields(reads ...[]string) mapping.Fields {
	var f mapping.Fields
	for _, r := range reads {
		for _, p := range r {
			f = f.Union(pathFields(strings.Split(p, ".")))
		}
	}
	return f
}

// pathFields reads the value at a path of keys whole.
func pathFields(path []string) mapping.Fields {
	if len(path) == 1 {
		return mapping.KeyFields(path[0])
	}
	return mapping.Fields{Keys: path[:1], Sub: map[string]mapping.Fields{path[0]: pathFields(path[1:])}}
}

// projectionOf is the decoder's projection of what f reads (nil: whole).
func projectionOf(f mapping.Fields) *jsonproj.Keys {
	if f.All {
		return nil
	}
	if f.Elems != nil {
		// Fields has no keys beside elements: they would make it All.
		return jsonproj.Elements(projectionOf(*f.Elems))
	}
	tree := make(map[string]*jsonproj.Keys, len(f.Keys))
	for _, k := range f.Keys {
		sub, _ := f.Key(k)
		tree[k] = projectionOf(sub)
	}
	return jsonproj.NewTree(tree)
}

// projection says, page by page, what of the items to decode; nil, or a
// nil answer, decodes them whole. It is asked for each page because the
// answer changes during a fetch: items are whole while the kind's raw data
// examples are being collected.
type projection func() *jsonproj.Keys

// sentItems is the projection of the items a kind sends as GitLab lists
// them: what the resync reads (ocean.Fields) and reads, what this package
// reads from them before they are sent. Outside a resync (a live event),
// and whenever the framework wants whole items, they are whole.
func (g *Integration) sentItems(ctx context.Context, reads ...[]string) projection {
	return func() *jsonproj.Keys {
		f, ok := ocean.Fields(ctx)
		if !ok {
			return nil
		}
		g.projectedPages.Add(1)
		// A kind's answer is the same for the rest of the resync once ok,
		// and its listings are often a page each (a group's merge
		// requests): one projection per resync and answer, not one per
		// page, which also lets the decoder learn across pages what of
		// the items repeats.
		keys, _ := ocean.Memo(ctx, projectionKey("gitlab:sent:"+f.String(), reads), func(context.Context) (*jsonproj.Keys, error) {
			return projectionOf(f.Union(readFields(reads...))), nil
		})
		return keys
	}
}

// projectionKey names a projection in a resync's Memo: prefix, then the
// declared reads.
func projectionKey(prefix string, reads [][]string) string {
	var key strings.Builder
	key.WriteString(prefix)
	for _, r := range reads {
		key.WriteByte(1)
		for _, k := range r {
			key.WriteString(k)
			key.WriteByte(0)
		}
	}
	return key.String()
}

// sharedItems is the projection of items that several kinds of a resync
// read: what the resync's resources of kinds (the kinds that send or nest
// them as GitLab lists them) read, and reads, what this package reads from
// them for every kind. A page decoded by one answer has what every one of
// those kinds will read, whenever it reads the page (see ocean.FieldsOf).
func (g *Integration) sharedItems(ctx context.Context, kinds []string, reads ...[]string) projection {
	// Once FieldsOf answers ok its answer holds for the rest of the
	// resync, so the projection is built once per resync and listing
	// rather than for each page: member lists are a page per group, and
	// building it was a tenth of a second per 100k entities.
	var kb strings.Builder
	kb.WriteString("gitlab:projection:")
	for _, k := range kinds {
		kb.WriteString(k)
		kb.WriteByte(0)
	}
	memoKey := projectionKey(kb.String(), reads)
	return func() *jsonproj.Keys {
		keys, err := ocean.Memo(ctx, memoKey, func(ctx context.Context) (*jsonproj.Keys, error) {
			f, ok := ocean.FieldsOf(ctx, kinds...)
			if !ok {
				return nil, errWholeItems // not kept: asked again for the next page
			}
			return projectionOf(f.Union(readFields(reads...))), nil
		})
		if err != nil {
			return nil
		}
		g.projectedPages.Add(1)
		return keys
	}
}

// errWholeItems is sharedItems' answer, never returned to a caller, while
// the items must be whole.
var errWholeItems = errors.New("gitlab: items must be whole")
