#!/usr/bin/env bash
# Scale benchmark: one scanned document of N pages (default 20, built like
# make_scanned.sh) through 1, then 2 OCR worker processes (the service
# binary services/ocr/cmd/ocr, one single-threaded Tesseract each) sharing a
# real NATS and S3 (in-process test servers); prints pages/s for each and
# the ratio, and checks that both processes took pages.
#
#   bench/ocr/workers.sh [N [REV [ROUNDS]]]
#
# With REV (a git revision), the worker binary of that revision is measured
# too, ROUNDS times (default 1) in turn with this tree's, and the pages/s of
# each are printed side by side: a change's effect on the throughput of one
# long document on an idle pipeline, in one run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-20}
REV=${2:-}
ROUNDS=${3:-1}
cd "$ROOT/services/ocr"
run() { # [BIN]: prints the test's figures
	OCR_BENCH=1 OCR_BENCH_PAGES=$N OCR_BENCH_BIN=${1:-} go test -count=1 -timeout 60m -run '^TestWorkerProcesses$' -v . 2>&1 |
		grep -E 'process\(es\)|pages/s|PASS|FAIL|ok'
}
if [[ -z $REV ]]; then
	run
	exit
fi
base=$(mktemp -d)
trap 'rm -rf "$base"' EXIT
git -C "$ROOT" archive "$REV" | tar -x -C "$base"
(cd "$base/services/ocr" && go build -o "$base/ocr-base" ./cmd/ocr)
(cd "$ROOT/services/ocr" && go build -o "$base/ocr-head" ./cmd/ocr)
for r in $(seq 1 "$ROUNDS"); do
	for v in base head; do
		echo "== round $r: $v ($([[ $v == base ]] && echo "$REV" || echo "this tree")), load $(cut -d' ' -f1-3 /proc/loadavg)"
		run "$base/ocr-$v" | grep -E 'pages/s'
	done
done
