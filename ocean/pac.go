package ocean

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/oceankit/oceankit/internal/suggest"
	"github.com/oceankit/oceankit/mapping"
)

// portAppConfig returns the port app config: from the file or value the
// program was given, else from the integration in Port. fresh bypasses the
// cache, as resyncs do.
func (a *App) portAppConfig(ctx context.Context, fresh bool) (*mapping.Config, error) {
	if a.staticConfig != nil {
		return a.staticConfig, nil
	}
	a.pacMu.Lock()
	cached, at := a.pacCache, a.pacAt
	a.pacMu.Unlock()
	if !fresh && cached != nil && a.clock.Now().Sub(at) < a.cfg.Port.PortAppConfigCacheTTL {
		return cached, nil
	}
	if a.port == nil {
		return nil, errors.New("ocean: no port app config: set a config file or Port credentials")
	}
	integ, err := a.port.GetIntegration(ctx, a.cfg.Integration.Identifier)
	if err != nil {
		return nil, fmt.Errorf("ocean: get integration %q: %w", a.cfg.Integration.Identifier, err)
	}
	raw := integ.Config
	if len(raw) == 0 || string(raw) == "null" || string(raw) == "{}" {
		return nil, ErrEmptyMapping
	}
	pac, err := a.parseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("ocean: port app config of integration %q: %w", a.cfg.Integration.Identifier, err)
	}
	a.pacMu.Lock()
	a.pacCache, a.pacAt = pac, a.clock.Now()
	a.pacMu.Unlock()
	return pac, nil
}

func (a *App) parseConfig(raw []byte) (*mapping.Config, error) {
	return mapping.Parse(raw, mapping.AllowTopLevelKeys(a.provider.TopLevelKeys...))
}

// compiled is a port app config compiled once: the mapper, and why each
// resource that cannot run does not (its jq does not compile, or its
// selector does not decode for the kind). One broken resource fails alone:
// the others sync, and its blueprints are kept from stale deletion.
type compiled struct {
	*mapping.Mapper
	broken map[int]error
	// unlisted holds the resources whose kind the provider cannot list:
	// they fail in resyncs, and live events still map them.
	unlisted map[int]error
}

// resourceErr returns why resource i cannot run, or nil.
func (c *compiled) resourceErr(i int) error { return c.broken[i] }

// resyncErr returns why a resync cannot sync resource i, or nil.
func (c *compiled) resyncErr(i int) error {
	if err := c.broken[i]; err != nil {
		return err
	}
	return c.unlisted[i]
}

// compile compiles a port app config, reusing the last result when the
// config did not change (live events compile once per config, not per
// event). The error is non-nil only when nothing could be compiled; broken
// resources are in compiled.broken and are logged once per config.
func (a *App) compile(pac *mapping.Config) (*compiled, error) {
	key, _ := json.Marshal(pac)
	a.pacMu.Lock()
	if a.mapper != nil && string(key) == a.mapperKey {
		m := a.mapper
		a.pacMu.Unlock()
		return m, nil
	}
	a.pacMu.Unlock()
	opts := []mapping.Option{mapping.WithItemTimeout(a.cfg.Resync.ItemTimeout)}
	if a.cfg.AllowEnvironmentVariablesJQAccess {
		opts = append(opts, mapping.WithEnv(a.jqEnviron()))
	} else {
		opts = append(opts, mapping.WithEnvAccess(false))
	}
	// The resync maps pages on MapWorkers goroutines; each page is mapped
	// on the goroutine that took it, so that one knob owns the CPU (a
	// second fan-out inside Map made MapWorkers² goroutines).
	opts = append(opts, mapping.WithWorkers(1))
	for _, prefix := range slices.Sorted(maps.Keys(a.provider.Resolvers)) {
		opts = append(opts, mapping.WithResolver(prefix, a.provider.Resolvers[prefix]))
	}
	m, err := mapping.Compile(pac, opts...)
	if m == nil {
		return nil, err
	}
	c := &compiled{Mapper: m, broken: map[int]error{}, unlisted: map[int]error{}}
	for _, rm := range m.Resources() {
		if err := rm.Err(); err != nil {
			c.broken[rm.Index()] = &ResourceError{Kind: rm.Kind(), Index: rm.Index(), Err: err}
			continue
		}
		k := a.provider.kind(rm.Kind())
		if k == nil {
			// Resyncs cannot list it; live events may still map it.
			err := &ResourceError{Kind: rm.Kind(), Index: rm.Index(), Err: a.unknownKind(rm.Kind())}
			c.unlisted[rm.Index()] = err
			a.log.Warn("port app config: no resync lists this resource", "error", err)
			continue
		}
		if err := checkSelector(k, rm.Resource().Selector.Raw); err != nil {
			c.broken[rm.Index()] = &ResourceError{Kind: rm.Kind(), Index: rm.Index(), Err: fmt.Errorf(".selector: %w", err)}
		}
	}
	for _, i := range slices.Sorted(maps.Keys(c.broken)) {
		a.log.Error("port app config: resource cannot run; the other resources sync, and its blueprints are not cleaned of stale entities until it is fixed",
			"error", c.broken[i])
	}
	for _, w := range pac.Warnings {
		a.log.Warn("port app config: ignored", "problem", w)
	}
	a.pacMu.Lock()
	a.mapper, a.mapperKey = c, string(key)
	a.pacMu.Unlock()
	return c, nil
}

// ResourceError is a resource of the port app config that cannot run: a jq
// expression of it does not compile (Err wraps *mapping.CompileError), or
// its selector does not suit the kind. The resource fails in every resync
// until it is fixed; the other resources are not affected.
type ResourceError struct {
	Kind  string
	Index int
	Err   error
}

func (e *ResourceError) Error() string {
	msg := e.Err.Error()
	// mapping's errors already name the resource.
	if !strings.HasPrefix(msg, "resources[") {
		msg = fmt.Sprintf("resources[%d] (%s) %s", e.Index, e.Kind, msg)
	}
	return "port app config: " + msg
}

func (e *ResourceError) Unwrap() error { return e.Err }

type pacKey struct{}

func withPortAppConfig(ctx context.Context, pac *mapping.Config) context.Context {
	return context.WithValue(ctx, pacKey{}, pac)
}

// PortAppConfigFrom returns the port app config of the resync or live event
// a kind or processor runs for, so that it can read the provider's own
// top-level fields (gitlab-v2's `visibility`) with Config.DecodeExtra. It
// returns nil outside of one.
func PortAppConfigFrom(ctx context.Context) *mapping.Config {
	pac, _ := ctx.Value(pacKey{}).(*mapping.Config)
	return pac
}

// unknownKind says that the provider has no such kind, with the nearest
// name it has.
func (a *App) unknownKind(name string) error {
	var names []string
	for _, k := range a.provider.Kinds {
		names = append(names, k.Name())
	}
	msg := fmt.Sprintf("kind %q is not provided by %s", name, a.provider.Type)
	if best := suggest.Nearest(name, names, len(name)/2+1); best != "" {
		return fmt.Errorf("%s: did you mean %q?", msg, best)
	}
	return fmt.Errorf("%s (its kinds: %s)", msg, strings.Join(names, ", "))
}
