#!/usr/bin/env bash
# What the layout sidecar costs the OCR service: `handoff ocr` of this tree
# (text and layout sidecars, pages with text read by one
# `pdftotext -bbox-layout` pass) against a build of BASE (default: the
# commit before the layout sidecar, which ran plain `pdftotext`), in the
# same run, rounds interleaved, on documents with a text layer (the
# 120-page portal export, the printed C-CDA corpus, the table fixtures) and
# on the scans of the core set.
#
#   bench/ocr/sidecars.sh [ROUNDS] [BASE]     (default 5 rounds)
#
# Prints, per set and build, the smallest wall and CPU (user+sys) seconds
# over the rounds (the least disturbed by other load), and the ratios.
set -euo pipefail
ROUNDS=${1:-5}
BASE=${2:-8cbaf55^}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/bench/out/sidecars
rm -rf "$OUT"
mkdir -p "$OUT/base-src" "$OUT/o"
(cd "$ROOT/cmd/handoff" && go build -o "$OUT/new" .)
git -C "$ROOT" archive "$BASE" | tar -x -C "$OUT/base-src"
(cd "$OUT/base-src/cmd/handoff" && GOWORK="$OUT/base-src/go.work" go build -o "$OUT/base" .)

mapfile -t TEXT < <(ls "$ROOT/testdata/cases/portal_export/files/"*.pdf; find "$ROOT/testdata/ccda-printed" -name '*.pdf' | sort | head -20; ls "$ROOT/testdata/tables/"*.pdf)
SCANS=("$ROOT/testdata/corpus/ocr-peer/epson.pdf" "$ROOT/testdata/corpus/ocr-peer/cardinal.pdf" "$ROOT/testdata/corpus/ocr-peer/linn.pdf")

# run BIN FILES...: wall and CPU seconds of `handoff ocr` on each file in turn.
run() {
	local bin=$1 extra=()
	shift
	[[ $bin == "$OUT/new" ]] && extra=(--layout "$OUT/o/l.json")
	/usr/bin/time -f "%e %U %S" -o "$OUT/.t" bash -c '
		bin=$1; shift; n=$1; shift; extra=("${@:1:$n}"); shift "$n"
		for f in "$@"; do OMP_THREAD_LIMIT=1 "$bin" ocr -q --jobs 2 --sidecar "'"$OUT"'/o/t.txt" "${extra[@]}" "$f" "'"$OUT"'/o/out.pdf"; done' \
		_ "$bin" "${#extra[@]}" "${extra[@]}" "$@"
	awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$OUT/.t"
}

best() { sort -n -k"$2" "$1" | head -1 | cut -d' ' -f"$2"; }

echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $ROUNDS rounds, base $(git -C "$ROOT" rev-parse --short "$BASE")"
for set in text scans; do
	if [[ $set == text ]]; then files=("${TEXT[@]}"); else files=("${SCANS[@]}"); fi
	rm -f "$OUT/$set.base" "$OUT/$set.new"
	for _ in $(seq "$ROUNDS"); do
		run "$OUT/base" "${files[@]}" >>"$OUT/$set.base"
		run "$OUT/new" "${files[@]}" >>"$OUT/$set.new"
	done
	bw=$(best "$OUT/$set.base" 1) bc=$(best "$OUT/$set.base" 2)
	nw=$(best "$OUT/$set.new" 1) nc=$(best "$OUT/$set.new" 2)
	awk -v s="$set" -v n="${#files[@]}" -v bw="$bw" -v bc="$bc" -v nw="$nw" -v nc="$nc" 'BEGIN {
		printf "%-5s %2d files: base wall %6.2f s cpu %6.2f s | layout wall %6.2f s cpu %6.2f s | new/base wall %.3f cpu %.3f\n",
			s, n, bw, bc, nw, nc, nw / bw, nc / bc }'
done
