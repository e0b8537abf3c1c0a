#!/usr/bin/env bash
# Intake path in embedded mode against plain S3 PUTs (issue 2). Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./intake -handoff "$(cd .. && pwd)/bin/handoff" "$@"
