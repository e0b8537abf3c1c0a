package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/event"
)

// Stream names.
const (
	// StreamBucket keeps bucket notifications (from MinIO, versitygw or the
	// embedded S3 endpoint) for 14 days: intake's consumer records them, and
	// they stay as a record of what S3 said.
	StreamBucket = "BUCKET_EVENTS"
	// StreamWork is the work queue: handoff.work.<kind>, one consumer per kind.
	StreamWork = "WORK"
	// StreamEvents keeps completion events for reactions, the UI and audit.
	StreamEvents = "EVENTS"
	// StreamDeadLetter keeps messages that could not be processed, with their error.
	StreamDeadLetter = "DEADLETTER"
)

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
	return []jetstream.StreamConfig{
		{
			Name:        StreamBucket,
			Description: "S3 bucket notifications (MinIO or plain S3 shape)",
			Subjects:    []string{bucketSubject},
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      14 * 24 * time.Hour,
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
	}
}

// Setup creates or updates the pipeline's streams. Every service calls it at
// start; it is idempotent. A cluster still electing its leaders is waited
// for (Retry).
func (b *Bus) Setup(ctx context.Context, t Topology) error {
	for _, cfg := range t.Streams() {
		err := Retry(ctx, func(ctx context.Context) error {
			_, err := b.js.CreateOrUpdateStream(ctx, cfg)
			return err
		})
		if err != nil {
			return fmt.Errorf("stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}
