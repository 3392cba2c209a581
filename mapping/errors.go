package mapping

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/itchyny/gojq"
)

// ErrItemTimeout is wrapped by a Misconfiguration's Err when an item's jq
// evaluation ran longer than the per-item budget (WithItemTimeout).
var ErrItemTimeout = errors.New("mapping: item exceeded its evaluation time budget")

// CompileError is a jq program that does not parse or compile. Offset and
// Token are set for parse errors (Offset is -1 otherwise).
type CompileError struct {
	Resource int
	Kind     string
	// Path locates the program in the resource, for example
	// ".port.entity.mappings.properties.leadTime".
	Path   string
	Expr   string
	Offset int
	Token  string
	Err    error
}

func (e *CompileError) Error() string {
	loc := resourceLabel(e.Resource, e.Kind) + " " + e.Path + ": "
	if e.Offset >= 0 {
		near := ""
		if e.Token != "" {
			near = " near " + strconv.Quote(e.Token)
		}
		return fmt.Sprintf("%sjq parse error at offset %d%s: %v (expression: %s)", loc, e.Offset, near, e.Err, e.Expr)
	}
	return fmt.Sprintf("%sjq compile error: %v (expression: %s)", loc, e.Err, e.Expr)
}

func (e *CompileError) Unwrap() error { return e.Err }

// Misconfiguration reports an item (or one entity of it) that was left out
// because a jq program failed at run time or produced a value of the wrong
// type. Identifier and Blueprint are set when they could be computed, so that
// the caller can keep that entity out of stale-entity deletion.
type Misconfiguration struct {
	// Item is the index of the raw item in the slice given to Map.
	Item int
	// Element is the index in the itemsToParse array, or -1.
	Element int
	// Mapping is the index in a list of mappings (0 for a single mapping).
	Mapping int
	// Field is the mapping field, Ocean style: "identifier",
	// "properties.leadTime", "relations.project.rules[0].value",
	// "selector.query" or "itemsToParse".
	Field string
	// Expr is the jq program as written in the config.
	Expr       string
	Err        error
	Identifier string
	Blueprint  string
}

func (m Misconfiguration) String() string {
	pos := "item " + strconv.Itoa(m.Item)
	if m.Element >= 0 {
		pos += " element " + strconv.Itoa(m.Element)
	}
	if m.Mapping > 0 {
		pos += " mapping " + strconv.Itoa(m.Mapping)
	}
	s := fmt.Sprintf("%s: %s (%s): %v", pos, m.Field, m.Expr, m.Err)
	if m.Identifier != "" {
		s += " [entity " + m.Blueprint + "/" + m.Identifier + "]"
	}
	return s
}

// TypeError is a jq result of the wrong type for its field.
type TypeError struct {
	Field string
	Want  string
	Got   any
}

func (e *TypeError) Error() string {
	msg := fmt.Sprintf("%s must be %s, got %s", e.Field, e.Want, preview(e.Got))
	switch e.Got.(type) {
	case float64, int, json.Number, *big.Int:
		if e.Field == "identifier" || strings.HasPrefix(e.Field, "relations.") || e.Field == "blueprint" {
			msg += "; make it a string in the mapping with tostring (for example .id | tostring)"
		}
	}
	return msg
}

// PanicError is a panic recovered while evaluating an item.
type PanicError struct {
	Value any
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("mapping: panic during evaluation: %v", e.Value)
}

// preview renders a value briefly for error messages, never a whole item.
func preview(v any) string {
	return typeName(v) + " (" + gojq.Preview(v) + ")"
}
