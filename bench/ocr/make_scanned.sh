#!/usr/bin/env bash
# Builds an N-page scanned PDF (default 20) from the ocr-peer corpus pages
# (cardinal's four orientations, linn, ccitt, epson, skew, in turn): the
# input of the two-worker end-to-end test and of bench/ocr/workers.sh.
#
#   bench/ocr/make_scanned.sh OUT.pdf [N]
set -euo pipefail
OUT=${1:?usage: make_scanned.sh OUT.pdf [N]}
N=${2:-20}
CORPUS=$(cd "$(dirname "$0")/../../testdata/corpus/ocr-peer" && pwd)
args=()
i=0
while ((i < N)); do
	for s in cardinal linn ccitt epson skew; do
		((i < N)) || break
		if [[ $s == cardinal ]]; then
			k=$((N - i < 4 ? N - i : 4))
			args+=("$CORPUS/$s.pdf" "1-$k")
			i=$((i + k))
		else
			args+=("$CORPUS/$s.pdf")
			i=$((i + 1))
		fi
	done
done
qpdf --empty --pages "${args[@]}" -- "$OUT"
echo "$OUT: $(pdfinfo "$OUT" | awk '/^Pages:/ {print $2}') pages"
