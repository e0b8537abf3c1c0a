// Package natsauth says who may do what on Handoff's NATS: one identity
// (role) per service, each allowed only the subjects it consumes and
// publishes and the case-store keys it writes, so that no service can forge
// another's work or events, and nobody connects anonymously.
//
// Each role authenticates with an nkey (a seed file per role, <role>.nk, in
// a directory: handoff serve generates them in its data directory; `handoff
// nats-auth` writes them and the server's authorization block for an
// external NATS). The S3 server that sends bucket notifications gets a user
// and password instead (MinIO and versitygw take those in their NATS URL).
package natsauth

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
)

// Role is an identity a Handoff process connects to NATS with.
type Role string

// The roles. Admin creates the streams and key-value buckets and serves the
// operator's tools (dead letters, audit); S3 is the bucket-notification
// sender.
const (
	Admin    Role = "admin"
	Intake   Role = "intake"
	DICOM    Role = "dicom"
	OCR      Role = "ocr"
	Packager Role = "packager"
	S3       Role = "s3"
)

// Roles lists every role.
var Roles = []Role{Admin, Intake, DICOM, OCR, Packager, S3}

// ServiceRoles are the roles of the pipeline's services.
var ServiceRoles = []Role{Intake, DICOM, OCR, Packager}

// Names of the streams and buckets the permissions refer to. They are the
// pipeline's own (platform/bus, platform/casestore, the OCR progress
// bucket); a test holds them to those packages.
const (
	StreamBucket     = "BUCKET_EVENTS"
	StreamWork       = "WORK"
	StreamEvents     = "EVENTS"
	StreamDeadLetter = "DEADLETTER"
	StreamAudit      = "AUDIT"
	CasesBucket      = "handoff-cases"
	OCRBucket        = "handoff-ocr"
	UsageBucket      = "handoff-usage" // per-case budgets, shared by intake, dicom and ocr
	AccessBucket     = "handoff-access"
	SessionsBucket   = "handoff-sessions"
)

// Consumer is a durable consumer a role reads.
type Consumer struct {
	Stream, Durable string
}

// Grant is what one role may do.
type Grant struct {
	// Consumers it reads (and acks, and dead-letters from).
	Consumers []Consumer
	// Publish are the subjects it publishes events and work items to.
	Publish []string
	// KVRead and KVWrite are the key prefixes of a key-value bucket it reads
	// and writes ("handoff-cases" → "file", "case"...); "" means every key.
	KVRead  map[string][]string
	KVWrite map[string][]string
	// WatchAll lets it watch a whole bucket (several keys in one watch).
	WatchAll []string
	// OwnBuckets are key-value buckets of its own, which it creates.
	OwnBuckets []string
	// Erase are streams it reads and deletes messages of (a case erased).
	Erase []string
	// Read are streams it reads a subject of (the audit trail of a case).
	Read []string
}

// Options are the deployment's names that the grants depend on.
type Options struct {
	// BucketSubject is where bucket notifications arrive.
	BucketSubject string
}

// GrantOf returns the grant of a service role (not Admin or S3).
func GrantOf(r Role, o Options) Grant {
	if o.BucketSubject == "" {
		o.BucketSubject = "handoff.bucket.events"
	}
	switch r {
	case Intake:
		return Grant{
			Consumers: []Consumer{
				{StreamBucket, "intake-bucket"}, {StreamWork, "intake-archive"}, {StreamWork, "intake-text"},
				{StreamEvents, "intake-understand"}, {StreamEvents, "intake-report"},
			},
			// Only intake routes work: every work item but the OCR service's
			// own page items.
			Publish: []string{
				"handoff.work.archive", "handoff.work.text", "handoff.work.dicom", "handoff.work.ocr", "handoff.work.bundle",
				"handoff.file.>", "handoff.document.>", "handoff.case.>", "handoff.report.>", "handoff.audit.>",
			},
			KVRead: map[string][]string{CasesBucket: {""}, AccessBucket: {""}, SessionsBucket: {""}, UsageBucket: {""}},
			// Bundles: a coordinator revokes a version through the API.
			KVWrite:    map[string][]string{CasesBucket: {"case", "file", "report", "name", "path", "bundles"}, AccessBucket: {""}, SessionsBucket: {""}, UsageBucket: {""}},
			WatchAll:   []string{CasesBucket, AccessBucket, SessionsBucket},
			OwnBuckets: []string{AccessBucket, SessionsBucket, UsageBucket},
			// Erasing a case reads the streams its messages are in.
			Erase: []string{StreamBucket, StreamEvents, StreamDeadLetter},
			Read:  []string{StreamAudit},
		}
	case DICOM:
		return Grant{
			Consumers:  []Consumer{{StreamWork, "dicom"}},
			Publish:    []string{"handoff.dicom.>", "handoff.file.done", "handoff.file.rejected"},
			KVRead:     map[string][]string{CasesBucket: {"file", "case"}, UsageBucket: {""}},
			KVWrite:    map[string][]string{CasesBucket: {"file"}, UsageBucket: {""}},
			OwnBuckets: []string{UsageBucket},
		}
	case OCR:
		return Grant{
			Consumers:  []Consumer{{StreamWork, "ocr"}, {StreamWork, "ocr-page"}, {StreamWork, "ocr-first"}},
			Publish:    []string{"handoff.ocr.>", "handoff.work.ocrpage", "handoff.work.ocrfirst", "handoff.file.done", "handoff.file.rejected"},
			KVRead:     map[string][]string{CasesBucket: {"file", "case"}, OCRBucket: {""}, UsageBucket: {""}},
			KVWrite:    map[string][]string{CasesBucket: {"file"}, OCRBucket: {""}, UsageBucket: {""}},
			OwnBuckets: []string{OCRBucket, UsageBucket},
		}
	case Packager:
		return Grant{
			Consumers: []Consumer{{StreamWork, "packager"}, {StreamEvents, "packager-auto"}},
			// The automatic bundle queues the packager's own work item.
			Publish: []string{"handoff.bundle.>", "handoff.work.bundle"},
			KVRead:  map[string][]string{CasesBucket: {""}},
			KVWrite: map[string][]string{CasesBucket: {"bundles"}},
		}
	}
	return Grant{}
}

