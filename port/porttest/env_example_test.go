package porttest_test

import (
	"fmt"
	"strings"

	"github.com/oceankit/oceankit/port/porttest"
)

// Env points a program at the fake: ocean.Load reads it, and so does
// program.Run.
func ExampleServer_Env() {
	pt := porttest.New()
	defer pt.Close()
	env := pt.Env()
	fmt.Println(len(env), strings.HasPrefix(env[0], "OCEAN__PORT__BASE_URL=http://"))
	// Output: 3 true
}
