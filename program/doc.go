// Package program is the command line around an ocean.App: what a sync
// binary needs besides its provider, so that its main is one call.
//
//	func main() {
//		program.Main(program.Spec{Name: "tracker-sync", Type: "tracker", Provider: newProvider, Settings: &trackerConfig{}})
//	}
//
// The program it runs reads Ocean's settings (OCEAN__… and APPLICATION__…
// variables, ./.env and ./config.yaml, as Port's Python images do) and
// offers:
//
//   - --once (one resync, then exit), --dry-run (fetch and map, write the
//     entities as JSON lines, change nothing), --plan (what a resync would
//     create, change and delete in Port), --config FILE (the mapping from a
//     file instead of from Port), --help (flags, examples and every
//     setting, the provider's included);
//   - logs at APPLICATION__LOG_LEVEL in APPLICATION__LOG_FORMAT (text or
//     json), every line of stdout and stderr stripped of the secrets the
//     settings hold;
//   - SIGINT and SIGTERM stop it gracefully;
//   - exit codes: 0 success, 1 a failed run (a resync that did not
//     complete, a server that stopped on an error, a failed probe check),
//     2 bad usage or settings;
//   - the probe command Port's Helm chart runs (`NAME probe`, or installed
//     as `ocean`: `ocean probe [PATH] [--mode shallow] [--kinds a,b]` and
//     `ocean sail`);
//   - the KAFKA listener (ocean/kafka) and the Redis live-event queue
//     (ocean/redisqueue), from their settings.
//
// Run is the same program for tests: arguments, environment and output are
// parameters, and it returns the exit code.
package program
