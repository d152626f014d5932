// Package loadtest drives the local server (the CLI's serve with the
// local task store, the composition a developer runs) over loopback with
// many concurrent clients doing full flows: create a task, create its
// URLs, approve. BenchmarkLoad reports flows per second and callback
// latency percentiles per concurrency, for the server built from this
// tree and, when LOAD_BEFORE names a commit, for one built from that
// commit, measured in the same run on the same machine (make bench-load).
//
// Everything lives in the test files: the package has no API.
package loadtest
