#!/usr/bin/env bash
# Header-only DICOM indexing throughput: handoff vs dcmdump vs pydicom, in one run.
#
#   bench/dicom/run.sh [CORPUS_DIR]     (default /tmp/dicom-bulk, generated if absent)
#
# Needs Go, Debian's dcmtk, python3-pydicom and time (/usr/bin/time). Each tool runs RUNS
# times (default 5) on a warm page cache; the best wall time counts, and CPU time (user+sys)
# is reported too, since it does not depend on what else the machine is running.
# "handoff" is services/dicom/cmd/dicom-index (the indexer without the rest of the
# pipeline linked in); `handoff dicom index` runs the same code in the full binary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
corpus=${1:-/tmp/dicom-bulk}
runs=${RUNS:-5}
out=$root/bench/out
mkdir -p "$out"

if [ ! -d "$corpus" ] || [ "$(find "$corpus" -type f | wc -l)" -lt 2000 ]; then
	echo "generating the 2,000-instance corpus in $corpus" >&2
	(cd "$root" && go run ./bench/dicomgen -out "$corpus") >&2
fi
(cd "$root/services/dicom" && go build -o "$out/dicom-index" ./cmd/dicom-index)
(cd "$root/cmd/handoff" && go build -o "$out/handoff" .)

files=$(find "$corpus" -type f | wc -l)
bytes=$(find "$corpus" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
find "$corpus" -type f -exec cat {} + >/dev/null # warm the page cache for every tool

# best_of CMD...: best wall seconds, its CPU seconds and peak RSS (KiB) over $runs runs.
best_of() {
	local best="" cpu="" rss=""
	for _ in $(seq "$runs"); do
		/usr/bin/time -f '%e %U %S %M' -o "$out/time.txt" "$@" >/dev/null 2>"$out/stderr.txt"
		read -r s u y m <"$out/time.txt"
		if [ -z "$best" ] || awk "BEGIN{exit !($s < $best)}"; then
			best=$s cpu=$(awk "BEGIN{print $u + $y}") rss=$m
			cp "$out/stderr.txt" "$out/best-stderr.txt"
		fi
	done
	echo "$best $cpu $rss"
}

read -r t_ours c_ours m_ours < <(best_of "$out/dicom-index" --json --stats "$corpus")
stats=$(cat "$out/best-stderr.txt")
read -r t_full c_full m_full < <(best_of "$out/handoff" dicom index --json "$corpus")
read -r t_dcm c_dcm m_dcm < <(best_of dcmdump -q +sd +r +sb 7fe0,0010 "$corpus")
read -r t_py c_py m_py < <(best_of /usr/bin/python3 "$here/py_index.py" "$corpus")

per_file=$(sed -n 's/.*bytes_read_per_file=\([0-9]*\).*/\1/p' <<<"$stats")
ahead=$(sed -n 's/.*max_read_ahead=\([0-9]*\).*/\1/p' <<<"$stats")
failed=$(sed -n 's/.* failed=\([0-9]*\).*/\1/p' <<<"$stats")

row() { awk -v n="$1" -v t="$2" -v c="$3" -v m="$4" -v f="$files" -v b="$bytes" -v bt="$t_ours" -v bc="$c_ours" \
	'BEGIN{printf "%-36s %7.3f %9.0f %8.0f %7.2f %8.1f %8.1fx %8.1fx\n", n, t, f/t, b/1e6/t, c, m/1024, t/bt, c/bc}'; }
echo "corpus: $corpus ($files files, $(awk -v b="$bytes" 'BEGIN{printf "%.0f", b/1e6}') MB), best of $runs runs, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-36s %7s %9s %8s %7s %8s %9s %9s\n" tool wall_s files/s MB/s cpu_s RSS_MiB wall_x cpu_x
row "handoff (dicom-index --json)" "$t_ours" "$c_ours" "$m_ours"
row "handoff dicom index --json" "$t_full" "$c_full" "$m_full"
row "dcmdump -q +sd +r +sb 7fe0,0010" "$t_dcm" "$c_dcm" "$m_dcm"
row "pydicom dcmread(stop_before_pixels)" "$t_py" "$c_py" "$m_py"
awk -v o="$t_ours" -v d="$t_dcm" -v p="$t_py" -v co="$c_ours" -v cd="$c_dcm" -v cp="$c_py" 'BEGIN{
	printf "handoff vs dcmdump: %.1fx wall, %.1fx CPU (target 2x); vs pydicom: %.1fx wall, %.1fx CPU (target 6x)\n", d/o, cd/co, p/o, cp/co}'
echo "handoff: $failed failed; bytes read per instance $per_file (mean); most read past where a header's reading stopped: $ahead bytes (limit 65536); peak RSS $(awk -v m="$m_ours" 'BEGIN{printf "%.1f", m/1024}') MiB (limit 64)"
