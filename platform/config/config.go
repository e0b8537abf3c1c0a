// Package config reads the settings of Handoff's binaries (`handoff serve`,
// intake, dicom, ocr, packager) from one scheme: each setting is defined
// once in this package (settings.go) with its flag, its HANDOFF_*
// environment variable, its default and its help, and every binary reads the
// same variable for the same setting.
//
// A flag given on the command line wins over the environment, which wins
// over the default. A value that does not parse — a bad duration, a word
// where a number goes, "yes" for a boolean, a log format that does not
// exist — is an error naming the variable or the flag, never a silent
// default.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Value is the type a setting can have.
type Value interface {
	string | int | int64 | float64 | bool | time.Duration
}

// Var is one setting.
type Var[T Value] struct {
	// Flag is the flag's name; empty for a setting read only from the
	// environment (secrets).
	Flag string
	// Env is the environment variable, HANDOFF_<NAME>.
	Env     string
	Default T
	Help    string
	// Secret settings are read only from the environment and never shown.
	Secret bool
	// Choices, when set, are the values a string setting may take.
	Choices []string
}

// As returns the setting under another flag name: a service's own binary
// calls HANDOFF_OCR_WORKERS --workers where `handoff serve` has
// --ocr-workers. The variable stays the same.
func (v Var[T]) As(flag string) Var[T] {
	v.Flag = flag
	return v
}

// WithDefault returns the setting with another default (the binaries log
// JSON where `handoff serve` logs text).
func (v Var[T]) WithDefault(d T) Var[T] {
	v.Default = d
	return v
}

// Set is the settings one binary reads: its flags and their variables.
type Set struct {
	fs     *flag.FlagSet
	lookup func(string) (string, bool)
	vars   []*binding
}

type binding struct {
	flag, env, help string
	typ             string // in the usage text: string, int, duration, ...
	def             string
	secret          bool
	set             func(string) error
	get             func() string
}

// NewSet reads settings into fs's flags and from the environment through
// lookupEnv (os.LookupEnv in main, a map in tests). Its usage text lists
// the variables read only from the environment too.
func NewSet(fs *flag.FlagSet, lookupEnv func(string) (string, bool)) *Set {
	s := &Set{fs: fs, lookup: lookupEnv}
	fs.Usage = func() { s.usage(fs.Output()) }
	return s
}

// Add reads the setting v into p: p holds v's default until the command
// line or the environment says otherwise.
func Add[T Value](s *Set, p *T, v Var[T]) {
	*p = v.Default
	b := &binding{flag: v.Flag, env: v.Env, help: v.Help, typ: typeName(p), def: format(v.Default),
		secret: v.Secret || v.Flag == "", set: parser(p, v.Choices), get: func() string { return format(*p) }}
	s.vars = append(s.vars, b)
	if v.Flag == "" {
		return
	}
	if len(v.Choices) > 0 {
		b.help += ": " + strings.Join(v.Choices, ", ")
	}
	s.fs.Var(&flagValue{b: b, isBool: isBool(p)}, v.Flag, b.help+" (env "+v.Env+")")
}

// usage prints every flag with its type, variable and default, then the
// variables read only from the environment.
func (s *Set) usage(out io.Writer) {
	fmt.Fprintf(out, "Usage of %s:\n", s.fs.Name())
	s.fs.VisitAll(func(f *flag.Flag) {
		fv, ok := f.Value.(*flagValue)
		if !ok {
			fmt.Fprintf(out, "  --%s\n    \t%s\n", f.Name, f.Usage)
			return
		}
		b := fv.b
		typ := " " + b.typ
		if fv.isBool {
			typ = ""
		}
		fmt.Fprintf(out, "  --%s%s\n    \t%s (env %s)", f.Name, typ, b.help, b.env)
		if b.def != "" && b.def != "0" && b.def != "false" {
			fmt.Fprintf(out, " (default %s)", b.def)
		}
		fmt.Fprintln(out)
	})
	first := true
	for _, b := range s.vars {
		if b.flag != "" {
			continue
		}
		if first {
			fmt.Fprintln(out, "Environment only:")
			first = false
		}
		fmt.Fprintf(out, "  %s\n    \t%s (env %s)\n", b.env, b.help, b.env)
	}
}

