package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/sfncallbackurls/sfn-callback-urls/internal/text"
)

// usageError is a command line that cannot be run: a flag that does not
// exist, a bad value, an argument too many. It exits with status 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, a ...any) error {
	return &usageError{fmt.Errorf(format, a...)}
}

// newFlagSet is a command's flag set: its usage is header then every
// flag, errors go to stderr.
func newFlagSet(name, header string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), header)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses a command's flags. Help (-h, -help, --help) prints
// the usage to stdout and returns flag.ErrHelp, which exits 0. A boolean
// flag followed by a separate true or false ("--confirm false") is taken
// as "--confirm=false": the flag package would read the value as the
// first argument and stop there.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	joined := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		arg := args[i]
		// The flag package stops at "--" and at the first argument that is
		// not a flag; so does this.
		if arg == "--" || !strings.HasPrefix(arg, "-") || arg == "-" {
			joined = append(joined, args[i:]...)
			break
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-"), "=")
		if (name == "h" || name == "help") && fs.Lookup(name) == nil {
			stderr := fs.Output()
			fs.SetOutput(stdout)
			fs.Usage()
			fs.SetOutput(stderr)
			return flag.ErrHelp
		}
		joined = append(joined, arg)
		f := fs.Lookup(name)
		if hasValue || f == nil || i+1 >= len(args) {
			continue
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			if v := strings.ToLower(args[i+1]); v == "true" || v == "false" {
				joined[len(joined)-1] = arg + "=" + v
				i++
			}
			continue
		}
		// A flag with a value: the next argument is that value, whatever
		// it looks like.
		joined = append(joined, args[i+1])
		i++
	}
	if err := fs.Parse(joined); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{didYouMean(fs, err)}
	}
	return nil
}

// didYouMean adds the flag an unknown one most likely meant to its error.
func didYouMean(fs *flag.FlagSet, err error) error {
	name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: ")
	if !ok {
		return err
	}
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	if near := text.Nearest(strings.TrimLeft(name, "-"), names); near != "" {
		return fmt.Errorf("%w (did you mean --%s?)", err, near)
	}
	return err
}
