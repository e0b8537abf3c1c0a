#!/usr/bin/env bash
# Packager throughput and memory, in embedded mode, against a plain S3 copy of the same objects
# measured in the same run.
#
#   bench/packager/run.sh [CORPUS_DIR]     (default /tmp/dicom-bulk, generated if absent)
#
# The embedded S3 endpoint of `handoff serve` (versitygw, posix backend) runs in a process of its
# own; a 100 MiB and a 1 GiB case (real DICOM from testdata/corpus, gone round again as another
# "CD" until big enough, plus the OCR corpus's PDFs) are uploaded to it. Then, RUNS times each
# (default 3), alternating:
#   copy     GET every object the bundle is made of and PUT it into another bucket, streaming
#            (minio-go, one object at a time): the plain S3 copy;
#   package  the packager's bundle of the case (layout, summary and checklist PDFs, streamed ZIP
#            with per-entry SHA-256/CRC-32 and store-or-deflate, multipart upload), exactly the
#            code the service runs, minus NATS.
# Each runs as its own process under /usr/bin/time: MB/s is source bytes / best wall time, and
# peak RSS is the packager process's own (the S3 endpoint is another process). CPU seconds are
# given for the step's process and for the S3 endpoint during the step (from /proc), since wall
# times on a shared machine move with its load.
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

# best STEP CASE: best wall seconds, peak RSS KiB, and the step's own line, over $runs runs.
declare -A wall rss line cpu gcpu
ticks() { awk '{print $14 + $15}' "/proc/$gw/stat"; }
hz=$(getconf CLK_TCK)
measure() {
	local step=$1 c=$2 k="$1-$2" t0 t1
	t0=$(ticks)
	/usr/bin/time -f '%e %M %U %S' -o "$out/time.txt" "$bin" "$step" -endpoint "$ep" -case "$out/case$c.json" >"$out/step.txt" 2>"$out/step.err" ||
		{ cat "$out/step.err" >&2; exit 1; }
	t1=$(ticks)
	read -r s m u y <"$out/time.txt"
	if [ -z "${wall[$k]:-}" ] || awk "BEGIN{exit !($s < ${wall[$k]})}"; then
		wall[$k]=$s line[$k]=$(cat "$out/step.txt") cpu[$k]=$(awk "BEGIN{print $u + $y}") gcpu[$k]=$(awk "BEGIN{print ($t1 - $t0) / $hz}")
	fi
	if [ -z "${rss[$k]:-}" ] || [ "$m" -gt "${rss[$k]}" ]; then rss[$k]=$m; fi
}
for _ in $(seq "$runs"); do
	for c in 100 1g; do measure copy $c; measure package $c; done
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
awk -v c="${wall[copy-1g]}" -v p="${wall[package-1g]}" -v m1="${rss[package-100]}" -v m2="${rss[package-1g]}" 'BEGIN{
	printf "packager vs plain S3 copy (1 GiB): %.2fx MB/s (target 0.8x); packager peak RSS %.1f MiB (100 MiB case) -> %.1f MiB (1 GiB case) (target < 128 MiB, flat)\n", c/p, m1/1024, m2/1024}'