func typeName(p any) string {
	switch p.(type) {
	case *int, *int64:
		return "int"
	case *float64:
		return "number"
	case *bool:
		return "bool"
	case *time.Duration:
		return "duration"
	default:
		return "string"
	}
}

// Parse parses the command line, then reads the environment variable of
// every setting whose flag was not given. Every bad value is reported, each
// naming its flag or variable.
func (s *Set) Parse(args []string) error {
	if err := s.fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	s.fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	for _, b := range s.vars {
		if b.flag != "" && given[b.flag] {
			continue
		}
		raw, ok := s.lookup(b.env)
		if !ok {
			continue
		}
		if err := b.set(raw); err != nil {
			if b.secret {
				errs = append(errs, fmt.Errorf("environment %s: %w", b.env, err))
			} else {
				errs = append(errs, fmt.Errorf("environment %s=%q: %w", b.env, raw, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Args are the command line's arguments after the flags.
func (s *Set) Args() []string { return s.fs.Args() }

// Envs are the environment variables the set reads, in the order added.
func (s *Set) Envs() []string {
	out := make([]string, 0, len(s.vars))
	for _, b := range s.vars {
		out = append(out, b.env)
	}
	return out
}

// LogValue is the effective configuration by variable, secrets masked.
func (s *Set) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, len(s.vars))
	for _, b := range s.vars {
		v := b.get()
		switch {
		case b.secret && v != "":
			v = "***"
		case strings.Contains(v, "@"):
			v = redactURLs(v)
		}
		attrs = append(attrs, slog.String(b.env, v))
	}
	return slog.GroupValue(attrs...)
}

// redactURLs masks the passwords of a comma-separated list of URLs
// (nats://user:password@host).
func redactURLs(v string) string {
	parts := strings.Split(v, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			parts[i] = u.Redacted()
		}
	}
	return strings.Join(parts, ",")
}

// flagValue is a setting as a flag.Value.
type flagValue struct {
	b      *binding
	isBool bool
}

func (f *flagValue) String() string {
	if f == nil || f.b == nil {
		return ""
	}
	return f.b.get()
}

func (f *flagValue) Set(s string) error { return f.b.set(s) }

// IsBoolFlag lets a boolean flag stand alone (--s3-insecure).
func (f *flagValue) IsBoolFlag() bool { return f.isBool }

func isBool[T Value](p *T) bool {
	_, ok := any(p).(*bool)
	return ok
}

// parser returns the strict parser of a setting's type.
func parser[T Value](p *T, choices []string) func(string) error {
	switch q := any(p).(type) {
	case *string:
		return func(s string) error {
			if len(choices) > 0 && !slices.Contains(choices, s) {
				return fmt.Errorf("want one of %s", strings.Join(choices, ", "))
			}
			*q = s
			return nil
		}
	case *int:
		return func(s string) error {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				return errors.New("want an integer")
			}
			*q = n
			return nil
		}
	case *int64:
		return func(s string) error {
			n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				return errors.New("want an integer")
			}
			*q = n
			return nil
		}
	case *float64:
		return func(s string) error {
			n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return errors.New("want a number")
			}
			*q = n
			return nil
		}
	case *bool:
		return func(s string) error {
			switch strings.TrimSpace(s) {
			case "true", "1":
				*q = true
			case "false", "0":
				*q = false
			default:
				return errors.New("want true or false")
			}
			return nil
		}
	case *time.Duration:
		return func(s string) error {
			d, err := time.ParseDuration(strings.TrimSpace(s))
			if err != nil {
				return errors.New("want a duration such as 90s, 15m or 168h")
			}
			*q = d
			return nil
		}
	}
	panic(fmt.Sprintf("config: no parser for %T", p)) // unreachable: Value lists the types
}

func format(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}
