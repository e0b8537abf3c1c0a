#!/usr/bin/env bash
# Peak memory (RSS) of each worker kind's own binary under a small load: the
# measurement behind the Helm chart's resource requests and limits
# (deploy/helm/handoff/values.yaml).
#
# Starts nats-server (JetStream) and versitygw (S3) from .tools/bin, then
# bin/intake, bin/dicom, bin/ocr and bin/packager as separate processes with
# the chart's worker counts, uploads every example case of testdata/cases
# through the API ROUNDS times (each round a new set of cases), waits until
# every file is processed, asks for each case's bundle, and prints each
# process's peak RSS (VmHWM) and its RSS at the end.
#
#   bench/rss/run.sh [ROUNDS]     (make build first; default 2 rounds)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
ROUNDS=${1:-2}
export PATH="$ROOT/.tools/bin:$PATH"
for b in intake dicom ocr packager; do [ -x "bin/$b" ] || { echo "bin/$b missing: make build" >&2; exit 1; }; done
for t in nats-server versitygw curl jq; do command -v "$t" >/dev/null || { echo "$t missing: make setup" >&2; exit 1; }; done

WORK=$(mktemp -d)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
NATS_PORT=$(port) S3_PORT=$(port)
export HANDOFF_S3_ACCESS_KEY=rssbench HANDOFF_S3_SECRET_KEY=rssbench-secret-key HANDOFF_API_TOKEN=rssbench-token-0123456789
export HANDOFF_NATS_URL=nats://127.0.0.1:$NATS_PORT HANDOFF_S3_ENDPOINT=http://127.0.0.1:$S3_PORT HANDOFF_LOG_LEVEL=warn
export OMP_THREAD_LIMIT=1

nats-server -js -sd "$WORK/nats" -a 127.0.0.1 -p "$NATS_PORT" >"$WORK/nats.log" 2>&1 &
PIDS+=($!)
mkdir -p "$WORK/s3/meta" "$WORK/s3/objects"
ROOT_ACCESS_KEY=$HANDOFF_S3_ACCESS_KEY ROOT_SECRET_KEY=$HANDOFF_S3_SECRET_KEY versitygw --port "127.0.0.1:$S3_PORT" --quiet \
	--event-nats-url "$HANDOFF_NATS_URL" --event-nats-topic handoff.bucket.events \
	posix --sidecar "$WORK/s3/meta" "$WORK/s3/objects" >"$WORK/s3.log" 2>&1 &
PIDS+=($!)
sleep 1

declare -A PID HTTP=([intake]=$(port) [dicom]=$(port) [ocr]=$(port) [packager]=$(port))
# The chart's worker counts (values.yaml).
declare -A ARGS=([intake]="" [dicom]="--workers 4" [ocr]="--workers 2 --work-dir $WORK" [packager]="--workers 1")
for k in intake dicom ocr packager; do
	# shellcheck disable=SC2086
	HANDOFF_HTTP=127.0.0.1:${HTTP[$k]} "bin/$k" ${ARGS[$k]} >"$WORK/$k.log" 2>&1 &
	PID[$k]=$!
	PIDS+=($!)
done
for k in intake dicom ocr packager; do
	for _ in $(seq 100); do curl -fs "127.0.0.1:${HTTP[$k]}/readyz" >/dev/null && break; sleep 0.2; done
	curl -fs "127.0.0.1:${HTTP[$k]}/readyz" >/dev/null || { echo "$k not ready:"; tail "$WORK/$k.log"; exit 1; }
done

API=http://127.0.0.1:${HTTP[intake]}
AUTH="Authorization: Bearer $HANDOFF_API_TOKEN"
CASES=()
start=$(date +%s)
for _ in $(seq "$ROUNDS"); do
	for dir in testdata/cases/*/; do
		id=$(curl -fs -X POST -H "$AUTH" "$API/v1/cases" --data-binary @"$dir/case.json" | jq -r .id)
		CASES+=("$id")
		(cd "$dir/files" && find . -type f -printf '%P\n') | while read -r f; do
			path=$(jq -rn --arg f "$f" '$f | split("/") | map(@uri) | join("/")')
			curl -fs -X PUT -H "$AUTH" --data-binary @"$dir/files/$f" "$API/v1/cases/$id/files/$path" >/dev/null
		done
	done
done
files=0
for id in "${CASES[@]}"; do
	for _ in $(seq 600); do
		[ "$(curl -fs -H "$AUTH" "$API/v1/cases/$id" | jq '.pending')" = 0 ] && break
		sleep 0.5
	done
	files=$((files + $(curl -fs -H "$AUTH" "$API/v1/cases/$id" | jq '.files | length')))
	curl -fs -X POST -H "$AUTH" "$API/v1/cases/$id/bundle" >/dev/null
done
for id in "${CASES[@]}"; do
	for _ in $(seq 600); do
		curl -fs -o /dev/null -H "$AUTH" "$API/v1/cases/$id/bundle" && break
		sleep 0.5
	done
done
echo "${#CASES[@]} cases, $files files processed and bundled in $(( $(date +%s) - start )) s"
printf '%-9s %14s %12s\n' kind peak_RSS_MiB end_RSS_MiB
for k in intake dicom ocr packager; do
	hwm=$(awk '/VmHWM/ {print $2}' "/proc/${PID[$k]}/status")
	rss=$(awk '/VmRSS/ {print $2}' "/proc/${PID[$k]}/status")
	awk -v k="$k" -v h="$hwm" -v r="$rss" 'BEGIN { printf "%-9s %14.1f %12.1f\n", k, h / 1024, r / 1024 }'
done
