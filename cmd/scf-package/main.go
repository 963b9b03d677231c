// Command scf-package zips a built function for SCF: the binary becomes
// "main" at the root of the zip, executable.
//
//	scf-package --bin dist/main --out dist/function.zip
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/scf-dbbrain/addusercontact/internal/bundle"
)

func main() {
	if err := run(context.Background(), os.Args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "scf-package:", err)
		os.Exit(1)
	}
}

func run(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("scf-package", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bin", "dist/main", "the built function binary")
	out := fs.String("out", "dist/function.zip", "the package to write")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := bundle.WriteFile(*out, []bundle.File{{Path: *bin, Name: "main", Executable: true}}); err != nil {
		return err
	}
	st, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d bytes, main at the root (mode 0755)\n", *out, st.Size())
	return nil
}
