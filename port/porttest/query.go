package porttest

import (
	"net/http"
	"reflect"
	"strings"
	"time"
)

// matchIn returns the entities of bp matching q, at most limit (0 = all).
func (c *catalog) matchIn(bp *blueprint, q map[string]any, limit int) ([]*entity, *apiError) {
	var out []*entity
	if ids, ok := identifierLookup(q); ok {
		for _, id := range ids {
			if e := bp.entities[id]; e != nil {
				ok, aerr := match(e, q)
				if aerr != nil {
					return nil, aerr
				}
				if ok {
					out = append(out, e)
				}
			}
		}
		return out, nil
	}
	for _, e := range bp.order {
		if e.deleted {
			continue
		}
		ok, aerr := match(e, q)
		if aerr != nil {
			return nil, aerr
		}
		if ok {
			out = append(out, e)
			if limit > 0 && len(out) >= limit {
				break
			}
		}
	}
	return out, nil
}

// identifierLookup finds an and-query rule "$identifier = x" or "$identifier in [...]",
// which lets a search look entities up instead of scanning.
func identifierLookup(q map[string]any) ([]string, bool) {
	if c, _ := q["combinator"].(string); c != "and" {
		return nil, false
	}
	rules, _ := q["rules"].([]any)
	for _, r := range rules {
		rule, _ := r.(map[string]any)
		if p, _ := rule["property"].(string); p != "$identifier" {
			continue
		}
		switch rule["operator"] {
		case "=":
			if s, ok := rule["value"].(string); ok {
				return []string{s}, true
			}
		case "in":
			if vs, ok := rule["value"].([]any); ok {
				ids := make([]string, 0, len(vs))
				for _, v := range vs {
					if s, ok := v.(string); ok {
						ids = append(ids, s)
					}
				}
				return ids, true
			}
		}
	}
	return nil, false
}

// blueprintLookup finds an and-query rule "$blueprint = x".
func blueprintLookup(q map[string]any) (string, bool) {
	if c, _ := q["combinator"].(string); c != "and" {
		return "", false
	}
	rules, _ := q["rules"].([]any)
	for _, r := range rules {
		rule, _ := r.(map[string]any)
		if p, _ := rule["property"].(string); p == "$blueprint" && rule["operator"] == "=" {
			s, ok := rule["value"].(string)
			return s, ok
		}
	}
	return "", false
}

func badQuery(format string, args ...any) *apiError {
	return errorf(http.StatusUnprocessableEntity, "invalid_request", "The json provided does not match the route's schema: "+format, args...)
}

func validQuery(q map[string]any) *apiError {
	c, _ := q["combinator"].(string)
	if c != "and" && c != "or" {
		return badQuery(`"query" must have required property 'combinator' ("and" or "or")`)
	}
	if _, ok := q["rules"].([]any); !ok {
		return badQuery(`"query" must have required property 'rules'`)
	}
	return nil
}

// match evaluates a query node (a combinator or a rule) against e.
func match(e *entity, node map[string]any) (bool, *apiError) {
	if comb, ok := node["combinator"]; ok {
		c, _ := comb.(string)
		rules, ok := node["rules"].([]any)
		if !ok || (c != "and" && c != "or") {
			return false, badQuery("a query needs combinator \"and\"|\"or\" and rules")
		}
		for _, r := range rules {
			rm, ok := r.(map[string]any)
			if !ok {
				return false, badQuery("a rule must be an object")
			}
			m, aerr := match(e, rm)
			if aerr != nil {
				return false, aerr
			}
			if c == "and" && !m {
				return false, nil
			}
			if c == "or" && m {
				return true, nil
			}
		}
		return c == "and", nil
	}
	return matchRule(e, node)
}

func field(e *entity, prop string) any {
	switch prop {
	case "$identifier":
		return e.id
	case "$title":
		return e.title
	case "$icon":
		return e.icon
	case "$blueprint":
		return e.bp.id
	case "$datasource":
		return e.datasource
	case "$team":
		return e.team
	case "$createdAt":
		return e.createdAt.UTC().Format(time.RFC3339Nano)
	case "$updatedAt":
		return e.updatedAt.UTC().Format(time.RFC3339Nano)
	}
	props, rels := e.unpack()
	if v, ok := props[prop]; ok {
		return v
	}
	if v, ok := rels[prop]; ok {
		if ids, ok := v.([]string); ok {
			out := make([]any, len(ids))
			for i, id := range ids {
				out[i] = id
			}
			return out
		}
		return v
	}
	return nil
}

