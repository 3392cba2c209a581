package main

import (
	"fmt"
	"os"
	"testing"
)

// TestMain serves the fakes when the harness re-executes the test binary
// as its fakes' process.
func TestMain(m *testing.M) {
	if os.Getenv(fakesEnv) == "1" {
		if err := serveFakes(); err != nil {
			fmt.Fprintln(os.Stderr, "bench fakes:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
