// Package mapping is the port app config model and the jq mapping engine of
// oceankit: it turns raw items into Port entities exactly as Ocean's port app
// config describes.
//
// Parse reads a config from YAML or JSON and validates it (unknown keys,
// missing kind, blueprint or identifier). Compile compiles every jq program
// once, reporting all compile errors together with their location; a
// resource that does not compile fails alone (ResourceMapper.Err) and the
// others work. The resulting Mapper holds one ResourceMapper per resource;
// its Map method maps a batch with a bounded number of workers, keeps input
// order, and reports every field that fails (a jq run-time error, a value of
// the wrong type, a time budget exceeded) while the batch goes on.
//
// # Semantics (Ocean's)
//
//   - itemsToParse expands one raw item into one item per array element,
//     bound under itemsToParseName on a shallow copy of the parent, with the
//     source array removed when itemsToParseTopLevelTransform is true.
//   - The selector query runs on every (expanded) item: false filters it
//     out; an error or any other value, null included, is an error for the
//     item (Result.SelectorErrors), never a quiet filter.
//   - Every mapping leaf is a jq program; only its first output is used and
//     an empty output is null. Search-query identifiers, teams and relations
//     are objects whose leaves are jq programs.
//   - A field other than the identifier and blueprint whose jq fails for an
//     item is null, and the entity is kept (Result.FieldErrors); a failing
//     identifier or blueprint leaves the item out (Result.Misconfigured).
//   - An entity whose identifier or blueprint is null or empty is dropped
//     (Result.Dropped). Null properties are kept as null and counted in
//     Result.NullFields. A numeric title or icon is kept as its text.
//   - Regular expressions RE2 cannot compile (look-around, back-references)
//     run on a backtracking engine, bounded by WithRegexTimeout.
//
// # Performance
//
// Nothing is parsed per item. Most mapping programs (field paths,
// literals, //, tostring, ascii_downcase/upcase, string interpolation,
// + - * / on numbers, floor and the other rounding functions,
// fromdateiso8601 on plain UTC timestamps, ==, !=, and/or/not,
// to_entries, max_by/min_by, sub/gsub with literal arguments,
// [.list[]?.field], if/elif/else) are evaluated by an interpreter-free
// fast path whose results are identical to gojq's; anything else, and
// every error case, runs gojq. The GitLab integration's default mapping
// runs entirely on it. sub/gsub calls with literal arguments also run
// natively inside gojq, again with gojq's results. Items are never copied
// except to bind itemsToParse elements. A resource whose programs all take
// the fast path needs no per-item timer.
//
// # Limits
//
// A mapping may be edited in Port's UI by whoever manages the integration,
// so one evaluation is bounded twice: in time (WithItemTimeout) and in what
// it may build (WithEvalMemoryLimit, 64 MiB by default). gojq has no memory
// limit of its own: each gojq program is rewritten at Compile so that the
// operations that build values charge a per-evaluation budget first and
// fail past it (a *LimitError wrapping ErrEvalLimit, reported as an error
// of the field), before they allocate. See JQ_DIFFERENCES.md.
//
// # jq differences
//
// gojq differs from libjq (which Ocean uses) in a few ways a mapping could
// notice; see JQ_DIFFERENCES.md in this directory for the full list:
//
//   - Single-quoted jq strings (.a == 'x') are rewritten as Ocean does.
//   - keys_unsorted, leaf_paths, date, dateadd, datesub, pow10, lgamma_r,
//     debug, stderr, input_filename, toarray are provided.
//   - Object keys are iterated in sorted order (to_entries, keys_unsorted,
//     tojson), not insertion order.
//   - Items decoded as float64 print 50.0 as "50"; decode with UseNumber to
//     keep libjq's literal "50.0".
//   - Regular expressions use RE2: no backreferences or look-around; only the
//     g, i and m flags.
//   - strptime accepts %z, %Z and %f; fromdateiso8601 accepts offsets.
//   - $__loc__, input_line_number, get_search_list, ascii, isvalid and
//     modules are not supported (a compile error names the field).
//   - env and $ENV are {} unless the caller passes WithEnv.
package mapping
