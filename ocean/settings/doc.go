// Package settings is Ocean's configuration contract: every setting a user
// of Port's Python framework sets (OCEAN__…, APPLICATION__…, a .env file,
// config.yaml), read with Ocean's names, nesting, defaults and validation,
// and the secrets among them.
//
// Load builds a [Config] from the environment and files; [Default] builds
// one for tests and examples; [DecodeIntegrationConfig] reads a provider's
// own OCEAN__INTEGRATION__CONFIG__… settings into its struct, with
// [Secret] for the values that must never be shown. The ocean package runs
// an integration from a Config (ocean.New).
//
// Secrets are kept out of everything a user or a mapping can read:
// [Config.Secrets] lists them, [RedactLogger] and [RedactingWriter] hide
// them in logs and output, and [Config.JQEnviron] is the environment jq's
// env may see.
package settings
