package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/event"
)

// Stream names.
const (
	// StreamBucket keeps bucket notifications (from MinIO, versitygw or the
	// embedded S3 endpoint) for an hour: intake's consumer records them.
	// What S3 sends holds object keys (a stock client's may name the
	// patient's files), so it is not kept longer than needed: uploads whose
	// notification expired unread are found by the reconciliation, which
	// lists the bucket itself.
	StreamBucket = "BUCKET_EVENTS"
	// StreamWork is the work queue: handoff.work.<kind>, one consumer per kind.
	StreamWork = "WORK"
	// StreamEvents keeps completion events for reactions, the UI and audit.
	StreamEvents = "EVENTS"
	// StreamDeadLetter keeps messages that could not be processed, with their error.
	StreamDeadLetter = "DEADLETTER"
	// StreamAudit is the audit trail: who did what to which case
	// (handoff.audit.<case>), append-only (no message can be deleted, the
	// stream cannot be purged), kept for AuditMaxAge.
	StreamAudit = "AUDIT"
)

// DefaultAuditMaxAge is how long the audit trail is kept unless configured:
// six years, the retention HIPAA asks of such records.
const DefaultAuditMaxAge = 6 * 365 * 24 * time.Hour

// EventSubjects are the subjects the EVENTS stream captures.
var EventSubjects = []string{
	"handoff.file.>", "handoff.dicom.>", "handoff.ocr.>", "handoff.document.>",
	"handoff.case.>", "handoff.report.>", "handoff.bundle.>",
}

// Topology configures the streams. The zero value plus a BucketSubject is
// the default for one server; a cluster sets Replicas to 3.
type Topology struct {
	// BucketSubject is where bucket notifications arrive (default
	// event.DefaultBucketSubject).
	BucketSubject string
	Replicas      int
	// Memory keeps streams in memory (tests); the default is file storage.
	Memory bool
	// EventsMaxAge is how long completion events are kept (default 30 days).
	EventsMaxAge time.Duration
	// AuditMaxAge is how long the audit trail is kept (default
	// DefaultAuditMaxAge).
	AuditMaxAge time.Duration
}

func (t Topology) storage() jetstream.StorageType {
	if t.Memory {
		return jetstream.MemoryStorage
	}
	return jetstream.FileStorage
}

func (t Topology) replicas() int { return max(t.Replicas, 1) }

// Streams returns the stream configurations of the pipeline.
func (t Topology) Streams() []jetstream.StreamConfig {
	bucketSubject := t.BucketSubject
	if bucketSubject == "" {
		bucketSubject = event.DefaultBucketSubject
	}
	eventsAge := t.EventsMaxAge
	if eventsAge == 0 {
		eventsAge = 30 * 24 * time.Hour
	}
	auditAge := t.AuditMaxAge
	if auditAge == 0 {
		auditAge = DefaultAuditMaxAge
	}
	return []jetstream.StreamConfig{
		{
			Name:        StreamBucket,
			Description: "S3 bucket notifications (MinIO or plain S3 shape)",
			Subjects:    []string{bucketSubject},
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      time.Hour,
			Storage:     t.storage(),
			Replicas:    t.replicas(),
			Duplicates:  2 * time.Minute,
		},
		{
			Name:        StreamWork,
			Description: "Work queue: one consumer per worker kind",
			Subjects:    []string{event.SubjectWorkPrefix + ">"},
			Retention:   jetstream.WorkQueuePolicy,
			MaxAge:      14 * 24 * time.Hour,
			Storage:     t.storage(),
			Replicas:    t.replicas(),
			Duplicates:  10 * time.Minute,
		},
		{
			Name:        StreamEvents,
			Description: "Completion events",
			Subjects:    EventSubjects,
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      eventsAge,
			Storage:     t.storage(),
			Replicas:    t.replicas(),
			Duplicates:  10 * time.Minute,
		},
		{
			Name:        StreamDeadLetter,
			Description: "Messages that could not be processed, with their last error",
			Subjects:    []string{event.SubjectDeadLetterPrefix + ">"},
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      90 * 24 * time.Hour,
			Storage:     t.storage(),
			Replicas:    t.replicas(),
			Duplicates:  10 * time.Minute,
		},
		{
			Name:        StreamAudit,
			Description: "Audit trail: who did what to which case (append-only)",
			Subjects:    []string{event.SubjectAuditPrefix + ">"},
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      auditAge,
			Storage:     t.storage(),
			Replicas:    t.replicas(),
			Duplicates:  10 * time.Minute,
			DenyDelete:  true,
			DenyPurge:   true,
		},
	}
}

// Setup creates or updates the pipeline's streams. Every service calls it at
// start; it is idempotent, only writes when a stream is missing or its
// settings differ, and waits for a cluster still electing its leaders
// (Retry).
func (b *Bus) Setup(ctx context.Context, t Topology) error {
	for _, cfg := range t.Streams() {
		err := Retry(ctx, func(ctx context.Context) error { return b.ensureStream(ctx, cfg) })
		if err != nil {
			return fmt.Errorf("stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// ensureStream creates a stream, or updates it when its settings that
// matter differ. Reading it first keeps a service whose credentials may
// not manage streams from trying (only the set-up identity creates them).
func (b *Bus) ensureStream(ctx context.Context, cfg jetstream.StreamConfig) error {
	st, err := b.js.Stream(ctx, cfg.Name)
	if err == nil && sameStream(st.CachedInfo().Config, cfg) {
		return nil
	}
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return err
	}
	_, err = b.js.CreateOrUpdateStream(ctx, cfg)
	return err
}

func sameStream(have, want jetstream.StreamConfig) bool {
	return slices.Equal(have.Subjects, want.Subjects) && have.Replicas == max(want.Replicas, 1) &&
		have.MaxAge == want.MaxAge && have.Retention == want.Retention && have.Duplicates == want.Duplicates &&
		have.DenyDelete == want.DenyDelete && have.DenyPurge == want.DenyPurge
}

// EnsureKeyValue binds a key-value bucket, creating it (or updating its
// replicas, history and TTL) when it is missing or differs. Like the
// streams, only the set-up identity creates one; the services bind.
// A cluster still electing its leaders is waited for (Retry).
func EnsureKeyValue(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	var kv jetstream.KeyValue
	err := Retry(ctx, func(ctx context.Context) error {
		var err error
		kv, err = ensureKeyValue(ctx, js, cfg)
		return err
	})
	return kv, err
}

func ensureKeyValue(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, cfg.Bucket)
	if err == nil {
		st, serr := js.Stream(ctx, "KV_"+cfg.Bucket)
		if serr == nil {
			c := st.CachedInfo().Config
			if c.Replicas == max(cfg.Replicas, 1) && c.MaxAge == cfg.TTL && c.MaxMsgsPerSubject == int64(max(cfg.History, 1)) {
				return kv, nil
			}
		}
	} else if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, err
	}
	return js.CreateOrUpdateKeyValue(ctx, cfg)
}
