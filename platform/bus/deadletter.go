package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/event"
)

// HeaderReplayOf is set on a replayed message: the sequence of the dead
// letter it came from in DEADLETTER.
const HeaderReplayOf = "Handoff-Replay-Of"

// ErrNoDeadLetter means DEADLETTER holds no message at that sequence.
var ErrNoDeadLetter = errors.New("no such dead letter")

// DeadLetterEntry is a dead letter as DEADLETTER stores it.
type DeadLetterEntry struct {
	// Seq is its sequence in DEADLETTER: what replay and drop take.
	Seq uint64 `json:"seq"`
	// Time is when it was dead-lettered.
	Time time.Time `json:"time"`
	event.DeadLetter
}

// DeadLetterCounts returns how many dead letters wait in DEADLETTER, by
// consumer.
func (b *Bus) DeadLetterCounts(ctx context.Context) (map[string]uint64, error) {
	st, err := b.js.Stream(ctx, StreamDeadLetter)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", StreamDeadLetter, err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(event.SubjectDeadLetterPrefix+">"))
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", StreamDeadLetter, err)
	}
	out := make(map[string]uint64, len(info.State.Subjects))
	for subj, n := range info.State.Subjects {
		out[strings.TrimPrefix(subj, event.SubjectDeadLetterPrefix)] += n
	}
	return out, nil
}

// DeadLetters lists the dead letters waiting in DEADLETTER, oldest first:
// every consumer's, or consumer's alone when it is not empty.
func (b *Bus) DeadLetters(ctx context.Context, consumer string) ([]DeadLetterEntry, error) {
	filter := event.SubjectDeadLetterPrefix + ">"
	if consumer != "" {
		filter = event.SubjectDeadLetterPrefix + consumer
	}
	counts, err := b.DeadLetterCounts(ctx)
	if err != nil {
		return nil, err
	}
	var total uint64
	for c, n := range counts {
		if consumer == "" || c == consumer {
			total += n
		}
	}
	if total == 0 {
		return nil, nil
	}
	cons, err := b.js.OrderedConsumer(ctx, StreamDeadLetter, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", StreamDeadLetter, err)
	}
	var out []DeadLetterEntry
	for {
		batch, err := cons.Fetch(100, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", StreamDeadLetter, err)
		}
		n, last := 0, false
		for m := range batch.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", StreamDeadLetter, err)
			}
			e, err := decodeDeadLetter(md.Sequence.Stream, md.Timestamp, m.Data())
			if err != nil {
				return nil, err
			}
			out = append(out, e)
			last = md.NumPending == 0
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return nil, fmt.Errorf("read %s: %w", StreamDeadLetter, err)
		}
		if last || n == 0 {
			return out, nil
		}
	}
}

// DeadLetter reads the dead letter at seq.
func (b *Bus) DeadLetter(ctx context.Context, seq uint64) (DeadLetterEntry, error) {
	st, err := b.js.Stream(ctx, StreamDeadLetter)
	if err != nil {
		return DeadLetterEntry{}, fmt.Errorf("stream %s: %w", StreamDeadLetter, err)
	}
	raw, err := st.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return DeadLetterEntry{}, fmt.Errorf("%d: %w", seq, ErrNoDeadLetter)
	}
	if err != nil {
		return DeadLetterEntry{}, fmt.Errorf("dead letter %d: %w", seq, err)
	}
	return decodeDeadLetter(seq, raw.Time, raw.Data)
}

func decodeDeadLetter(seq uint64, at time.Time, data []byte) (DeadLetterEntry, error) {
	e := DeadLetterEntry{Seq: seq, Time: at}
	if err := json.Unmarshal(data, &e.DeadLetter); err != nil {
		return e, fmt.Errorf("dead letter %d: %w", seq, err)
	}
	return e, nil
}

// Replay publishes the message a dead letter keeps again — its subject,
// headers and payload — and, once JetStream stored it, deletes the dead
// letter. It returns the stream and sequence the message was stored at.
//
// The message gets a message ID of its own, the original's with the dead
// letter's sequence appended: the original ID may still be inside the
// stream's de-duplication window (10 minutes), which would drop the replay
// silently, while replaying the same dead letter twice (an operator's
// retry, a replay that died before its delete) stores it once. Every
// consumer of the subject sees the message again; handlers are idempotent.
func (b *Bus) Replay(ctx context.Context, seq uint64) (stream string, stored uint64, err error) {
	e, err := b.DeadLetter(ctx, seq)
	if err != nil {
		return "", 0, err
	}
	if e.OrigSubject == "" || strings.HasPrefix(e.OrigSubject, event.SubjectDeadLetterPrefix) {
		return "", 0, fmt.Errorf("dead letter %d: no subject to replay to", seq)
	}
	msg := nats.NewMsg(e.OrigSubject)
	msg.Data = e.Data
	for k, v := range e.Headers {
		// JetStream's own headers (expectations, the ID) are not the message's.
		if !strings.HasPrefix(strings.ToLower(k), "nats-") {
			msg.Header.Set(k, v)
		}
	}
	msg.Header.Set(nats.MsgIdHdr, ReplayID(e))
	msg.Header.Set(HeaderReplayOf, strconv.FormatUint(seq, 10))
	ack, err := b.publish(ctx, msg)
	if err != nil {
		return "", 0, fmt.Errorf("replay %d: %w", seq, err)
	}
	if err := b.DropDeadLetter(ctx, seq); err != nil && !errors.Is(err, ErrNoDeadLetter) {
		return ack.Stream, ack.Sequence, fmt.Errorf("replayed %d, not deleted: %w", seq, err)
	}
	return ack.Stream, ack.Sequence, nil
}

// ReplayID is the message ID a replay of e is published with.
func ReplayID(e DeadLetterEntry) string {
	orig := e.Headers[nats.MsgIdHdr]
	if orig == "" {
		orig = e.Stream + "." + strconv.FormatUint(e.StreamSeq, 10)
	}
	return orig + "|replay." + strconv.FormatUint(e.Seq, 10)
}

// DropDeadLetter deletes the dead letter at seq.
func (b *Bus) DropDeadLetter(ctx context.Context, seq uint64) error {
	st, err := b.js.Stream(ctx, StreamDeadLetter)
	if err != nil {
		return fmt.Errorf("stream %s: %w", StreamDeadLetter, err)
	}
	err = Retry(ctx, func(ctx context.Context) error { return st.DeleteMsg(ctx, seq) })
	if errors.Is(err, jetstream.ErrMsgNotFound) || isNoMessage(err) {
		return fmt.Errorf("%d: %w", seq, ErrNoDeadLetter)
	}
	if err != nil {
		return fmt.Errorf("delete dead letter %d: %w", seq, err)
	}
	return nil
}

// isNoMessage is the refusal to delete a sequence the stream does not hold
// (API error 10043, "sequence not found"), which the client passes on as
// text only.
func isNoMessage(err error) bool {
	return errors.Is(err, jetstream.ErrMsgDeleteUnsuccessful) && strings.Contains(err.Error(), "err_code=10043")
}
