package porttest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/oceankit/oceankit/port"
)

// catalog holds blueprints and entities behind one lock. Stored maps are never mutated
// after they are stored (writes replace them), so answers can be encoded outside the lock.
type catalog struct {
	mu         sync.RWMutex
	now        func() time.Time
	blueprints map[string]*blueprint
	all        []*entity // every entity in creation order (deleted ones until compaction)
	deleted    int
	seq        uint64
	// refs maps a target entity key to the entities whose relations point at it.
	refs map[string]map[*entity]struct{}
	// resources: actions, pages, scorecards (keyed "<blueprint>/<id>").
	actions, pages, scorecards map[string]map[string]any
	integrations               map[string]*integ
	featureFlags               []string
	// provisioned maps an integration type Port can provision to the
	// mapping it provisions (SetProvisionedDefaults).
	provisioned map[string]any
	// compact packs stored entities' maps (WithCompactEntities).
	compact bool
	// scratch is the buffer entities are packed in (under mu, written).
	scratch []byte
}

type blueprint struct {
	id        string
	raw       map[string]any
	props     map[string]propSpec
	required  []string
	relations map[string]relSpec
	entities  map[string]*entity
	order     []*entity
	deleted   int
}

type propSpec struct {
	typ      string
	format   string
	enum     []any
	itemType string
}

type relSpec struct {
	target         string
	many, required bool
}

type entity struct {
	seq        uint64
	bp         *blueprint
	id         string
	title      string
	icon       string
	team       any
	props      map[string]any
	rels       map[string]any
	datasource string
	createdAt  time.Time
	updatedAt  time.Time
	deleted    bool
	// packed, in a compact catalog, holds props and rels (then nil)
	// encoded; digest is then contentDigest's answer (0: not computed).
	packed []byte
	digest uint64
	// propsLen is the length of the properties' encoding in packed.
	propsLen uint32
}

func key(bp, id string) string { return bp + "\x00" + id }

func (c *catalog) init(now func() time.Time) {
	c.now = now
	c.blueprints = map[string]*blueprint{}
	c.refs = map[string]map[*entity]struct{}{}
	c.actions = map[string]map[string]any{}
	c.pages = map[string]map[string]any{}
	c.scorecards = map[string]map[string]any{}
	c.integrations = map[string]*integ{}
}

// toPort renders a stored entity. Called with the lock held (read or write).
func (e *entity) toPort() port.Entity {
	props, rels := e.unpack()
	return port.Entity{
		Identifier: e.id, Blueprint: e.bp.id, Title: e.title, Icon: e.icon, Team: e.team,
		Properties: props, Relations: rels, CreatedAt: e.createdAt, UpdatedAt: e.updatedAt,
		CreatedBy: "porttest", UpdatedBy: "porttest", Datasource: e.datasource,
	}
}

// ---- identifiers ----

const entityIDChars = "@_.+:\\/='-"
const blueprintIDChars = "@_.+:\\/-"

// validIdentifier implements ^(?!\.{1,2}$)[\p{L}0-9@_.+:\\/='-]+$ (maxLength 1000).
func validIdentifier(s, extra string, maxLen int) bool {
	if s == "" || s == "." || s == ".." || len([]rune(s)) > maxLen {
		return false
	}
	for _, r := range s {
		if (r >= '0' && r <= '9') || unicode.IsLetter(r) || strings.ContainsRune(extra, r) {
			continue
		}
		return false
	}
	return true
}

func validEntityID(s string) bool    { return validIdentifier(s, entityIDChars, 1000) }
func validBlueprintID(s string) bool { return validIdentifier(s, blueprintIDChars, 100) }

func validSchemaKey(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, r := range s {
		if !(r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("@_=-", r))) {
			return false
		}
	}
	return true
}

func isQuery(v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	_, hasC := m["combinator"]
	_, hasR := m["rules"]
	return m, hasC && hasR
}

// ---- blueprints ----

