#!/usr/bin/env bash
# OCR benchmark: `handoff ocr` against the OCRmyPDF yardstick and bare
# Tesseract, in the same run, on the ocr-peer corpus.
#
#   bench/ocr/run.sh [JOBS]        (default JOBS=2)
#
# For each tool it prints wall seconds, CPU seconds (user+sys), pages/s and
# the peak RSS of the largest process (/usr/bin/time -v), then the ratios.
# Outputs go to bench/out/ocr/ (ignored by git).
set -euo pipefail

JOBS=${1:-2}
LANGS=eng
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CORPUS=$(cd "$ROOT/testdata/corpus/ocr-peer" && pwd)
OUT=$ROOT/bench/out/ocr
rm -rf "$OUT"
mkdir -p "$OUT/handoff" "$OUT/ocrmypdf" "$OUT/bare"

# Files both tools accept (OCRmyPDF refuses encrypted PDFs).
SETS_core="epson.pdf cardinal.pdf linn.pdf"
SETS_all="epson.pdf cardinal.pdf linn.pdf ccitt.pdf skew.pdf rotated_skew.pdf c02-22.pdf francais.pdf multipage.pdf"

(cd "$ROOT/cmd/handoff" && go build -o "$OUT/handoff-bin" .)

pages() { pdfinfo "$1" | awk '/^Pages:/ {print $2}'; }

