#!/usr/bin/env bash
# Scale benchmark: one scanned document of N pages (default 20, built like
# make_scanned.sh) through 1, then 2 OCR worker processes (the service
# binary services/ocr/cmd/ocr, one single-threaded Tesseract each) sharing a
# real NATS and S3 (in-process test servers); prints pages/s for each and
# the ratio, and checks that both processes took pages.
#
#   bench/ocr/workers.sh [N]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT/services/ocr"
OCR_BENCH=1 OCR_BENCH_PAGES=${1:-20} go test -count=1 -timeout 30m -run '^TestWorkerProcesses$' -v . 2>&1 |
	grep -E 'process\(es\)|pages/s|PASS|FAIL|ok'
