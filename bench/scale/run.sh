#!/usr/bin/env bash
# Scale benchmark: pages/s with 1, 2 and 3 OCR worker processes, DICOM
# instances/s with 1 and 2 DICOM worker processes, and the CPU-seconds each
# unit of work costs (page, instance, uploaded file, bundle), against one
# nats-server and one versitygw, intake and the packager in one process.
# Figures and how to size a deployment from them: bench/RESULTS.md
# ("Scaling out") and docs/sizing.md.
#
#   bench/scale/run.sh [-pages 18] [-instances 1500] [-ocr 1,2,3] [-dicom 1,2] [-keep]
#
# Builds bin/ first (make build). Needs nats-server and versitygw (make
# setup-test puts them in .tools/bin), qpdf and Tesseract.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/.tools/bin:$PATH"
make -s build >/dev/null
go run ./bench/scale "$@"
