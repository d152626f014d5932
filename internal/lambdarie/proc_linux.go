package lambdarie

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// sysProcAttr has the kernel stop the emulator (SIGTERM: it kills the
// bootstrap, then exits) if the test binary dies without its cleanup.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}

// proc is a process as /proc names it: a pid and its start time, so that
// a pid reused since is not taken for it.
type proc struct {
	pid   int
	start string
}

// childProcesses are pid's children now (the bootstrap, once started).
func childProcesses(pid int) []proc {
	tasks, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "children"))
	var out []proc
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, field := range strings.Fields(string(b)) {
			if child, err := strconv.Atoi(field); err == nil {
				if start, ok := startTime(child); ok {
					out = append(out, proc{child, start})
				}
			}
		}
	}
	return out
}

// startTime is field 22 of /proc/pid/stat, and false if the process is
// gone or a zombie.
func startTime(pid int) (string, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", false
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", false
	}
	f := strings.Fields(s[i+1:]) // from field 3, the state
	if len(f) < 20 || f[0] == "Z" {
		return "", false
	}
	return f[19], true
}

// killLeft kills, with their process groups, the processes of ps still
// running, and returns their pids.
func killLeft(ps []proc) []int {
	var left []int
	for _, p := range ps {
		if start, ok := startTime(p.pid); ok && start == p.start {
			left = append(left, p.pid)
			_ = syscall.Kill(-p.pid, syscall.SIGKILL)
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
		}
	}
	return left
}
