// Command bench is oceankit's end-to-end performance benchmark: a full
// resync of a seeded in-memory GitLab (gitlab/gitlabtest) into an in-memory
// Port (port/porttest) over loopback, with the GitLab provider's default
// mapping, at several sizes, with and without realistic latency and rate
// limits. It prints one markdown report: wall time, throughput, CPU time,
// peak heap and RSS, GitLab and Port requests each next to its floor, the
// stage floors the machine allows (fetch only, map only, write only), a
// second resync with nothing changed, a sequential baseline (the Python
// framework's strategy) and PASS/MISS against the project's targets.
//
//	go run ./bench                                # 1k, 10k, 100k; latency off and on
//	go run ./bench -sizes 1k -latency off         # quick
//	go run ./bench -cpuprofile cpu.out -memprofile mem.out -out report.md
//
// # Processes
//
// The two fakes run in a child process (this binary, re-executed), so that
// the figures of the process doing the sync — CPU time, peak heap, peak RSS —
// are the sync's own: at 100k entities the fake GitLab's dataset alone holds
// more memory than the whole sync is allowed. The fakes' CPU time and RSS are
// reported beside, and they share the same cores. The child exits when the
// parent does (it watches its stdin).
//
// The benchmark prints figures; it asserts nothing about time. bench_test.go
// runs the harness at a tiny size so that CI keeps it working.
package main
