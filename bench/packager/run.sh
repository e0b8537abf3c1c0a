#!/usr/bin/env bash
# Packager throughput, memory and CPU, in embedded mode, against a fair plain copy of the same
# objects measured in the same run.
#
#   bench/packager/run.sh [CORPUS_DIR]     (default /tmp/dicom-bulk, generated if absent)
#
# The embedded S3 endpoint of `handoff serve` (versitygw, posix backend) runs in a process of its
# own; a 100 MiB and a 1 GiB case (the DICOM corpus of bench/dicomgen, gone round again as another
# "CD" until big enough, plus the OCR corpus's PDFs) are uploaded to it. Then, RUNS times each
# (default 5), alternating:
#   copy     the plain copy: GET every object the bundle is made of with the packager's read-ahead
#            (GOMAXPROCS GETs at once, small objects read whole within 32 MiB, 4 objects in flight)
#            and stream them, concatenated, into one object with minio-go's streaming PutObject,
#            with the packager's part size and part buffers (8 MiB, 3);
#   package  the packager's bundle of the case (layout, summary and checklist PDFs, ZIP streamed by
#            archive/zip with per-entry SHA-256 and store-or-deflate, the ZIP's own SHA-256, the
#            same streaming upload), exactly the code the service runs, minus NATS.
# Each runs as its own process under /usr/bin/time with the same 96 MiB Go memory limit: MB/s is
# source bytes / best wall time, peak RSS is the step's own (the S3 endpoint is another process),
# CPU seconds are the least over the runs for the step's process and for the S3 endpoint during
# the step (from /proc). Wall times on a shared machine move with its load: the ratio compares
# best times of the same run, and the CPU seconds hardly depend on the load.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
corpus=${1:-/tmp/dicom-bulk}
runs=${RUNS:-5}
out=$root/bench/out/packager
rm -rf "$out" && mkdir -p "$out"

if [ ! -d "$corpus" ] || [ "$(find "$corpus" -type f | wc -l)" -lt 2000 ]; then
	echo "generating the 2,000-instance corpus in $corpus" >&2
	(cd "$root" && go run ./bench/dicomgen -out "$corpus") >&2
fi
(cd "$root/services/packager" && go build -o "$out/packager-bench" ./cmd/packager-bench)
bin=$out/packager-bench

"$bin" gateway -dir "$out/s3" -addr 127.0.0.1:0 -endpoint-file "$out/endpoint" 2>"$out/gateway.log" &
gw=$!
trap 'kill $gw 2>/dev/null; wait $gw 2>/dev/null; rm -rf "$out/s3"' EXIT
for _ in $(seq 100); do [ -s "$out/endpoint" ] && break; sleep 0.1; done
ep=$(cat "$out/endpoint")

pdfs=$root/testdata/corpus/ocr-peer
"$bin" seed -endpoint "$ep" -corpus "$corpus" -pdfs "$pdfs" -max-bytes $((100 << 20)) -case "$out/case100.json"
"$bin" seed -endpoint "$ep" -corpus "$corpus" -pdfs "$pdfs" -max-bytes $((1 << 30)) -case "$out/case1g.json"

declare -A wall rss line cpu gcpu
ticks() { awk '{print $14 + $15}' "/proc/$gw/stat"; }
hz=$(getconf CLK_TCK)
measure() {
	local step=$1 c=$2 k="$1-$2" t0 t1 c_self c_s3
	t0=$(ticks)
	/usr/bin/time -f '%e %M %U %S' -o "$out/time.txt" "$bin" "$step" -endpoint "$ep" -case "$out/case$c.json" >"$out/step.txt" 2>"$out/step.err" ||
		{ cat "$out/step.err" >&2; exit 1; }
	t1=$(ticks)
	read -r s m u y <"$out/time.txt"
	c_self=$(awk "BEGIN{print $u + $y}") c_s3=$(awk "BEGIN{print ($t1 - $t0) / $hz}")
	if [ -z "${wall[$k]:-}" ] || awk "BEGIN{exit !($s < ${wall[$k]})}"; then
		wall[$k]=$s line[$k]=$(cat "$out/step.txt")
	fi
	if [ -z "${rss[$k]:-}" ] || [ "$m" -gt "${rss[$k]}" ]; then rss[$k]=$m; fi
	if [ -z "${cpu[$k]:-}" ] || awk "BEGIN{exit !($c_self < ${cpu[$k]})}"; then cpu[$k]=$c_self; fi
	if [ -z "${gcpu[$k]:-}" ] || awk "BEGIN{exit !($c_s3 < ${gcpu[$k]})}"; then gcpu[$k]=$c_s3; fi
}
for r in $(seq "$runs"); do
	for c in 100 1g; do
		if [ $((r % 2)) = 1 ]; then measure copy $c; measure package $c; else measure package $c; measure copy $c; fi
	done
done

bytes() { sed -n 's/.*\(in\|bytes\)=\([0-9]*\).*/\2/p' <<<"${line[$1]}"; }
echo "embedded S3 (versitygw posix) on $(nproc) CPUs, best of $runs runs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-16s %10s %7s %7s %12s %9s %13s\n" step source_MB wall_s MB/s peak_RSS_MiB cpu_s s3_cpu_s
for c in 100 1g; do
	for step in copy package; do
		k=$step-$c
		awk -v n="$step ($c)" -v b="$(bytes "$k")" -v t="${wall[$k]}" -v m="${rss[$k]}" -v u="${cpu[$k]}" -v g="${gcpu[$k]}" \
			'BEGIN{printf "%-16s %10.1f %7.2f %7.1f %12.1f %9.2f %13.2f\n", n, b/1e6, t, b/1e6/t, m/1024, u, g}'
	done
	echo "  ${line[package-$c]}"
done
awk -v c1="${wall[copy-100]}" -v p1="${wall[package-100]}" -v c="${wall[copy-1g]}" -v p="${wall[package-1g]}" -v m1="${rss[package-100]}" -v m2="${rss[package-1g]}" 'BEGIN{
	printf "packager vs plain copy: %.2fx MB/s (100 MiB case), %.2fx (1 GiB case) (target 0.8x); packager peak RSS %.1f MiB (100 MiB case) -> %.1f MiB (1 GiB case) (target < 128 MiB, flat)\n", c1/p1, c/p, m1/1024, m2/1024}'
