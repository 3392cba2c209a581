package mapping

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/itchyny/gojq"
)

// DefaultItemTimeout is the default per-item evaluation budget.
const DefaultItemTimeout = 10 * time.Second

// Option configures Compile.
type Option func(*options)

type options struct {
	env         []string
	envAccess   bool
	itemTimeout time.Duration
	evalLimit   int64
	workers     int
	examples    *ExampleCollector
	resolvers   []resolver
	regexTime   time.Duration
}

type resolver struct {
	prefix string
	f      Resolver
}

// Resolver computes a mapping field whose text is not jq but a form an
// integration defines, such as gitlab-v2's deprecated "file://README.md"
// (the file's text in the item's repository) and
// "search://scope=blobs && query=…" (whether a search finds anything).
// It receives the item the field's jq would see and the field's whole
// text. Its error is a field error, as a failing jq program's would be.
type Resolver func(ctx context.Context, item map[string]any, text string) (any, error)

// WithResolver makes every mapping field (selector query, identifier,
// title, properties, relations, …) whose text starts with prefix computed
// by f instead of compiled as jq, as Ocean's entity processors do for the
// prefixes an integration registers. The first matching prefix wins.
func WithResolver(prefix string, f Resolver) Option {
	return func(o *options) {
		if prefix != "" && f != nil {
			o.resolvers = append(o.resolvers, resolver{prefix, f})
		}
	}
}

// WithEnv supplies the environment ("KEY=value" strings) that jq's env and
// $ENV see. The package never reads the process environment itself; pass
// os.Environ() (ideally filtered of secrets) to mirror Ocean, whose
// allow_environment_variables_jq_access defaults to true.
func WithEnv(environ []string) Option {
	return func(o *options) { o.env = environ }
}

// WithEnvAccess turns jq's access to the environment on or off (Ocean's
// allow_environment_variables_jq_access, default true). When off, env and
// $ENV are {} whatever WithEnv says.
func WithEnvAccess(allowed bool) Option {
	return func(o *options) { o.envAccess = allowed }
}

// WithItemTimeout sets the evaluation budget of one raw item (default
// DefaultItemTimeout). An item over budget is reported as a misconfiguration
// wrapping ErrItemTimeout. Zero or less turns the budget off.
func WithItemTimeout(d time.Duration) Option {
	return func(o *options) { o.itemTimeout = d }
}

// WithEvalMemoryLimit bounds, in bytes, what one jq evaluation may build
// (default DefaultEvalMemoryLimit). gojq has no memory limit of its own and
// the time budget stops a program only after it has allocated what it
// could in that time: a mapping such as [range(1e8)] or "x" * 1e9, edited
// in Port's UI, would exhaust the sync's memory. An evaluation over the
// limit fails with a *LimitError naming the operation, and its item is
// reported as a Misconfiguration for the field. Sizes are estimates of
// what the built values take in memory. Zero or less turns the bound off.
func WithEvalMemoryLimit(n int64) Option {
	return func(o *options) { o.evalLimit = n }
}

// WithRegexTimeout bounds one match of a regular expression that needs
// look-around or back-references (default DefaultRegexTimeout). Those run
// on a backtracking engine, where a pattern such as (a+)+$ can take
// exponential time; a match over budget is a field error. Zero or less
// turns the bound off.
func WithRegexTimeout(d time.Duration) Option {
	return func(o *options) { o.regexTime = d }
}

// WithWorkers bounds the goroutines one Map call uses (default GOMAXPROCS).
func WithWorkers(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.workers = n
		}
	}
}

// WithExamples makes Map record the first raw items of each kind into c (see
// ExampleCollector).
func WithExamples(c *ExampleCollector) Option {
	return func(o *options) { o.examples = c }
}

// Mapper is a compiled port app config. It is safe for concurrent use.
type Mapper struct {
	cfg       *Config
	resources []*ResourceMapper
	opts      options
}

// Config returns the config the mapper was compiled from.
func (m *Mapper) Config() *Config { return m.cfg }

// Resources returns one ResourceMapper per resource, in config order.
func (m *Mapper) Resources() []*ResourceMapper { return m.resources }

