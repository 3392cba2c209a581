package ocean

// Hooks for the package's external tests (package ocean_test).

// ParseDotenv parses a .env file as Load does.
var ParseDotenv = parseDotenv