// parseBlueprint validates a blueprint body and extracts what validation needs.
func parseBlueprint(raw map[string]any) (*blueprint, *apiError) {
	id, _ := raw["identifier"].(string)
	if !validBlueprintID(id) {
		return nil, errorf(http.StatusUnprocessableEntity, "invalid_request", "blueprint identifier %q does not match the pattern", id)
	}
	bp := &blueprint{id: id, raw: raw, props: map[string]propSpec{}, relations: map[string]relSpec{}, entities: map[string]*entity{}}
	schema, ok := raw["schema"].(map[string]any)
	if !ok {
		return nil, errorf(http.StatusUnprocessableEntity, "invalid_request", "blueprint %q must have required property 'schema'", id)
	}
	props, ok := schema["properties"].(map[string]any)
	if !ok {
		return nil, errorf(http.StatusUnprocessableEntity, "invalid_request", "blueprint %q schema must have required property 'properties'", id)
	}
	for name, v := range props {
		p, ok := v.(map[string]any)
		if !ok || !validSchemaKey(name) {
			return nil, errorf(http.StatusUnprocessableEntity, "invalid_request", "blueprint %q property %q is invalid", id, name)
		}
		spec := propSpec{}
		spec.typ, _ = p["type"].(string)
		switch spec.typ {
		case "string", "number", "boolean", "object", "array":
		default:
			return nil, errorf(http.StatusUnprocessableEntity, "invalid_request", "blueprint %q property %q has invalid type %q", id, name, spec.typ)
		}
		spec.format, _ = p["format"].(string)
		spec.enum, _ = p["enum"].([]any)
		if items, ok := p["items"].(map[string]any); ok {
			spec.itemType, _ = items["type"].(string)
		}
		bp.props[name] = spec
	}
	if req, ok := schema["required"].([]any); ok {
		for _, r := range req {
			s, _ := r.(string)
			if _, ok := bp.props[s]; !ok {
				return nil, errorf(http.StatusUnprocessableEntity, "invalid_request", "blueprint %q requires unknown property %q", id, s)
			}
			bp.required = append(bp.required, s)
		}
	}
	if rels, ok := raw["relations"].(map[string]any); ok {
		for name, v := range rels {
			r, ok := v.(map[string]any)
			target, _ := r["target"].(string)
			if !ok || target == "" || !validSchemaKey(name) {
				return nil, errorf(http.StatusUnprocessableEntity, "invalid_request", "blueprint %q relation %q is invalid", id, name)
			}
			many, _ := r["many"].(bool)
			required, _ := r["required"].(bool)
			bp.relations[name] = relSpec{target: target, many: many, required: required}
		}
	}
	return bp, nil
}

func (c *catalog) checkTargets(bp *blueprint) *apiError {
	for name, r := range bp.relations {
		if _, ok := c.blueprints[r.target]; !ok && r.target != bp.id {
			e := notFound("Blueprint", r.target)
			e.message = fmt.Sprintf("relation %q targets blueprint %q which was not found", name, r.target)
			return e
		}
	}
	return nil
}

func (c *catalog) createBlueprint(raw map[string]any) (map[string]any, *apiError) {
	if t, _ := raw["title"].(string); t == "" {
		return nil, errorf(http.StatusUnprocessableEntity, "invalid_request", "blueprint must have required property 'title'")
	}
	bp, aerr := parseBlueprint(raw)
	if aerr != nil {
		return nil, aerr
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.blueprints[bp.id]; ok {
		return nil, errorf(http.StatusConflict, "identifier_taken", "A blueprint with identifier %q already exists", bp.id)
	}
	if aerr := c.checkTargets(bp); aerr != nil {
		return nil, aerr
	}
	now := c.now().UTC().Format(time.RFC3339Nano)
	raw["createdAt"], raw["updatedAt"] = now, now
	raw["createdBy"], raw["updatedBy"] = "porttest", "porttest"
	if _, ok := raw["relations"]; !ok {
		raw["relations"] = map[string]any{}
	}
	c.blueprints[bp.id] = bp
	return maps.Clone(raw), nil
}

func (c *catalog) getBlueprint(id string) (map[string]any, *apiError) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	bp, ok := c.blueprints[id]
	if !ok {
		return nil, notFound("Blueprint", id)
	}
	return maps.Clone(bp.raw), nil
}

