// Command handoff runs the Handoff pipeline and its tools.
//
//	handoff serve                      the whole pipeline in one process (embedded NATS and S3 by default)
//	handoff dicom index [--json] PATH… index DICOM files from their headers
//	handoff dicom fileset DIR OUT      write a viewer-ready DICOM file-set
//	handoff ocr IN OUT.pdf             make a scanned PDF or photo searchable
//	handoff report CASE_ID             print a case's checklist report
//	handoff check DIR                  run the pipeline on a folder and print its report
//	handoff bundle CASE_ID             ask for a case's bundle and print its link
//	handoff cases, case create, upload, wait, fetch, token   the front door's CLI
//	handoff health [URL]               exit 0 when a running process is ready (container health checks)
//	handoff nats-auth --nats-keys DIR  make the services' NATS keys and print an external NATS's authorization
//	handoff dlq list|show|replay|drop  the dead letters of a running pipeline
//	handoff --version                  print the version
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

	"github.com/handoffmed/handoff/platform/app"
	"github.com/handoffmed/handoff/platform/config"
	"github.com/handoffmed/handoff/services/ocr"
)

const usage = `usage: handoff <command> [args] [flags]

commands of a running pipeline (the API of handoff serve: HANDOFF_API, HANDOFF_API_TOKEN):
  cases                       list the cases and their status
  case create                 create a case from flags or a JSON file; prints its ID
  upload CASE_ID PATH…        upload files and folders (large files resumable, in parts)
  wait CASE_ID                follow a case live until it is processed; print its checklist
  report CASE_ID              print a case's checklist report
  bundle CASE_ID              ask for a case's bundle and print its download link
  fetch CASE_ID [DIR]         download the bundle and verify its checksums
  token create|list|revoke    coordinator credentials (administrator)
  audit CASE_ID               the case's audit trail: who did what, when

commands on their own:
  serve                       run the whole pipeline in one process
  dicom index [--json] PATH…  index DICOM files from their headers
  dicom fileset DIR OUT       write a viewer-ready DICOM file-set (DICOMDIR + DICOM/)
  ocr IN OUT.pdf              make a scanned PDF or a photo searchable
  check DIR                   run the whole pipeline on a folder and print its report
  health [URL]                exit 0 when a running handoff is ready (default: /readyz on HANDOFF_HTTP)
  nats-auth --nats-keys DIR   make each service's NATS key in DIR and print the authorization
                              block of an external nats-server configuration
  dlq list|show|replay|drop   the dead letters of a running pipeline: list, show, replay or drop them

Flags may follow the arguments. --version prints the version.
Exit status: 0 done, 1 failed (or, for wait and report --fail-on-error, the checklist
has error-level findings), 2 the command line is wrong.
Run 'handoff <command> -h' for a command's flags.
`

func main() {
	// Tesseract's OpenMP reads OMP_THREAD_LIMIT only from the environment the
	// process started with: pages run in parallel, one thread each.
	if err := ocr.EnsureSingleThreaded(); err != nil {
		fmt.Fprintln(os.Stderr, "handoff:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "handoff:", err)
		}
		os.Exit(exitCode(err))
	}
}

// usageError is a command line that does not parse.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var ue usageError
	if errors.As(err, &ue) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if wantsVersion(args) {
		printVersion(stdout)
		return nil
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command"}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "dicom":
		return runDICOM(ctx, rest, stdout, stderr)
	case "ocr":
		return runOCR(ctx, rest, stdout, stderr)
	case "report":
		return runReport(ctx, rest, stdout, stderr)
	case "check":
		return runCheck(ctx, rest, stdout, stderr)
	case "bundle":
		return runBundle(ctx, rest, stdout, stderr)
	case "upload":
		return runUpload(ctx, rest, stdout, stderr)
	case "wait":
		return runWait(ctx, rest, stdout, stderr)
	case "fetch":
		return runFetch(ctx, rest, stdout, stderr)
	case "audit":
		return runAudit(ctx, rest, stdout, stderr)
	case "cases":
		return runCases(ctx, rest, stdout, stderr)
	case "case":
		return runCase(ctx, rest, stdout, stderr)
	case "token":
		return runToken(ctx, rest, stdout, stderr)
	case "health":
		return runHealth(ctx, rest, stderr)
	case "nats-auth":
		return runNATSAuth(rest, stdout, stderr)
	case "dlq":
		return runDLQ(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
}

// runHealth asks a running process's /readyz: the health check of a
// container image without curl. The URL defaults to HANDOFF_HTTP's.
func runHealth(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var addr string
	s := config.NewSet(fs, os.LookupEnv)
	config.Add(s, &addr, config.HTTP)
	if err := s.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	url := app.ReadyURL(addr)
	switch fs.NArg() {
	case 0:
	case 1:
		url = fs.Arg(0)
	default:
		return usageError{"usage: handoff health [URL]"}
	}
	return app.Healthcheck(ctx, url)
}
