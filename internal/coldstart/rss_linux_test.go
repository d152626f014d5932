package coldstart

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// vmHWM is a running process's peak resident set in bytes (VmHWM of
// /proc/pid/status). It stands in for the exited child's rusage because
// Linux carries the parent's peak into the child's ru_maxrss at exec (the
// child runs in the parent's memory until then): under a 200 MiB test
// binary, a 6 MiB bootstrap's ru_maxrss reads 212 MiB.
func vmHWM(pid int) (int64, bool) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kib << 10, err == nil
		}
	}
	return 0, false
}