func (c *catalog) patchBlueprint(id string, patch map[string]any) (map[string]any, *apiError) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.blueprints[id]
	if !ok {
		return nil, notFound("Blueprint", id)
	}
	raw := maps.Clone(old.raw)
	for k, v := range patch {
		raw[k] = v
	}
	raw["identifier"] = id
	raw["updatedAt"] = c.now().UTC().Format(time.RFC3339Nano)
	bp, aerr := parseBlueprint(raw)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := c.checkTargets(bp); aerr != nil {
		return nil, aerr
	}
	bp.entities, bp.order, bp.deleted = old.entities, old.order, old.deleted
	*old = *bp // entities point at old; keep the pointer identity
	return maps.Clone(raw), nil
}

func (c *catalog) deleteBlueprint(id string) *apiError {
	c.mu.Lock()
	defer c.mu.Unlock()
	bp, ok := c.blueprints[id]
	if !ok {
		return notFound("Blueprint", id)
	}
	if len(bp.entities) > 0 {
		return errorf(http.StatusConflict, "has_entities", "Blueprint %q still has %d entities; delete them first", id, len(bp.entities))
	}
	for _, other := range c.blueprints {
		for name, r := range other.relations {
			if r.target == id && other.id != id {
				return errorf(http.StatusConflict, "has_dependents", "Blueprint %q is the target of relation %q of %q", id, name, other.id)
			}
		}
	}
	delete(c.blueprints, id)
	return nil
}

// ---- entity writes ----

// entityIn is an entity in a write request.
type entityIn struct {
	Identifier any            `json:"identifier"`
	Title      *string        `json:"title"`
	Icon       *string        `json:"icon"`
	Team       any            `json:"team"`
	Properties map[string]any `json:"properties"`
	Relations  map[string]any `json:"relations"`
}

// routeCheck is the route-schema validation Port applies to the whole request.
func routeCheck(in *entityIn) *apiError {
	switch id := in.Identifier.(type) {
	case nil:
	case string:
		if !validEntityID(id) {
			return errorf(http.StatusUnprocessableEntity, "invalid_request",
				"The json provided does not match the route's schema: identifier %q must match pattern \"^(?!\\.{1,2}$)[\\p{L}0-9@_.+:\\\\/='-]+$\"", id)
		}
	default:
		if _, ok := isQuery(in.Identifier); !ok {
			return errorf(http.StatusUnprocessableEntity, "invalid_request", "The json provided does not match the route's schema: identifier must be a string or a search query")
		}
	}
	return nil
}

type writeOpts struct {
	upsert, merge, createMissing, validationOnly bool
	datasource                                   string
}

func writeOptsOf(r *http.Request, ua string) writeOpts {
	return writeOpts{upsert: boolParam(r, "upsert"), merge: boolParam(r, "merge"),
		createMissing: boolParam(r, "create_missing_related_entities"), validationOnly: boolParam(r, "validation_only"),
		datasource: ua}
}

// placeholder is a missing related entity to create.
type placeholder struct{ bp, id string }

