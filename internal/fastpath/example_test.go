package fastpath_test

import (
	"fmt"
	"os"

	"github.com/electionledger/ledger/internal/fastpath"
)

// A constructor asks once, when it builds what would use a fast path.
func Example() {
	os.Setenv(fastpath.EnvVar, "off")
	defer os.Unsetenv(fastpath.EnvVar)
	fmt.Println("fast paths off:", fastpath.Off())
	// Output: fast paths off: true
}
