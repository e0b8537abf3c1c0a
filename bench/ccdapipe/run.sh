#!/usr/bin/env bash
# A ~10 MB C-CDA through `handoff serve` (embedded NATS and S3, every
# service): upload to final report, median of a few runs, against 1 s.
#   bench/ccdapipe/run.sh [-runs 5] [-size BYTES]
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(cd .. && pwd)"
(cd "$root" && go build -o bin/handoff ./cmd/handoff)
exec go run ./ccdapipe -handoff "$root/bin/handoff" -repo "$root" "$@"