// Permissions returns the NATS permissions of a role.
func Permissions(r Role, o Options) *server.Permissions {
	if o.BucketSubject == "" {
		o.BucketSubject = "handoff.bucket.events"
	}
	switch r {
	case Admin:
		return &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: []string{">"}},
			Subscribe: &server.SubjectPermission{Allow: []string{">"}},
		}
	case S3:
		// MinIO and versitygw reply on the default inbox: they may read it,
		// but not the replies of Handoff's roles.
		var deny []string
		for _, o := range Roles {
			if o != S3 {
				deny = append(deny, InboxPrefix(o)+".>")
			}
		}
		return &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: []string{o.BucketSubject}},
			Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>"}, Deny: deny},
		}
	}
	g := GrantOf(r, o)
	pub := []string{"$JS.API.INFO", "$JS.FC.>"}
	sub := []string{InboxPrefix(r) + ".>"}
	for _, s := range []string{StreamBucket, StreamWork, StreamEvents, StreamDeadLetter, StreamAudit} {
		pub = append(pub, "$JS.API.STREAM.INFO."+s)
	}
	for _, c := range g.Consumers {
		pub = append(pub,
			"$JS.API.CONSUMER.INFO."+c.Stream+"."+c.Durable,
			"$JS.API.CONSUMER.CREATE."+c.Stream+"."+c.Durable,
			"$JS.API.CONSUMER.CREATE."+c.Stream+"."+c.Durable+".>",
			"$JS.API.CONSUMER.DURABLE.CREATE."+c.Stream+"."+c.Durable,
			"$JS.API.CONSUMER.MSG.NEXT."+c.Stream+"."+c.Durable,
			"$JS.ACK."+c.Stream+"."+c.Durable+".>",
			"$JS.ACK.*.*."+c.Stream+"."+c.Durable+".>",
			// Dead-lettering a message the server gave up on: read it, and
			// take it off a work queue.
			"$JS.API.STREAM.MSG.GET."+c.Stream,
			"$JS.API.DIRECT.GET."+c.Stream,
			"$JS.API.STREAM.MSG.DELETE."+c.Stream,
			"handoff.dlq."+c.Durable,
		)
		sub = append(sub, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES."+c.Stream+"."+c.Durable)
	}
	pub = append(pub, g.Publish...)
	for _, bucket := range sortedKeys(g.KVRead) {
		kvs := "KV_" + bucket
		pub = append(pub, "$JS.API.STREAM.INFO."+kvs)
		for _, p := range g.KVRead[bucket] {
			pub = append(pub,
				"$JS.API.DIRECT.GET."+kvs+".$KV."+bucket+"."+prefix(p),
				// A watch of keys of the prefix (an ordered consumer).
				"$JS.API.CONSUMER.CREATE."+kvs+".*.$KV."+bucket+"."+prefix(p),
			)
		}
		pub = append(pub, "$JS.API.CONSUMER.DELETE."+kvs+".*", "$JS.API.CONSUMER.INFO."+kvs+".*")
	}
	// Reading a stream is an ordered consumer of it (with a subject filter
	// or without); erasing reads it and deletes messages.
	for _, st := range append(slices.Clone(g.Read), g.Erase...) {
		pub = append(pub, "$JS.API.CONSUMER.CREATE."+st+".*", "$JS.API.CONSUMER.CREATE."+st+".*.>", "$JS.API.CONSUMER.DELETE."+st+".*",
			"$JS.API.CONSUMER.INFO."+st+".*", "$JS.API.CONSUMER.MSG.NEXT."+st+".*")
	}
	for _, st := range g.Erase {
		pub = append(pub, "$JS.API.STREAM.MSG.DELETE."+st)
	}
	for _, bucket := range g.OwnBuckets {
		pub = append(pub, "$JS.API.STREAM.CREATE.KV_"+bucket, "$JS.API.STREAM.UPDATE.KV_"+bucket)
	}
	for _, bucket := range g.WatchAll {
		pub = append(pub, "$JS.API.CONSUMER.CREATE.KV_"+bucket+".*")
	}
	for _, bucket := range sortedKeys(g.KVWrite) {
		for _, p := range g.KVWrite[bucket] {
			pub = append(pub, "$KV."+bucket+"."+prefix(p))
		}
	}
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: dedupe(pub)},
		Subscribe: &server.SubjectPermission{Allow: dedupe(sub)},
	}
}

// prefix is the subject tail of the keys under a key prefix.
func prefix(p string) string {
	if p == "" {
		return ">"
	}
	return p + ".>"
}

// InboxPrefix is a role's own reply subjects: a role can read only the
// replies to its own requests.
func InboxPrefix(r Role) string { return "_INBOX." + string(r) }

// ParseRole reads a role's name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.TrimSpace(s))
	if !slices.Contains(Roles, r) {
		return "", fmt.Errorf("unknown NATS role %q (want one of %v)", s, Roles)
	}
	return r, nil
}

func sortedKeys(m map[string][]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func dedupe(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}
