package fastpath

import "os"

// EnvVar is the environment variable that switches the fast paths off.
const EnvVar = "ELECTIONLEDGER_FAST_PATHS"

// Off reports whether EnvVar is "off": then constructors leave their fast
// paths out, as if each had been turned off in code.
func Off() bool { return os.Getenv(EnvVar) == "off" }