// upsertLocked validates and writes one entity. c.mu is held for writing.
func (c *catalog) upsertLocked(bp *blueprint, in *entityIn, o writeOpts, now time.Time) (*entity, bool, *apiError) {
	// Identifier.
	var id string
	switch v := in.Identifier.(type) {
	case nil:
		c.seq++
		id = "e_" + strconv.FormatUint(c.seq, 36) + randomHex(4)
	case string:
		id = v
	default:
		q, _ := isQuery(v)
		found, aerr := c.matchIn(bp, q, 2)
		if aerr != nil {
			return nil, false, aerr
		}
		switch len(found) {
		case 0:
			return nil, false, errorf(http.StatusNotFound, "not_found", "no entity of blueprint %q matches the identifier query", bp.id)
		case 1:
			id = found[0].id
		default:
			return nil, false, errorf(http.StatusUnprocessableEntity, "invalid_request", "the identifier query matches more than one entity of blueprint %q", bp.id)
		}
	}
	// Properties against the schema.
	for name, v := range in.Properties {
		spec, ok := bp.props[name]
		if !ok {
			return nil, false, errorf(http.StatusUnprocessableEntity, "invalid_request",
				"The property %q is not defined in blueprint %q", name, bp.id)
		}
		if msg := checkValue(spec, v); msg != "" {
			return nil, false, errorf(http.StatusUnprocessableEntity, "invalid_request",
				"The property %q of entity %q %s", name, id, msg)
		}
	}
	// Relations: shape, resolution and existence.
	var rels map[string]any
	var missing []placeholder
	if len(in.Relations) > 0 {
		rels = make(map[string]any, len(in.Relations))
	}
	for name, v := range in.Relations {
		spec, ok := bp.relations[name]
		if !ok {
			return nil, false, errorf(http.StatusUnprocessableEntity, "invalid_request",
				"The relation %q is not defined in blueprint %q", name, bp.id)
		}
		target := c.blueprints[spec.target]
		resolved, aerr := c.resolveRelation(name, spec, target, v)
		if aerr != nil {
			return nil, false, aerr
		}
		var ids []string
		switch r := resolved.(type) {
		case string:
			ids = []string{r}
		case []string:
			ids = r
		}
		for _, tid := range ids {
			if target == nil || target.entities[tid] == nil {
				if spec.target == bp.id && tid == id {
					continue // self-reference to the entity being written
				}
				if !o.createMissing || target == nil {
					return nil, false, &apiError{status: http.StatusNotFound, code: "not_found",
						message: fmt.Sprintf("Related entity %q of blueprint %q (relation %q) was not found", tid, spec.target, name),
						details: map[string]any{"resource": "Entity", "byField": "identifier", "withValue": tid}}
				}
				missing = append(missing, placeholder{spec.target, tid})
			}
		}
		rels[name] = resolved
	}
	existing := bp.entities[id]
	if existing != nil && !o.upsert {
		return nil, false, errorf(http.StatusConflict, "identifier_taken", "An entity with identifier %q already exists in blueprint %q", id, bp.id)
	}
	// The new state: merged or replaced. Stored maps are copied, never mutated.
	props := in.Properties
	if existing != nil && o.merge {
		oldProps, oldRels := existing.unpack()
		props = mergeMaps(oldProps, in.Properties)
		rels = mergeMaps(oldRels, rels)
	} else {
		props = maps.Clone(props)
	}
	if props == nil {
		props = map[string]any{}
	}
	if rels == nil {
		rels = map[string]any{}
	}
	for _, r := range bp.required {
		if v, ok := props[r]; !ok || v == nil {
			return nil, false, errorf(http.StatusUnprocessableEntity, "invalid_request",
				"The entity %q is missing the required property %q", id, r)
		}
	}
	for name, spec := range bp.relations {
		if spec.required && isEmpty(rels[name]) {
			return nil, false, errorf(http.StatusUnprocessableEntity, "invalid_request",
				"The entity %q is missing the required relation %q", id, name)
		}
	}
	e := &entity{bp: bp, id: id, props: props, rels: rels, team: in.Team, datasource: o.datasource,
		createdAt: now, updatedAt: now}
	if existing != nil && o.merge {
		e.title, e.icon, e.team = existing.title, existing.icon, existing.team
	}
	if in.Title != nil {
		e.title = *in.Title
		if e.title == id {
			e.title = id // one string, not two, for each of a million entities titled by their identifier
		}
	}
	if in.Icon != nil {
		e.icon = *in.Icon
	}
	if in.Team != nil {
		e.team = in.Team
	}
	if e.title == "" && existing == nil {
		e.title = id
	} else if e.title == "" {
		e.title = existing.title
	}
	if o.validationOnly {
		return e, existing == nil, nil
	}
	for _, p := range missing {
		tbp := c.blueprints[p.bp]
		if tbp.entities[p.id] == nil {
			c.store(tbp, &entity{bp: tbp, id: p.id, title: p.id, props: map[string]any{}, rels: map[string]any{},
				createdAt: now, updatedAt: now}, nil)
		}
	}
	if existing != nil {
		e.createdAt = existing.createdAt
	}
	c.store(bp, e, existing)
	return e, existing == nil, nil
}

