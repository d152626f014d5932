package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sfncallbackurls/sfn-callback-urls/pkg/keyring"
)

const keygenUsage = `Usage: sfn-callback-urls keygen [--file PATH] [--add] [--keep N]

Makes a static keyring: 256-bit keys with short ids, the newest encrypting
and all decrypting. The keyring JSON goes to stdout, or to --file (mode 0600).

  keygen                         print a new keyring with one key
  keygen --file PATH             create PATH with a new keyring (never overwrites)
  keygen --add --file PATH       rotate: add a new newest key to PATH
  keygen --add < old > new       rotate a keyring read on stdin (for KEYRING,
                                 a Secrets Manager secret or an SSM parameter)

Retire a key (with --keep) only once every URL it encrypted has expired or
been used: URLs of a removed key stop working.

Flags:
`

func keygen(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	flags := newFlagSet("keygen", keygenUsage, stderr)
	file := flags.String("file", "", "keyring file to create (mode 0600; missing directories are made, mode 0700), or with --add to rotate")
	add := flags.Bool("add", false, "add a new key to an existing keyring (--file, else stdin)")
	keep := flags.Int("keep", 0, "with --add: keep only the newest N keys (0 keeps all)")
	if err := parseFlags(flags, args, stdout); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return usageErrorf("keygen: unexpected argument %q", flags.Arg(0))
	}
	if *keep < 0 || (*keep > 0 && !*add) {
		return usageErrorf("keygen: --keep needs --add and a positive number")
	}

	var r *keyring.Keyring
	if *add {
		if *file == "" && isTerminal(stdin) {
			// Otherwise it looks like a hang.
			fmt.Fprintln(stderr, "keygen --add: reading the keyring to rotate from stdin (paste it, then Ctrl-D); use --file PATH to rotate a file")
		}
		var err error
		if r, err = readKeyring(*file, stdin); err != nil {
			return err
		}
	} else if *file != "" {
		if _, err := os.Stat(*file); err == nil {
			return fmt.Errorf("keygen: %s exists: use --add to add a key to it", *file)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	k, err := keyring.GenerateKey(r)
	if err != nil {
		return err
	}
	keys := []keyring.Key{k}
	if r != nil {
		keys = append(r.Keys(), k)
	}
	if *keep > 0 && len(keys) > *keep {
		dropped := keys[:len(keys)-*keep]
		ids := make([]string, len(dropped))
		for i, d := range dropped {
			ids[i] = d.ID
		}
		fmt.Fprintf(stderr, "dropped %d key(s): %s (URLs they encrypted stop working)\n", len(ids), strings.Join(ids, ", "))
		keys = keys[len(keys)-*keep:]
	}
	if r, err = keyring.New(keys...); err != nil {
		return fmt.Errorf("keygen: %w", err)
	}

	// Only ids go to stderr; the key material goes where it was asked for.
	if *file != "" {
		made, err := makeParents(*file)
		if err != nil {
			return fmt.Errorf("keygen: %w", err)
		}
		if made != "" {
			fmt.Fprintf(stderr, "made directory %s (mode 0700)\n", made)
		}
		if err := r.Save(*file); err != nil {
			return fmt.Errorf("keygen: %w", err)
		}
		fmt.Fprintf(stderr, "new key %s encrypts from now on; %d key(s) decrypt; written to %s (mode 0600)\n", k.ID, len(keys), *file)
		return nil
	}
	fmt.Fprintf(stderr, "new key %s encrypts from now on; %d key(s) decrypt\n", k.ID, len(keys))
	warnReadableOutput(stdout, stderr)
	data, err := r.Marshal()
	if err != nil {
		return err
	}
	_, err = stdout.Write(append(data, '\n'))
	return err
}

// makeParents makes the missing directories above file (mode 0700) and
// returns the topmost one it made, "" if none: keygen says so, so that a
// mistyped path does not go unnoticed.
func makeParents(file string) (string, error) {
	dir := filepath.Dir(file)
	top := ""
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		top = d
		if filepath.Dir(d) == d {
			break
		}
	}
	if top == "" {
		return "", nil
	}
	return top, os.MkdirAll(dir, 0o700)
}

// warnReadableOutput warns when the keyring goes to a file that other
// users can read ("keygen > keyring.json" under the usual umask): serve
// refuses such a key file.
func warnReadableOutput(stdout, stderr io.Writer) {
	f, ok := stdout.(*os.File)
	if !ok {
		return
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() || info.Mode().Perm()&0o077 == 0 {
		return
	}
	fmt.Fprintf(stderr, "warning: the keyring goes to a file other users can read (mode %v), which serve refuses: "+
		"chmod 600 it, or use keygen --file PATH\n", info.Mode().Perm())
}

func readKeyring(file string, stdin io.Reader) (*keyring.Keyring, error) {
	if file != "" {
		return keyring.Load(file)
	}
	data, err := io.ReadAll(io.LimitReader(stdin, 1<<20))
	if err != nil {
		return nil, err
	}
	r, err := keyring.ParseSecret(data)
	if err != nil {
		return nil, fmt.Errorf("keygen: stdin: %w", err)
	}
	return r, nil
}

// isTerminal reports whether r is a terminal (a character device).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
