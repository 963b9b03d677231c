// Command scf-package zips a built function for SCF's Go1 runtime: the binary
// becomes "main" at the root of the zip, mode 0755.
//
//	scf-package [--bin dist/main | --bin -] [--out dist/function.zip]
//
// archive/zip rather than a zip command: the build needs only Go and make,
// and the executable bit survives (SCF runs the handler file as is; zips made
// by some tools drop the mode). The entry's time is fixed, SOURCE_DATE_EPOCH
// when set, so that the same binary gives the same package and code hash.
package main

import (
	"archive/zip"
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/atomicfile"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "scf-package:", err)
		os.Exit(1)
	}
}

// run is the whole command; main only wires the process to it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("scf-package", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bin", "dist/main", "the built function `binary`, or - for stdin")
	out := fs.String("out", "dist/function.zip", "the package `file` to write")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	} else if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	epoch := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	if s := getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH: %w", err)
		}
		epoch = time.Unix(sec, 0).UTC()
	}
	src := stdin
	if *bin != "-" {
		f, err := os.Open(*bin)
		if err != nil {
			return fmt.Errorf("the function binary (run make build first): %w", err)
		}
		defer f.Close()
		src = f
	}
	// Replaced atomically, so that a half-written or interrupted zip is
	// never left where a deploy would pick it up. Mode 0644 like any other
	// build output: the package holds no secrets.
	err := atomicfile.Write(*out, 0o644, func(w io.Writer) error {
		zw := zip.NewWriter(w)
		h := &zip.FileHeader{Name: "main", Method: zip.Deflate, Modified: epoch}
		h.SetMode(0o755)
		fw, err := zw.CreateHeader(h)
		if err == nil {
			_, err = io.Copy(fw, src)
		}
		if err == nil {
			err = zw.Close()
		}
		return cmp.Or(err, ctx.Err())
	})
	if err != nil {
		return fmt.Errorf("writing the package: %w", err)
	}
	st, err := os.Stat(*out)
	if err != nil {
		return fmt.Errorf("the written package: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "%s: %d bytes, main at the root (mode 0755)\n", *out, st.Size())
	return err
}
