#!/bin/sh
# Creates Handoff's buckets on MinIO and the notification of uploads to the
# intake bucket (put events under cases/) to MinIO's NATS target, and fails
# loudly when it cannot: without the notification no upload made straight
# to S3 is processed until intake's reconciliation finds it.
#
# Run by the Helm chart's hook Job and by deploy/compose.yaml with the
# MinIO client image (mc). Idempotent: run it again after any change.
#
#   HANDOFF_S3_ENDPOINT, HANDOFF_S3_ACCESS_KEY, HANDOFF_S3_SECRET_KEY   required
#   HANDOFF_S3_CA                     extra CA certificate (PEM) of the endpoint
#   HANDOFF_INTAKE_BUCKET, HANDOFF_DERIVED_BUCKET, HANDOFF_BUNDLE_BUCKET
#   HANDOFF_NOTIFY_ARN                MinIO's NATS target (arn:minio:sqs::primary:nats)
#   HANDOFF_SETUP_TRIES               tries to reach the endpoint, 2 s apart (60)
set -eu

: "${HANDOFF_S3_ENDPOINT:?setup-buckets: HANDOFF_S3_ENDPOINT is not set}"
: "${HANDOFF_S3_ACCESS_KEY:?setup-buckets: HANDOFF_S3_ACCESS_KEY is not set}"
: "${HANDOFF_S3_SECRET_KEY:?setup-buckets: HANDOFF_S3_SECRET_KEY is not set}"
intake=${HANDOFF_INTAKE_BUCKET:-handoff-intake}
derived=${HANDOFF_DERIVED_BUCKET:-handoff-derived}
bundles=${HANDOFF_BUNDLE_BUCKET:-handoff-bundles}
arn=${HANDOFF_NOTIFY_ARN:-arn:minio:sqs::primary:nats}
tries=${HANDOFF_SETUP_TRIES:-60}
prefix=cases/

export MC_CONFIG_DIR="${MC_CONFIG_DIR:-/tmp/.mc}"
mkdir -p "$MC_CONFIG_DIR"
if [ -n "${HANDOFF_S3_CA:-}" ]; then
	mkdir -p "$MC_CONFIG_DIR/certs/CAs"
	cp "$HANDOFF_S3_CA" "$MC_CONFIG_DIR/certs/CAs/handoff-s3-ca.crt"
fi

# The endpoint may still be starting: try for a while, then fail.
n=0
until mc alias set handoff "$HANDOFF_S3_ENDPOINT" "$HANDOFF_S3_ACCESS_KEY" "$HANDOFF_S3_SECRET_KEY" >/dev/null && mc ready handoff >/dev/null; do
	n=$((n + 1))
	if [ "$n" -ge "$tries" ]; then
		echo "setup-buckets: cannot reach S3 at $HANDOFF_S3_ENDPOINT after $tries tries" >&2
		exit 1
	fi
	sleep 2
done

mc mb --ignore-existing "handoff/$intake" "handoff/$derived" "handoff/$bundles"
mc anonymous set none "handoff/$bundles"

notified() { mc event list "handoff/$intake" "$arn" 2>/dev/null | grep -q "$prefix"; }
if ! notified; then
	if ! mc event add "handoff/$intake" "$arn" --event put --prefix "$prefix"; then
		echo "setup-buckets: cannot add the notification of $intake to $arn: is MinIO's NATS target (MINIO_NOTIFY_NATS_*) configured and NATS reachable?" >&2
		exit 1
	fi
fi
if ! notified; then
	echo "setup-buckets: the notification of $intake to $arn is not in place after adding it" >&2
	exit 1
fi
echo "setup-buckets: buckets $intake, $derived, $bundles; put events under $intake/$prefix notify $arn"
