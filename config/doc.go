// Package config reads Tally's configuration from environment variables.
//
// It has one job: turn the environment into a validated *Config once, at
// start-up, so the rest of the program never calls os.Getenv and never has
// to guess at defaults. Load takes the lookup function as a parameter (os.Getenv
// in production, a map in tests) so tests need no process-wide state.
//
// Every problem is reported at once, joined with errors.Join and each naming
// the variable, because fixing a deployment one error per restart is slow.
//
// A Config prints itself (String, LogValue, GoString) with secrets replaced
// by "****", including passwords inside connection URLs, so the effective
// settings can be logged at start-up without leaking credentials.
package config