# treepeak PID: the peak, sampled every 50 ms, of the summed RSS (kB) of
# the process group PID leads (OCRmyPDF runs Tesseract in child
# processes; /usr/bin/time -v only reports the largest single process).
treepeak() {
	local pid=$1 peak=0 sum
	while kill -0 "$pid" 2>/dev/null; do
		sum=$(ps -o rss= -g "$pid" 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
		((sum > peak)) && peak=$sum
		sleep 0.05
	done
	echo "$peak"
}

# timed LABEL CMD...: runs CMD under /usr/bin/time -v, appends
# "wall user sys maxrss_kb treepeak_kb" to $OUT/LABEL.times.
timed() {
	local label=$1
	shift
	setsid /usr/bin/time -v -o "$OUT/.time" "$@" >/dev/null 2>"$OUT/.stderr" &
	local pid=$!
	local tree
	tree=$(treepeak "$pid")
	wait "$pid" || {
		echo "FAILED: $*" >&2
		cat "$OUT/.stderr" >&2
		return 1
	}
	awk -F': ' -v t="$tree" '
		/Elapsed \(wall clock\)/ { n = split($2, a, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + a[i] }
		/User time/ { u = $2 }
		/System time/ { s = $2 }
		/Maximum resident set size/ { m = $2 }
		END { printf "%.2f %.2f %.2f %d %d\n", w, u, s, m, t }' "$OUT/.time" >>"$OUT/$label.times"
}

summary() { # LABEL PAGES -> "wall cpu pages/s peak_mb tree_peak_mb"
	awk -v p="$2" '{ w += $1; c += $2 + $3; if ($4 > m) m = $4; if ($5 > t) t = $5 }
		END { printf "%.2f %.2f %.3f %.0f %.0f\n", w, c, p / w, m / 1024, t / 1024 }' "$OUT/$1.times"
}

run_set() {
	local name=$1 files=$2 total=0
	rm -f "$OUT"/*.times
	for f in $files; do
		total=$((total + $(pages "$CORPUS/$f")))
	done
	for f in $files; do
		timed "handoff-$name" env OMP_THREAD_LIMIT=1 MALLOC_ARENA_MAX=2 "$OUT/handoff-bin" ocr -q --jobs "$JOBS" --lang "$LANGS" \
			--sidecar "$OUT/handoff/${f%.pdf}.txt" "$CORPUS/$f" "$OUT/handoff/$f"
		timed "ocrmypdf-$name" ocrmypdf -q --jobs "$JOBS" --rotate-pages --deskew --skip-text --output-type pdf \
			-l "$LANGS" "$CORPUS/$f" "$OUT/ocrmypdf/$f"
	done
	read -r hw hc hp hm ht <<<"$(summary "handoff-$name" "$total")"
	read -r ow oc op om ot <<<"$(summary "ocrmypdf-$name" "$total")"
	printf '%-9s %-9s %6s %8s %8s %8s %12s %12s\n' set tool pages wall_s cpu_s pages/s maxrss_MB tree_peak_MB
	printf '%-9s %-9s %6d %8.2f %8.2f %8.3f %12.0f %12.0f\n' "$name" handoff "$total" "$hw" "$hc" "$hp" "$hm" "$ht"
	printf '%-9s %-9s %6d %8.2f %8.2f %8.3f %12.0f %12.0f\n' "$name" ocrmypdf "$total" "$ow" "$oc" "$op" "$om" "$ot"
	awk -v a="$hp" -v b="$op" -v c="$ht" -v d="$ot" 'BEGIN { printf "ratio %s: handoff/ocrmypdf pages/s = %.2fx, peak memory (process tree) = %.2fx\n", "'"$name"'", a / b, c / d }'
	eval "HANDOFF_CPU_$name=$hc"
}

# Bare Tesseract, one page at a time, single-threaded, on the same 300-dpi
# gray page images: the CPU floor of "render + recognise".
bare_cpu() {
	local files=$1
	rm -f "$OUT/bare.times"
	for f in $files; do
		local n
		n=$(pages "$CORPUS/$f")
		for p in $(seq 1 "$n"); do
			timed bare pdftoppm -r 300 -gray -singlefile -f "$p" -l "$p" "$CORPUS/$f" "$OUT/bare/p"
			timed bare env OMP_THREAD_LIMIT=1 tesseract "$OUT/bare/p.pgm" "$OUT/bare/out" -l "$LANGS" txt
		done
	done
	awk '{ c += $2 + $3 } END { printf "%.2f\n", c }' "$OUT/bare.times"
}

# cpu_rounds FILES ROUNDS: CPU of `handoff ocr --jobs 1` and of bare
# Tesseract on the same pages, interleaved, ROUNDS times; prints the
# smallest of each (the least disturbed by other load on the machine).
cpu_rounds() {
	local files=$1 rounds=$2 best_h="" best_b=""
	for r in $(seq 1 "$rounds"); do
		rm -f "$OUT/cpuh.times"
		for f in $files; do
			timed cpuh env OMP_THREAD_LIMIT=1 MALLOC_ARENA_MAX=2 "$OUT/handoff-bin" ocr -q --jobs 1 --lang "$LANGS" "$CORPUS/$f" "$OUT/handoff/cpu-$f"
		done
		h=$(awk '{ c += $2 + $3 } END { printf "%.2f", c }' "$OUT/cpuh.times")
		b=$(bare_cpu "$files")
		best_h=$(awk -v a="$h" -v b="${best_h:-1e9}" 'BEGIN { print (a < b) ? a : b }')
		best_b=$(awk -v a="$b" -v b="${best_b:-1e9}" 'BEGIN { print (a < b) ? a : b }')
	done
	awk -v o="$best_h" -v b="$best_b" -v r="$rounds" 'BEGIN { printf "cpu core, best of %d, --jobs 1: handoff %.2f s, bare tesseract %.2f s, handoff/bare = %.2f\n", r, o, b, o / b }'
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), jobs=$JOBS, lang=$LANGS"
echo "# tesseract $(tesseract --version 2>&1 | head -1 | cut -d' ' -f2), $(ocrmypdf --version 2>&1 | head -1 | sed 's/^/ocrmypdf /')"
run_set core "$SETS_core"
run_set all "$SETS_all"
for name in core all; do
	eval "files=\$SETS_$name"
	bare=$(bare_cpu "$files")
	eval "ours=\$HANDOFF_CPU_$name"
	awk -v o="$ours" -v b="$bare" -v n="$name" 'BEGIN { printf "cpu %s: handoff %.2f s, bare tesseract %.2f s, handoff/bare = %.2f\n", n, o, b, o / b }'
done
cpu_rounds "$SETS_core" 3
