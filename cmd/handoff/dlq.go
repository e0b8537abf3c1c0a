package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/handoffmed/handoff/platform/app"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/config"
	"github.com/handoffmed/handoff/platform/natsauth"
	"github.com/handoffmed/handoff/platform/obs"
)

const dlqUsage = `usage: handoff dlq <command> [flags] [SEQ…]

Messages that failed for good wait in the DEADLETTER stream with their error.

  list [--consumer C] [--json]       every dead letter: its sequence, time, consumer, subject, case, deliveries, error
  show SEQ [--json]                  one dead letter with the original message's headers and payload
  replay SEQ… | --all [--consumer C] publish the original message again, then delete the dead letter
  drop SEQ…                          delete dead letters

NATS: --nats-url / HANDOFF_NATS_URL with --nats-creds / HANDOFF_NATS_CREDS or the
administrator's key in --nats-keys / HANDOFF_NATS_KEYS (and --nats-ca), else the
address "handoff serve --data DIR" wrote to DIR/endpoints.json (--data, HANDOFF_DATA).
`

// dlqFlags are the flags of every dlq command.
type dlqFlags struct {
	natsURL, creds, data string
	natsKeys, natsCA     string
	consumer             string
	json, all            bool
}

// runDLQ lists, shows, replays and drops dead letters of a running pipeline.
func runDLQ(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, dlqUsage)
		if len(args) == 0 {
			return usageError{"dlq: no command"}
		}
		return flag.ErrHelp
	}
	cmd := args[0]
	if !slices.Contains([]string{"list", "show", "replay", "drop"}, cmd) {
		fmt.Fprint(stderr, dlqUsage)
		return usageError{fmt.Sprintf("dlq: unknown command %q", cmd)}
	}
	fs := flag.NewFlagSet("dlq "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f dlqFlags
	s := config.NewSet(fs, os.LookupEnv)
	config.Add(s, &f.natsURL, config.NATSURL)
	config.Add(s, &f.creds, config.NATSCreds)
	config.Add(s, &f.natsKeys, config.NATSKeys)
	config.Add(s, &f.natsCA, config.NATSCA)
	config.Add(s, &f.data, config.Data)
	switch cmd {
	case "list":
		fs.StringVar(&f.consumer, "consumer", "", "only this consumer's dead letters")
		fs.BoolVar(&f.json, "json", false, "print JSON")
	case "show":
		fs.BoolVar(&f.json, "json", false, "print JSON")
	case "replay":
		fs.StringVar(&f.consumer, "consumer", "", "with --all: only this consumer's dead letters")
		fs.BoolVar(&f.all, "all", false, "replay every dead letter (of --consumer)")
	}
	// Flags may follow the sequence numbers: parse again after each.
	var positional []string
	for rest := args[1:]; ; {
		if err := s.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return usageError{err.Error()}
		}
		if rest = fs.Args(); len(rest) == 0 {
			break
		}
		positional, rest = append(positional, rest[0]), rest[1:]
	}
	seqs, err := parseSeqs(positional)
	if err != nil {
		return err
	}
	switch {
	case cmd == "list" && len(seqs) > 0:
		return usageError{"usage: handoff dlq list [--consumer C] [--json]"}
	case cmd == "show" && len(seqs) != 1:
		return usageError{"usage: handoff dlq show SEQ [--json]"}
	case cmd == "replay" && (len(seqs) == 0) == !f.all:
		return usageError{"usage: handoff dlq replay SEQ… | --all [--consumer C]"}
	case cmd == "drop" && len(seqs) == 0:
		return usageError{"usage: handoff dlq drop SEQ…"}
	}
	b, closeBus, err := f.connect(ctx, stderr)
	if err != nil {
		return err
	}
	defer closeBus()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	switch cmd {
	case "list":
		list, err := b.DeadLetters(ctx, f.consumer)
		if err != nil {
			return err
		}
		if f.json {
			return writeJSON(stdout, nonNilEntries(list))
		}
		printDeadLetters(stdout, list)
		return nil
	case "show":
		e, err := b.DeadLetter(ctx, seqs[0])
		if err != nil {
			return err
		}
		if f.json {
			return writeJSON(stdout, e)
		}
		printDeadLetter(stdout, e)
		return nil
	case "replay":
		if f.all {
			list, err := b.DeadLetters(ctx, f.consumer)
			if err != nil {
				return err
			}
			for _, e := range list {
				seqs = append(seqs, e.Seq)
			}
		}
		var errs []error
		for _, seq := range seqs {
			stream, stored, err := b.Replay(ctx, seq)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			fmt.Fprintf(stdout, "replayed %d: stored in %s at %d\n", seq, stream, stored)
		}
		return errors.Join(errs...)
	default: // drop
		var errs []error
		for _, seq := range seqs {
			if err := b.DropDeadLetter(ctx, seq); err != nil {
				errs = append(errs, err)
				continue
			}
			fmt.Fprintf(stdout, "dropped %d\n", seq)
		}
		return errors.Join(errs...)
	}
}

