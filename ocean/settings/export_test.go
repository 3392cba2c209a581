package settings

// Hooks for the package's external tests (package settings_test).

// ParseDotenv parses a .env file as Load does.
var ParseDotenv = parseDotenv
