package bus

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// attemptTimeout bounds one try of a JetStream request that Retry repeats:
// a request whose answer was lost with the server that had it is sent
// again instead of waiting out the caller's whole deadline.
const attemptTimeout = 5 * time.Second

// transientCodes are JetStream API errors a cluster gives while it elects
// a leader or a server catches up.
var transientCodes = []jetstream.ErrorCode{
	10008, // JSClusterNotAvailErr: JetStream system temporarily unavailable
	10009, // JSClusterNotLeaderErr: JetStream cluster can not handle request
	10004, // JSClusterIncompleteErr: incomplete results
	10063, // JSStreamSequenceNotMatchErr: expected stream sequence does not match
	10163, // JSStreamExpectedLastSeqPerSubjectNotReady: temporarily unavailable
	10158, // JSStreamDuplicateMessageConflict: "duplicate message id is in process" — the first copy is still being stored
}

// Transient reports whether a retry can outlast err: no server answered (a
// stream or consumer leader being elected, the server of the connection
// restarting), a request timed out, the connection is reconnecting, or
// JetStream said the cluster is briefly unavailable. Anything else — a
// conflict, a missing key, bad input — is not.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	switch {
	case errors.Is(err, nats.ErrNoResponders), errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, nats.ErrTimeout), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, nats.ErrConnectionReconnecting), errors.Is(err, nats.ErrDisconnected),
		errors.Is(err, jetstream.ErrServerShutdown):
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		for _, c := range transientCodes {
			if apiErr.ErrorCode == c {
				return true
			}
		}
	}
	return false
}

// retryBudget bounds Retry when ctx has no deadline: longer than a leader
// election (seconds), shorter than a consumer's ack wait.
const retryBudget = 30 * time.Second

// Retry runs op until it succeeds, fails with an error that is not
// Transient, or ctx ends (30 s when ctx has no deadline); between tries it
// pauses 100 ms, doubling to 2 s, with jitter. Each try gets at most 5 s.
// op must be safe to repeat: a publish carries its message ID, a
// compare-and-set its revision.
func Retry(ctx context.Context, op func(ctx context.Context) error) error {
	return retryIf(ctx, Transient, op)
}

// retryIf is Retry with another test of what is worth another try.
func retryIf(ctx context.Context, again func(error) bool, op func(ctx context.Context) error) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, retryBudget)
		defer cancel()
	}
	pause := 100 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := op(actx)
		cancel()
		if err == nil || !again(err) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause + rand.N(pause/2)):
		}
		pause = min(2*pause, 2*time.Second)
	}
}
