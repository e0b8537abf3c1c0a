#!/usr/bin/env bash
# Checklist report latency in embedded mode (issue 5): last upload of a
# ten-document case to its final report, OCR excluded. Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(cd .. && pwd)"
if [ ! -x "$root/bin/handoff" ]; then
	(cd "$root" && go build -o bin/handoff ./cmd/handoff)
fi
exec go run ./report -handoff "$root/bin/handoff" -repo "$root" "$@"
