package s3gw

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/sniff"
)

// publisher stores a message in JetStream and waits for the ack.
type publisher interface {
	PublishMsg(ctx context.Context, msg *nats.Msg) error
}

// JetStreamNotifier publishes a MinIO-shaped notification for each object
// created in one of its buckets, exactly as MinIO's NATS target (JetStream
// mode) would, and returns once JetStream stored it.
type JetStreamNotifier struct {
	pub     publisher
	subject string
	buckets []string
	prefix  string
}

// NewJetStreamNotifier returns a notifier publishing on subject for the
// given buckets (all buckets when none are given).
func NewJetStreamNotifier(pub publisher, subject string, buckets ...string) *JetStreamNotifier {
	if subject == "" {
		subject = event.DefaultBucketSubject
	}
	return &JetStreamNotifier{pub: pub, subject: subject, buckets: buckets}
}

// WithPrefix limits the notifications to keys starting with prefix, as
// MinIO's prefix filter does (mc event add … --prefix cases/), and returns n.
func (n *JetStreamNotifier) WithPrefix(prefix string) *JetStreamNotifier {
	n.prefix = prefix
	return n
}

var _ Notifier = (*JetStreamNotifier)(nil)

// Headers the embedded endpoint adds to a notification (the payload stays
// exactly MinIO's): the content type sniffed from the object's first bytes
// as they went by (sniff.Detect), and the ETag it belongs to, so that
// intake need not read the object back.
const (
	HeaderType = "Handoff-Object-Type"
	HeaderETag = "Handoff-Object-Etag"
)

// ObjectCreated implements Notifier.
func (n *JetStreamNotifier) ObjectCreated(ctx context.Context, o Object) error {
	if (len(n.buckets) > 0 && !slices.Contains(n.buckets, o.Bucket)) || !strings.HasPrefix(o.Key, n.prefix) {
		return nil
	}
	data, err := event.MinIONotification(o.Bucket, o.Key, o.ETag, o.Size, o.EventName)
	if err != nil {
		return err
	}
	msg := nats.NewMsg(n.subject)
	msg.Data = data
	// The same object revision notified twice is stored once.
	sum := sha256.Sum256([]byte(o.Bucket + "\x00" + o.Key + "\x00" + o.ETag))
	msg.Header.Set(nats.MsgIdHdr, "s3."+hex.EncodeToString(sum[:16]))
	if o.Head != nil {
		msg.Header.Set(HeaderType, sniff.Detect(o.Head))
		msg.Header.Set(HeaderETag, o.ETag)
	}
	if err := n.pub.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("notify %s: %w", o.Bucket, err)
	}
	return nil
}