func mergeMaps(old, upd map[string]any) map[string]any {
	m := make(map[string]any, len(old)+len(upd))
	maps.Copy(m, old)
	maps.Copy(m, upd)
	return m
}

// store puts e in place of old (which may be nil) and maintains the indexes.
func (c *catalog) store(bp *blueprint, e, old *entity) {
	if old != nil {
		c.unref(old)
		// Keep the position in listing order: reuse the record's sequence number.
		e.seq = old.seq
		*old = *e
		c.ref(old)
		if c.compact {
			old.pack(&c.scratch)
		}
		return
	}
	c.seq++
	e.seq = c.seq
	bp.entities[e.id] = e
	bp.order = append(bp.order, e)
	c.all = append(c.all, e)
	c.ref(e)
	if c.compact {
		e.pack(&c.scratch)
	}
}

func relTargets(e *entity, fn func(rel, target string)) {
	for name, v := range e.relations() {
		spec, ok := e.bp.relations[name]
		if !ok {
			continue
		}
		switch r := v.(type) {
		case string:
			fn(name, key(spec.target, r))
		case []string:
			for _, t := range r {
				fn(name, key(spec.target, t))
			}
		}
	}
}

func (c *catalog) ref(e *entity) {
	relTargets(e, func(_, k string) {
		set := c.refs[k]
		if set == nil {
			set = map[*entity]struct{}{}
			c.refs[k] = set
		}
		set[e] = struct{}{}
	})
}

func (c *catalog) unref(e *entity) {
	relTargets(e, func(_, k string) {
		if set := c.refs[k]; set != nil {
			delete(set, e)
			if len(set) == 0 {
				delete(c.refs, k)
			}
		}
	})
}

// resolveRelation normalises a relation value to nil, string or []string.
func (c *catalog) resolveRelation(name string, spec relSpec, target *blueprint, v any) (any, *apiError) {
	bad := func(msg string) *apiError {
		return errorf(http.StatusUnprocessableEntity, "invalid_request", "The relation %q %s", name, msg)
	}
	switch r := v.(type) {
	case nil:
		return nil, nil
	case string:
		if spec.many {
			return nil, bad("is a many relation and needs an array")
		}
		if !validEntityID(r) {
			return nil, bad(fmt.Sprintf("has an invalid identifier %q", r))
		}
		return r, nil
	case []any:
		if !spec.many {
			return nil, bad("is a single relation and cannot take an array")
		}
		ids := make([]string, 0, len(r))
		for _, x := range r {
			s, ok := x.(string)
			if !ok || !validEntityID(s) {
				return nil, bad("must be an array of identifiers")
			}
			ids = append(ids, s)
		}
		return ids, nil
	case map[string]any:
		q, ok := isQuery(r)
		if !ok {
			return nil, bad("must be an identifier, an array of identifiers or a search query")
		}
		if target == nil {
			return nil, notFound("Blueprint", spec.target)
		}
		found, aerr := c.matchIn(target, q, 0)
		if aerr != nil {
			return nil, aerr
		}
		if spec.many {
			ids := make([]string, len(found))
			for i, e := range found {
				ids[i] = e.id
			}
			return ids, nil
		}
		switch len(found) {
		case 0:
			return nil, errorf(http.StatusNotFound, "not_found", "the search query of relation %q matches no entity", name)
		case 1:
			return found[0].id, nil
		}
		return nil, bad("search query matches more than one entity")
	}
	return nil, bad("must be an identifier, an array of identifiers or a search query")
}

// checkValue checks a property value against its schema; "" means valid.
func checkValue(spec propSpec, v any) string {
	if v == nil {
		return ""
	}
	if msg := checkType(spec.typ, v); msg != "" {
		return msg
	}
	if spec.typ == "array" && spec.itemType != "" {
		for _, item := range v.([]any) {
			if msg := checkType(spec.itemType, item); msg != "" {
				return "has an item that " + strings.TrimPrefix(msg, "must ")
			}
		}
	}
	if len(spec.enum) > 0 && !slices.ContainsFunc(spec.enum, func(x any) bool { return equal(x, v) }) {
		return fmt.Sprintf("must be equal to one of the allowed values %v", spec.enum)
	}
	if spec.typ == "string" && spec.format == "date-time" {
		if _, err := time.Parse(time.RFC3339Nano, v.(string)); err != nil {
			return `must match format "date-time"`
		}
	}
	return ""
}