func matchRule(e *entity, rule map[string]any) (bool, *apiError) {
	var prop string
	switch p := rule["property"].(type) {
	case string:
		prop = p
	case map[string]any:
		prop, _ = p["property"].(string)
	}
	if prop == "" {
		if _, ok := rule["relation"]; ok {
			return false, badQuery("porttest does not support relation rules")
		}
		return false, badQuery("a rule must have required property 'property'")
	}
	op, _ := rule["operator"].(string)
	got := field(e, prop)
	want := rule["value"]
	switch op {
	case "=":
		return eqOrHas(got, want), nil
	case "!=":
		return !eqOrHas(got, want), nil
	case "in", "notIn":
		vs, ok := want.([]any)
		if !ok {
			return false, badQuery("operator %q needs an array value", op)
		}
		in := false
		for _, v := range vs {
			if eqOrHas(got, v) {
				in = true
				break
			}
		}
		return in == (op == "in"), nil
	case "contains", "doesNotContains":
		has := contains(got, want)
		return has == (op == "contains"), nil
	case "containsAny":
		vs, ok := want.([]any)
		if !ok {
			return false, badQuery("operator containsAny needs an array value")
		}
		for _, v := range vs {
			if contains(got, v) {
				return true, nil
			}
		}
		return false, nil
	case "beginsWith", "doesNotBeginsWith", "endsWith", "doesNotEndsWith":
		gs, ok1 := got.(string)
		ws, ok2 := want.(string)
		if !ok2 {
			return false, badQuery("operator %q needs a string value", op)
		}
		var r bool
		if strings.Contains(op, "Begins") || op == "beginsWith" {
			r = ok1 && strings.HasPrefix(gs, ws)
		} else {
			r = ok1 && strings.HasSuffix(gs, ws)
		}
		return r == !strings.HasPrefix(op, "doesNot"), nil
	case "isEmpty":
		return isEmpty(got), nil
	case "isNotEmpty":
		return !isEmpty(got), nil
	case ">", ">=", "<", "<=":
		cmp, ok := compare(got, want)
		if !ok {
			return false, nil
		}
		switch op {
		case ">":
			return cmp > 0, nil
		case ">=":
			return cmp >= 0, nil
		case "<":
			return cmp < 0, nil
		}
		return cmp <= 0, nil
	}
	return false, badQuery("porttest does not support operator %q", op)
}

func equal(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	return reflect.DeepEqual(a, b)
}

// eqOrHas is "=" as Port applies it: on arrays (teams, many relations) it tests membership.
func eqOrHas(got, want any) bool {
	if arr, ok := got.([]any); ok {
		if _, wantArr := want.([]any); !wantArr {
			for _, v := range arr {
				if equal(v, want) {
					return true
				}
			}
			return false
		}
	}
	return equal(got, want)
}

func contains(got, want any) bool {
	switch g := got.(type) {
	case string:
		switch w := want.(type) {
		case string:
			return strings.Contains(g, w)
		case []any:
			for _, x := range w {
				if s, ok := x.(string); ok && strings.Contains(g, s) {
					return true
				}
			}
		}
	case []any:
		for _, v := range g {
			if equal(v, want) {
				return true
			}
		}
	}
	return false
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case []string:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

func compare(a, b any) (int, bool) {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		if !ok {
			return 0, false
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	case string:
		y, ok := b.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(x, y), true
	}
	return 0, false
}

// project applies include/exclude to a rendered entity.
func project(e map[string]any, include, exclude []string) map[string]any {
	if len(include) > 0 {
		out := map[string]any{}
		for _, f := range include {
			if sub, name, ok := strings.Cut(f, "."); ok {
				src, _ := e[sub].(map[string]any)
				if v, ok := src[name]; ok {
					dst, _ := out[sub].(map[string]any)
					if dst == nil {
						dst = map[string]any{}
						out[sub] = dst
					}
					dst[name] = v
				}
				continue
			}
			if v, ok := e[f]; ok {
				out[f] = v
			}
		}
		e = out
	}
	for _, f := range exclude {
		if sub, name, ok := strings.Cut(f, "."); ok {
			if src, ok := e[sub].(map[string]any); ok {
				cp := make(map[string]any, len(src))
				for k, v := range src {
					if k != name {
						cp[k] = v
					}
				}
				e[sub] = cp
			}
			continue
		}
		delete(e, f)
	}
	return e
}