func parseSeqs(args []string) ([]uint64, error) {
	out := make([]uint64, 0, len(args))
	for _, a := range args {
		n, err := strconv.ParseUint(a, 10, 64)
		if err != nil || n == 0 {
			return nil, usageError{fmt.Sprintf("dlq: %q is not a dead letter's sequence number (see handoff dlq list)", a)}
		}
		out = append(out, n)
	}
	return out, nil
}

// connect reaches the pipeline's NATS: the URL given, else the one in the
// data directory's endpoints.json.
func (f dlqFlags) connect(ctx context.Context, stderr io.Writer) (*bus.Bus, func(), error) {
	url, keys, ca := f.natsURL, f.natsKeys, f.natsCA
	if url == "" {
		// A local handoff serve: its address, the administrator's key
		// and the CA of its TLS.
		raw, err := os.ReadFile(filepath.Join(f.data, "endpoints.json"))
		if err != nil {
			return nil, nil, fmt.Errorf("no NATS URL: set --nats-url or HANDOFF_NATS_URL, or --data to the directory of a running handoff serve (%w)", err)
		}
		var ep Endpoints
		if err := json.Unmarshal(raw, &ep); err != nil || ep.NATS == "" {
			return nil, nil, fmt.Errorf("%s: no NATS address in it", filepath.Join(f.data, "endpoints.json"))
		}
		url, keys, ca = ep.NATS, cmp.Or(keys, ep.NATSKeys), cmp.Or(ca, ep.CA)
	}
	o, err := app.NATSAccess{URL: url, Creds: f.creds, Keys: keys, CA: ca}.ConnectOptions("handoff-dlq", natsauth.Admin)
	if err != nil {
		return nil, nil, err
	}
	log := obs.NewLogger(stderr, "text", "warn")
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	nc, err := bus.Connect(cctx, o, log)
	if err != nil {
		return nil, nil, err
	}
	b, err := bus.New(nc, "/handoff/dlq", log, bus.Options{})
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return b, nc.Close, nil
}

func nonNilEntries(l []bus.DeadLetterEntry) []bus.DeadLetterEntry {
	if l == nil {
		return []bus.DeadLetterEntry{}
	}
	return l
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printDeadLetters(w io.Writer, list []bus.DeadLetterEntry) {
	if len(list) == 0 {
		fmt.Fprintln(w, "no dead letters")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tDEAD-LETTERED\tCONSUMER\tSUBJECT\tCASE\tDELIVERIES\tERROR")
	for _, e := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\n", e.Seq, e.Time.UTC().Format(time.RFC3339), e.Consumer, e.OrigSubject,
			orDash(e.CaseID), e.Deliveries, oneLine(e.Error))
	}
	_ = tw.Flush()
}

func printDeadLetter(w io.Writer, e bus.DeadLetterEntry) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "seq\t%d\n", e.Seq)
	fmt.Fprintf(tw, "dead-lettered\t%s\n", e.Time.UTC().Format(time.RFC3339Nano))
	fmt.Fprintf(tw, "consumer\t%s\n", e.Consumer)
	fmt.Fprintf(tw, "subject\t%s\n", e.OrigSubject)
	fmt.Fprintf(tw, "stream\t%s (sequence %d)\n", e.Stream, e.StreamSeq)
	fmt.Fprintf(tw, "case\t%s\n", orDash(e.CaseID))
	fmt.Fprintf(tw, "deliveries\t%d\n", e.Deliveries)
	fmt.Fprintf(tw, "error\t%s\n", oneLine(e.Error))
	fmt.Fprintf(tw, "replay ID\t%s\n", bus.ReplayID(e))
	_ = tw.Flush()
	if len(e.Headers) > 0 {
		fmt.Fprintln(w, "headers:")
		keys := make([]string, 0, len(e.Headers))
		for k := range e.Headers {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %s: %s\n", k, e.Headers[k])
		}
	}
	fmt.Fprintf(w, "payload (%d bytes):\n", len(e.Data))
	var pretty bytes.Buffer
	switch {
	case json.Indent(&pretty, e.Data, "  ", "  ") == nil:
		fmt.Fprintf(w, "  %s\n", pretty.Bytes())
	case utf8.Valid(e.Data):
		fmt.Fprintf(w, "  %s\n", e.Data)
	default:
		fmt.Fprintln(w, "  (binary; --json shows it in base64)")
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