func checkType(typ string, v any) string {
	ok := false
	switch typ {
	case "string":
		_, ok = v.(string)
	case "number":
		_, ok = v.(float64)
	case "boolean":
		_, ok = v.(bool)
	case "object":
		_, ok = v.(map[string]any)
	case "array":
		_, ok = v.([]any)
	default:
		ok = true
	}
	if !ok {
		return "must be " + typ
	}
	return ""
}

// ---- deletes ----

// deleteLocked deletes an entity, handling dependents. c.mu is held for writing.
func (c *catalog) deleteLocked(e *entity, dependents bool) *apiError {
	if !dependents {
		if aerr := c.blockingDependent(e, nil); aerr != nil {
			return aerr
		}
		c.detach(e)
		c.removeEntity(e)
		return nil
	}
	srcs := slices.Collect(maps.Keys(c.refs[key(e.bp.id, e.id)]))
	c.removeEntity(e)
	for _, src := range srcs {
		if !src.deleted {
			_ = c.deleteLocked(src, true)
		}
	}
	return nil
}

// detach clears every reference to e from other entities.
func (c *catalog) detach(e *entity) {
	k := key(e.bp.id, e.id)
	for _, src := range slices.Collect(maps.Keys(c.refs[k])) {
		c.clearRefs(src, k)
	}
}

// clearRefs removes the references of src to the target key k (copy on write).
func (c *catalog) clearRefs(src *entity, k string) {
	c.unref(src)
	props, oldRels := src.unpack()
	rels := maps.Clone(oldRels)
	for name, v := range rels {
		spec := src.bp.relations[name]
		switch r := v.(type) {
		case string:
			if key(spec.target, r) == k {
				rels[name] = nil
			}
		case []string:
			rels[name] = slices.DeleteFunc(slices.Clone(r), func(t string) bool { return key(spec.target, t) == k })
		}
	}
	src.props, src.rels, src.packed = props, rels, nil
	src.updatedAt = c.now()
	c.ref(src)
	if c.compact {
		src.pack(&c.scratch)
	}
}

func (c *catalog) removeEntity(e *entity) {
	if e.deleted {
		return
	}
	c.unref(e)
	e.deleted = true
	delete(e.bp.entities, e.id)
	e.bp.deleted++
	c.deleted++
	// Compact listing order once deleted records dominate; cursors are sequence numbers,
	// so compaction does not disturb paging.
	if e.bp.deleted > 1024 && e.bp.deleted > len(e.bp.order)/2 {
		e.bp.order = slices.DeleteFunc(e.bp.order, func(x *entity) bool { return x.deleted })
		e.bp.deleted = 0
	}
	if c.deleted > 1024 && c.deleted > len(c.all)/2 {
		c.all = slices.DeleteFunc(c.all, func(x *entity) bool { return x.deleted })
		c.deleted = 0
	}
}

// ---- reads ----

// seek returns the position of the first entity with seq >= from.
func seek(list []*entity, from uint64) int {
	return sort.Search(len(list), func(i int) bool { return list[i].seq >= from })
}

func (c *catalog) snapshot(bp string) []port.Entity {
	c.mu.RLock()
	defer c.mu.RUnlock()
	b, ok := c.blueprints[bp]
	if !ok {
		return nil
	}
	out := make([]port.Entity, 0, len(b.entities))
	for _, e := range b.entities {
		out = append(out, e.toPort())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID() < out[j].ID() })
	return out
}

// decodeEntityJSON round-trips v through JSON, for resources stored as maps.
func decodeEntityJSON(v any) map[string]any {
	data, _ := json.Marshal(v)
	var m map[string]any
	_ = json.Unmarshal(data, &m)
	return m
}
