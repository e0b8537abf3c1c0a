#!/usr/bin/env bash
# C-CDA reader: documents read per second by platform/ccda against the
# Python xml.etree reading of the same fields (the tests' reference.py),
# alternated in the same run over the corpus held in memory; then, for
# scale, encoding/xml's tokenizer alone, and the time to read one ~10 MB
# C-CDA. Run from anywhere; needs go and python3.
#   bench/ccda/run.sh [-rounds 3] [-seconds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3 seconds=3
while [ $# -gt 0 ]; do
	case "$1" in
	-rounds) rounds="$2"; shift 2 ;;
	-seconds) seconds="$2"; shift 2 ;;
	*) echo "usage: $0 [-rounds N] [-seconds S]" >&2; exit 2 ;;
	esac
done
corpus=../testdata/corpus/ccda-peer
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/ccda-bench" ./ccda
echo "C-CDA corpus: $(find "$corpus" -iname '*.xml' | wc -l) documents; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
gos=() pys=() gcs=() pcs=()
for r in $(seq "$rounds"); do
	g="$("$tmp/ccda-bench" -corpus "$corpus" -seconds "$seconds")"
	p="$(python3 ccda/python_rate.py "$corpus" "$seconds")"
	echo "round $r: $g"
	echo "round $r: $p"
	gos+=("$(sed -E 's/.*: ([0-9.]+) docs\/s.*/\1/' <<<"$g")")
	pys+=("$(sed -E 's/.*: ([0-9.]+) docs\/s.*/\1/' <<<"$p")")
	gcs+=("$(sed -E 's/.*: ([0-9.]+) docs\/cpu-s.*/\1/' <<<"$g")")
	pcs+=("$(sed -E 's/.*: ([0-9.]+) docs\/cpu-s.*/\1/' <<<"$p")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
gm="$(median "${gos[@]}")" pm="$(median "${pys[@]}")"
gc="$(median "${gcs[@]}")" pc="$(median "${pcs[@]}")"
printf 'median of %d rounds, wall: go %.1f docs/s, python %.1f docs/s, ratio %.1fx (target >= 5x)\n' \
	"$rounds" "$gm" "$pm" "$(awk -v g="$gm" -v p="$pm" 'BEGIN {print g / p}')"
printf 'median of %d rounds, cpu:  go %.1f docs/cpu-s, python %.1f docs/cpu-s, ratio %.1fx\n' \
	"$rounds" "$gc" "$pc" "$(awk -v g="$gc" -v p="$pc" 'BEGIN {print g / p}')"
"$tmp/ccda-bench" -corpus "$corpus" -seconds "$seconds" -stdxml
"$tmp/ccda-bench" -corpus "$corpus" -big "$tmp/big.xml"
python3 ccda/python_rate.py --big "$tmp/big.xml"
