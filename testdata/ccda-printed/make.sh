#!/usr/bin/env bash
# Prints every C-CDA document of testdata/corpus/ccda-peer with
# scripts/print-ccda.sh into this folder, under the same relative path with
# .pdf for .xml, then recompresses each PDF losslessly with qpdf (object
# streams, Flate level 9: the same pages at half the size). Run from
# anywhere; takes a few minutes (one Chromium per document).
#
#   testdata/ccda-printed/make.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CORPUS=$ROOT/testdata/corpus/ccda-peer
cd "$CORPUS"
find . -type f -iname '*.xml' -print0 | sort -z | while IFS= read -r -d '' f; do
	rel=${f#./}
	out=$HERE/${rel%.*}.pdf
	mkdir -p "$(dirname "$out")"
	"$ROOT/scripts/print-ccda.sh" "$CORPUS/$rel" "$out.tmp"
	qpdf --object-streams=generate --recompress-flate --compression-level=9 "$out.tmp" "$out"
	rm -f "$out.tmp"
	echo "$rel -> ${out#"$ROOT"/}"
done
