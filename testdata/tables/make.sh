#!/usr/bin/env bash
# Makes the table fixtures of this folder: the sources (make_fixtures.py
# writes flat OpenDocument files), their PDFs (LibreOffice, headless), and
# a scanned copy of the lab report (pdftoppm at 200 dpi, tilted and
# speckled by make_fixtures.py scan). Needs python3, libreoffice-writer,
# libreoffice-calc and poppler-utils.
#
#   testdata/tables/make.sh
set -euo pipefail
cd "$(dirname "$0")"
python3 make_fixtures.py .
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
soffice -env:UserInstallation="file://$WORK/profile" --headless --convert-to pdf --outdir . \
	meds-word.fodt meds-sheet.fods pharmacy.fodt lab.fodt >/dev/null
pdftoppm -r 200 -gray -singlefile lab.pdf "$WORK/lab"
python3 make_fixtures.py scan "$WORK/lab.pgm" lab-scan.png
ls -l *.pdf *.png
