#!/usr/bin/env bash
# Packager throughput, memory and CPU, in embedded mode, against a fair plain copy of the same
# objects measured in the same run; and the packager with its own ZIP framing and multipart uploader
# against the same bundler on archive/zip and minio-go.
#
#   bench/packager/run.sh [CORPUS_DIR]     (default /tmp/dicom-bulk, generated if absent)
#
# The embedded S3 endpoint of `handoff serve` (versitygw, posix backend) runs in a process of its
# own; a 100 MiB and a 1 GiB case (the DICOM corpus of bench/dicomgen, gone round again as another
# "CD" until big enough, plus the OCR corpus's PDFs) are uploaded to it. Then, RUNS times each
# (default 5), the steps in a rotating order:
#   copy/own, copy/minio   the plain copy: GET every object the bundle is made of, with the
#                          packager's read-ahead (GOMAXPROCS GETs at once, small objects read whole
#                          within 32 MiB, 4 objects in flight), and stream them, concatenated, into
#                          one multipart upload with the same part size and parallel parts as the
#                          packager, through package multipart (own) or minio-go's PutObject (minio);
#   zip=W upload=U         the packager's bundle of the case (layout, summary and checklist PDFs,
#                          streamed ZIP with per-entry SHA-256 and store-or-deflate, the ZIP's own
#                          SHA-256, multipart upload), exactly the code the service runs minus NATS,
#                          with the ZIP framed by package zipstream (own) or archive/zip, uploaded by
#                          package multipart (own) or minio-go (minio).
# Each runs as its own process under /usr/bin/time with the same 96 MiB Go memory limit: MB/s is
# source bytes / best wall time, peak RSS is the step's own (the S3 endpoint is another process),
# CPU seconds are the least over the runs for the step's process and for the S3 endpoint during
# the step (from /proc). Wall times on a shared machine move with its load: the ratios compare
# best times of the same run, and the CPU seconds do not depend on the load.
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

steps=("copy own" "copy minio" "package own own" "package archive-zip own" "package own minio" "package archive-zip minio")
name() { # the table's name of a step
	set -- $1
	if [ "$1" = copy ]; then echo "copy/$2"; else echo "zip=$2 upload=$3"; fi
}
args() {
	set -- $1
	if [ "$1" = copy ]; then echo "copy -upload $2"; else echo "package -zip $2 -upload $3"; fi
}

declare -A wall rss line cpu gcpu
ticks() { awk '{print $14 + $15}' "/proc/$gw/stat"; }
hz=$(getconf CLK_TCK)
measure() {
	local step=$1 c=$2 k t0 t1
	k="$(name "$step")|$c"
	t0=$(ticks)
	# shellcheck disable=SC2046
	/usr/bin/time -f '%e %M %U %S' -o "$out/time.txt" "$bin" $(args "$step") -endpoint "$ep" -case "$out/case$c.json" >"$out/step.txt" 2>"$out/step.err" ||
		{ cat "$out/step.err" >&2; exit 1; }
	t1=$(ticks)
	read -r s m u y <"$out/time.txt"
	local c_self c_s3
	c_self=$(awk "BEGIN{print $u + $y}") c_s3=$(awk "BEGIN{print ($t1 - $t0) / $hz}")
	if [ -z "${wall[$k]:-}" ] || awk "BEGIN{exit !($s < ${wall[$k]})}"; then
		wall[$k]=$s line[$k]=$(cat "$out/step.txt")
	fi
	if [ -z "${rss[$k]:-}" ] || [ "$m" -gt "${rss[$k]}" ]; then rss[$k]=$m; fi
	if [ -z "${cpu[$k]:-}" ] || awk "BEGIN{exit !($c_self < ${cpu[$k]})}"; then cpu[$k]=$c_self; fi
	if [ -z "${gcpu[$k]:-}" ] || awk "BEGIN{exit !($c_s3 < ${gcpu[$k]})}"; then gcpu[$k]=$c_s3; fi
}
n=${#steps[@]}
for r in $(seq "$runs"); do
	for c in 100 1g; do
		for i in $(seq 0 $((n - 1))); do measure "${steps[$(((i + r) % n))]}" $c; done
	done
done

bytes() { sed -n 's/.*\(in\|bytes\)=\([0-9]*\).*/\2/p' <<<"${line[$1]}"; }
echo "embedded S3 (versitygw posix) on $(nproc) CPUs, best of $runs runs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-32s %9s %7s %7s %9s %8s %6s %8s %8s\n" step source_MB wall_s MB/s vs_copy vs_own RSS_MiB cpu_s s3_cpu_s
for c in 100 1g; do
	for step in "${steps[@]}"; do
		k="$(name "$step")|$c"
		set -- $step
		peer="copy/own|$c"
		[ "$1" = package ] && peer="copy/${3}|$c"
		own="zip=own upload=own|$c"
		awk -v n="$(name "$step") ($c)" -v b="$(bytes "$k")" -v t="${wall[$k]}" -v p="${wall[$peer]}" -v o="${wall[$own]}" \
			-v m="${rss[$k]}" -v u="${cpu[$k]}" -v g="${gcpu[$k]}" -v pk="$1" \
			'BEGIN{vc = p/t; vo = o/t; if (pk == "copy") vo = 0
			printf "%-32s %9.1f %7.2f %7.1f %8.2fx %7s %8.1f %8.2f %8.2f\n", n, b/1e6, t, b/1e6/t, vc, (vo ? sprintf("%.2fx", vo) : "-"), m/1024, u, g}'
	done
	echo "  ${line[zip=own upload=own|$c]}"
	echo "  ${line[zip=archive-zip upload=minio|$c]}"
done
echo "vs_copy: best wall time of the copy with the same uploader (for copy/minio: of copy/own) / the step's; vs_own: of the own/own packager / the step's"
