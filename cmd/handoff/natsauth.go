package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/handoffmed/handoff/platform/config"
	"github.com/handoffmed/handoff/platform/natsauth"
)

// runNATSAuth makes the keys of every NATS identity in a directory (once;
// existing keys are kept) and prints the authorization block a nats-server
// configuration includes to lock Handoff's subjects down: each service may
// publish and consume only its own. The directory is then given to every
// Handoff process as HANDOFF_NATS_KEYS (each reads only its own role's key);
// the S3 server's NATS URL takes the s3 user's password (printed with
// --s3-url).
func runNATSAuth(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("nats-auth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var dir, subject, s3URL string
	s := config.NewSet(fs, os.LookupEnv)
	config.Add(s, &dir, config.NATSKeys)
	config.Add(s, &subject, config.BucketSubject)
	fs.StringVar(&s3URL, "s3-url", "", "print this NATS URL with the S3 sender's user and password in it (for MinIO's or versitygw's NATS settings) instead")
	if err := s.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if dir == "" {
		return usageError{"nats-auth: --nats-keys DIR (or HANDOFF_NATS_KEYS) names where the keys go"}
	}
	keys := natsauth.Keys{Dir: dir}
	if err := keys.Generate(); err != nil {
		return err
	}
	if s3URL != "" {
		u, err := keys.S3URL(s3URL)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, u)
		return nil
	}
	conf, err := keys.ServerConfig(natsauth.Options{BucketSubject: subject})
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, conf)
	return err
}
