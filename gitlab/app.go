package gitlab

import (
	"fmt"
	"log/slog"

	"github.com/oceankit/oceankit/ocean"
	"github.com/oceankit/oceankit/ocean/settings"
)

// NewApp wires the GitLab provider into the framework the way the
// gitlab-sync program runs it: the provider's settings are decoded from
// cfg (OCEAN__INTEGRATION__CONFIG__…), the provider is built, and an
// ocean.App runs it. opts are passed to ocean.New.
func NewApp(cfg *settings.Config, logger *slog.Logger, opts ...ocean.Option) (*ocean.App, *Integration, error) {
	if logger == nil {
		logger = slog.Default()
	}
	logger = settings.RedactLogger(logger, cfg)
	gcfg, err := LoadConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	if gcfg.TLS != nil && gcfg.TLS.InsecureSkipVerify {
		logger.Warn("TLS certificate verification is off for GitLab (OCEAN__SSL__THIRD_PARTY__VERIFY=false): not for production")
	}
	integ, err := New(gcfg, WithLogger(logger))
	if err != nil {
		return nil, nil, fmt.Errorf("gitlab: %w", err)
	}
	app, err := ocean.New(cfg, integ.Provider(), append([]ocean.Option{ocean.WithLogger(logger)}, opts...)...)
	if err != nil {
		return nil, nil, err
	}
	// The provider logs through the App's logger, which redacts and also
	// ships the lines to Port's integration page; it could not exist
	// before the provider did. Nothing has run yet.
	integ.log = app.Logger()
	integ.client.log = app.Logger()
	// The kill switch of field projection also takes its decoder out of
	// the way: pages are decoded as they were before it.
	integ.client.wholeJSON = cfg.Resync.DecodeAllFields
	return app, integ, nil
}
