//go:build !linux

package lambdarie

import "syscall"

// The emulator runs on Linux only (Binary skips elsewhere); these keep the
// package building for go vet.

func sysProcAttr() *syscall.SysProcAttr { return nil }

type proc struct{}

func childProcesses(int) []proc { return nil }

func killLeft([]proc) []int { return nil }
