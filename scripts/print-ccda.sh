#!/usr/bin/env bash
# Prints a C-CDA document as a patient who prints it from a portal gets it:
# HL7's CDA stylesheet renders the XML as HTML, headless Chromium prints the
# HTML to PDF (US Letter, no header or footer).
#
#   scripts/print-ccda.sh IN.xml OUT.pdf [STYLESHEET]
#
# STYLESHEET defaults to testdata/corpus/ccda-peer/CDA.xsl. Needs xsltproc
# and chromium (Debian packages of the same names). Chromium runs offline
# with a fresh profile that is removed afterwards.
set -euo pipefail
IN=${1:?usage: print-ccda.sh IN.xml OUT.pdf [STYLESHEET]}
OUT=${2:?usage: print-ccda.sh IN.xml OUT.pdf [STYLESHEET]}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
XSL=${3:-$ROOT/testdata/corpus/ccda-peer/CDA.xsl}
for tool in xsltproc chromium; do
	command -v "$tool" >/dev/null || { echo "print-ccda.sh: $tool is not installed (scripts/packages.txt)" >&2; exit 1; }
done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# The stylesheet reads the document only; --nonet keeps it from fetching.
xsltproc --nonet --novalid "$XSL" "$IN" >"$WORK/r.html"
OUTABS=$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")
chromium --headless --no-sandbox --disable-gpu --no-pdf-header-footer \
	--disable-background-networking --disable-component-update --disable-sync \
	--no-first-run --disable-quic --user-data-dir="$WORK/profile" \
	--print-to-pdf="$OUTABS" "file://$WORK/r.html" >"$WORK/chromium.log" 2>&1 || {
	echo "print-ccda.sh: chromium failed:" >&2
	tail -5 "$WORK/chromium.log" >&2
	exit 1
}
[[ -s $OUTABS ]] || { echo "print-ccda.sh: chromium wrote no PDF" >&2; exit 1; }
