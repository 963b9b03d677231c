// Command benchreport turns the output of the scenario benchmarks into the
// markdown report bench/REPORT.md (make bench runs it):
//
//	go test -run '^$' -bench . -benchtime 1x ./bench | benchreport [--out bench/REPORT.md]
//	benchreport --out bench/REPORT.md < saved-output.txt
//
// Stdin is copied to stdout as it arrives, so a long run shows its progress;
// the report follows. A failed or interrupted run leaves the report alone.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/scf-dbbrain/addusercontact/internal/atomicfile"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

// run is the whole command; main only wires the process to it.
func run(ctx context.Context, args []string, _ func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("benchreport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "bench/REPORT.md", "the report `file` to write")
	if err := fs.Parse(args[1:]); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	} else if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	res, err := parse(io.TeeReader(stdin, stdout))
	if err != nil || ctx.Err() != nil { // an interrupted run leaves the last report
		return errors.Join(err, ctx.Err())
	}
	text, err := res.render()
	if err == nil {
		// Replaced atomically: a failed write leaves the last report too.
		err = atomicfile.Write(*out, 0o644, func(w io.Writer) error {
			_, err := w.Write(text)
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "\n%s", text)
	return err
}