// ResourcesForKind returns the resources of a kind, in config order.
func (m *Mapper) ResourcesForKind(kind string) []*ResourceMapper {
	var out []*ResourceMapper
	for _, r := range m.resources {
		if r.res.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

// ResourceMapper maps the raw items of one resource. It is safe for
// concurrent use.
type ResourceMapper struct {
	index int
	res   *Resource
	opts  *options

	selector     *leaf // nil when the query is the constant true
	itemsToParse *leaf
	itemsName    string
	del          deletePath
	mappings     []*cmapping
	fields       []fieldInfo
	// budgeted is true when some program may run gojq for long: only those
	// resources pay for the per-item watchdog.
	budgeted bool
	err      error // why the resource did not compile
	// paths are the item's keys the programs may read (see Fields).
	paths Fields
}

// Err returns why the resource did not compile (errors.Join of
// *CompileError), or nil. A resource that did not compile maps nothing:
// Map returns this error.
func (r *ResourceMapper) Err() error { return r.err }

// Index returns the resource's position in the config.
func (r *ResourceMapper) Index() int { return r.index }

// Kind returns the resource's kind.
func (r *ResourceMapper) Kind() string { return r.res.Kind }

// Resource returns the resource configuration.
func (r *ResourceMapper) Resource() *Resource { return r.res }

type fieldInfo struct {
	field string
	expr  string
}

type leaf struct {
	e  *expr
	id int
	// ext computes the field instead of e (see WithResolver); text is the
	// field's text it is given.
	ext  Resolver
	text string
}

type cnode struct {
	leaf  *leaf
	query *cquery
}

type cquery struct {
	combinator *leaf
	rules      []crule
}

type crule struct {
	property, operator, value *leaf
	query                     *cquery
}

type cprop struct {
	name string
	l    *leaf
}

type crel struct {
	name string
	n    cnode
}

type cmapping struct {
	identifier  cnode
	blueprint   *leaf
	title, icon *leaf
	team        *cnode
	props       []cprop
	rels        []crel
}

// Compile compiles every jq program of cfg exactly once. All compile errors
// are returned together (errors.Join of *CompileError). The Mapper is
// returned with them whenever cfg is not nil: one broken resource must not
// stop the others from syncing, so a resource that does not compile has
// its errors in ResourceMapper.Err and maps nothing, and the others work.
func Compile(cfg *Config, opts ...Option) (*Mapper, error) {
	if cfg == nil {
		return nil, errors.New("mapping: nil config")
	}
	o := options{envAccess: true, itemTimeout: DefaultItemTimeout, evalLimit: DefaultEvalMemoryLimit, workers: runtime.GOMAXPROCS(0), regexTime: DefaultRegexTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	loader, err := newCompatLoader()
	if err != nil {
		return nil, fmt.Errorf("mapping: compat module: %w", err)
	}
	ns, err := newNativeSub()
	if err != nil {
		return nil, fmt.Errorf("mapping: native sub: %w", err)
	}
	guards, err := newGuardFuncs()
	if err != nil {
		return nil, fmt.Errorf("mapping: guard functions: %w", err)
	}
	rc, err := newRegexCompat(o.regexTime)
	if err != nil {
		return nil, fmt.Errorf("mapping: regex compatibility: %w", err)
	}
	jqOpts := append([]gojq.CompilerOption{gojq.WithFunction("lgamma_r", 0, 0, lgammaR), ns.option(), rc.option()}, guards.options()...)
	if o.envAccess && o.env != nil {
		env := append([]string(nil), o.env...)
		jqOpts = append(jqOpts, gojq.WithEnvironLoader(func() []string { return env }))
	}
	compatOpts := append(slices.Clip(jqOpts), gojq.WithModuleLoader(loader))
	m := &Mapper{cfg: cfg, opts: o}
	var errs []error
	for i := range cfg.Resources {
		c := &resCompiler{idx: i, kind: cfg.Resources[i].Kind, jqOpts: jqOpts, compatOpts: compatOpts, evalLimit: max(o.evalLimit, 0), resolvers: o.resolvers, regex: rc}
		rm := c.resource(&cfg.Resources[i], &m.opts)
		if len(c.errs) > 0 {
			rm.err = errors.Join(c.errs...)
			rm.paths = AllFields
		} else {
			rm.paths = resourceFields(&cfg.Resources[i], o.resolvers)
		}
		errs = append(errs, c.errs...)
		m.resources = append(m.resources, rm)
	}
	return m, errors.Join(errs...)
}

type resCompiler struct {
	idx        int
	kind       string
	jqOpts     []gojq.CompilerOption
	compatOpts []gojq.CompilerOption // jqOpts plus the libjq compatibility module
	evalLimit  int64                 // 0: programs are not guarded
	resolvers  []resolver
	regex      *regexCompat
	errs       []error
	rm         *ResourceMapper
}

func (c *resCompiler) resource(res *Resource, o *options) *ResourceMapper {
	rm := &ResourceMapper{index: c.idx, res: res, opts: o, itemsName: res.Port.ItemsToParseName}
	if rm.itemsName == "" {
		rm.itemsName = DefaultItemsToParseName
	}
	c.rm = rm
	q := res.Selector.Query
	if q == "" {
		q = DefaultSelectorQuery
	}
	if sel := c.leaf(".selector.query", "selector.query", q); sel != nil {
		if sel.e == nil || !(sel.e.constant && sel.e.value == true) {
			rm.selector = sel
		}
	}
	if res.Port.ItemsToParse != "" {
		rm.itemsToParse = c.leaf(".port.itemsToParse", "itemsToParse", res.Port.ItemsToParse)
		if res.Port.ItemsToParseTopLevelTransform {
			rm.del = newDeletePath(formatFilter(res.Port.ItemsToParse), c.jqOpts)
		}
	}
	for mi := range res.Port.Entity.Mappings {
		path, prefix := ".port.entity.mappings", ""
		if res.Port.Entity.MappingsList {
			path = ".port.entity.mappings[" + strconv.Itoa(mi) + "]"
			prefix = "mappings[" + strconv.Itoa(mi) + "]."
		}
		rm.mappings = append(rm.mappings, c.mapping(&res.Port.Entity.Mappings[mi], path, prefix))
	}
	return rm
}

func (c *resCompiler) mapping(em *EntityMapping, path, prefix string) *cmapping {
	cm := &cmapping{}
	cm.identifier = c.node(path+".identifier", prefix+"identifier", em.Identifier)
	cm.blueprint = c.leaf(path+".blueprint", prefix+"blueprint", em.Blueprint)
	if em.Title != "" {
		cm.title = c.leaf(path+".title", prefix+"title", em.Title)
	}
	if em.Icon != "" {
		cm.icon = c.leaf(path+".icon", prefix+"icon", em.Icon)
	}
	if em.Team != nil {
		n := c.node(path+".team", prefix+"team", *em.Team)
		cm.team = &n
	}
	for _, name := range sortedKeys(em.Properties) {
		cm.props = append(cm.props, cprop{name, c.leaf(path+".properties."+name, prefix+"properties."+name, em.Properties[name])})
	}
	for _, name := range sortedKeys(em.Relations) {
		cm.rels = append(cm.rels, crel{name, c.node(path+".relations."+name, prefix+"relations."+name, em.Relations[name])})
	}
	return cm
}

func (c *resCompiler) node(path, field string, f Field) cnode {
	if f.Query != nil {
		return cnode{query: c.query(path, field, f.Query)}
	}
	return cnode{leaf: c.leaf(path, field, f.JQ)}
}

func (c *resCompiler) query(path, field string, q *SearchQuery) *cquery {
	cq := &cquery{combinator: c.leaf(path+".combinator", field+".combinator", q.Combinator)}
	for i, r := range q.Rules {
		rp := path + ".rules[" + strconv.Itoa(i) + "]"
		rf := field + ".rules[" + strconv.Itoa(i) + "]"
		if r.Query != nil {
			cq.rules = append(cq.rules, crule{query: c.query(rp, rf, r.Query)})
			continue
		}
		cq.rules = append(cq.rules, crule{
			property: c.leaf(rp+".property", rf+".property", r.Property),
			operator: c.leaf(rp+".operator", rf+".operator", r.Operator),
			value:    c.leaf(rp+".value", rf+".value", r.Value),
		})
	}
	return cq
}

// leaf compiles one program; on error it records it and returns a leaf whose
// program is nil (the mapper is never used then).
func (c *resCompiler) leaf(path, field, src string) *leaf {
	for _, r := range c.resolvers {
		if strings.HasPrefix(src, r.prefix) {
			// A resolver may do I/O: give it the per-item watchdog.
			c.rm.budgeted = true
			l := &leaf{ext: r.f, text: src, id: len(c.rm.fields)}
			c.rm.fields = append(c.rm.fields, fieldInfo{field: field, expr: src})
			return l
		}
	}
	opts := c.jqOpts
	if needsCompat(src) {
		opts = c.compatOpts
	}
	e, err := compileWith(src, opts, c.evalLimit, c.regex)
	if err != nil {
		ce := &CompileError{Resource: c.idx, Kind: c.kind, Path: path, Expr: src, Offset: -1, Err: err}
		var pe *gojq.ParseError
		if errors.As(err, &pe) {
			ce.Offset, ce.Token = pe.Offset, pe.Token
		}
		c.errs = append(c.errs, ce)
		return nil
	}
	if !e.constant && !e.bounded {
		c.rm.budgeted = true
	}
	l := &leaf{e: e, id: len(c.rm.fields)}
	c.rm.fields = append(c.rm.fields, fieldInfo{field: field, expr: src})
	return l
}

// hasPartialIf reports whether q has an if term with a branch that the
// fast path leaves to gojq: such a branch can run anything.
func hasPartialIf(q *gojq.Query) bool {
	found := false
	walkQuery(q, func(t *gojq.Term) {
		if t.Type == gojq.TermTypeIf && !fullyFastIf(t.If) {
			found = true
		}
	}, func(*gojq.FuncDef) {})
	return found
}

func fullyFastIf(x *gojq.If) bool {
	if x == nil || buildFast(x.Cond) == nil || buildFast(x.Then) == nil {
		return false
	}
	for _, e := range x.Elif {
		if buildFast(e.Cond) == nil || buildFast(e.Then) == nil {
			return false
		}
	}
	return x.Else == nil || buildFast(x.Else) != nil
}

// compileExpr applies Ocean's quote pre-processing, then parses and compiles
// src once, unguarded.
func compileExpr(src string, jqOpts []gojq.CompilerOption) (*expr, error) {
	return compileGuarded(src, jqOpts, 0)
}

// compileGuarded is compileExpr with the gojq program bounded to build at
// most limit bytes per evaluation (see guardQuery); jqOpts must then hold
// the guard functions. The fast path is not guarded: it evaluates shapes
// that cannot build more than a multiple of their input.
func compileGuarded(src string, jqOpts []gojq.CompilerOption, limit int64) (*expr, error) {
	return compileWith(src, jqOpts, limit, nil)
}

// compileWith is compileGuarded with, when rc is set, jq's regex functions
// redefined for the programs whose patterns RE2 may not compile (see
// regexCompat); jqOpts must then hold rc's option.
func compileWith(src string, jqOpts []gojq.CompilerOption, limit int64, rc *regexCompat) (*expr, error) {
	q, err := gojq.Parse(formatFilter(src))
	if err != nil {
		return nil, err
	}
	if err := checkReserved(q); err != nil {
		return nil, err
	}
	fast := buildFast(q) // before Compile, which may rewrite the AST
	bounded := fast != nil && !hasPartialIf(q)
	if rc != nil && rc.needed(q) {
		// The native sub and the fast path only know RE2.
		if err := rc.apply(q); err != nil {
			return nil, err
		}
		fast, bounded = nil, false
	} else {
		rewriteSubCalls(q)
	}
	e := &expr{src: src, fast: fast, bounded: bounded}
	if limit > 0 {
		used, err := guardQuery(q)
		if err != nil {
			return nil, err
		}
		e.limit, e.budgetVar = limit, used
		if used {
			jqOpts = append(slices.Clip(jqOpts), gojq.WithVariables([]string{budgetVar}))
		}
	}
	if e.code, err = gojq.Compile(q, jqOpts...); err != nil {
		return nil, err
	}
	if c, ok := fast.(fConst); ok {
		e.constant, e.value = true, c.v
	}
	return e, nil
}
