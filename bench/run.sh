#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run every pagescan benchmark in one go and write the results:
#   OUT/latest.csv          raw rows (one per run and metric), machine in # lines
#   OUT/latest-summary.csv  median, min, max per metric
#   OUT/latest.md           the Markdown report (targets first)
# See bench/README.md. Usually run through `cmake --build BUILD --target bench`.
set -euo pipefail

usage() {
	cat <<EOF
usage: $0 [--smoke] [--pagescan PATH] [--bin DIR] [--out DIR] [--self-duration DUR] [--only LIST] [--no-nice]
  --smoke            tiny sizes and one or two rounds (CI: checks that everything runs)
  --pagescan PATH    the pagescan binary (default BUILD/src/pagescan)
  --bin DIR          where the bench_* programs are (default BUILD/bench)
  --out DIR          results directory (default bench/results)
  --self-duration D  length of the pagescan CPU/RSS watches, self and pattern (default 60s, smoke 2s)
  --only LIST        comma-separated subset of: dump,cost,self,pattern,harvest,attach,lock,workload,thp,forkrun
  --no-nice          do not raise the priority of the run (nice -20 when root)
EOF
	exit 64
}

src_dir=$(cd "$(dirname "$0")" && pwd)
build_dir=${BUILD_DIR:-$src_dir/../build}
smoke=0
pagescan=""
bin=""
out=""
self_duration=""
only="dump,cost,self,pattern,harvest,attach,lock,workload,thp,forkrun"
nice_it=1
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) smoke=1 ;;
	--pagescan) pagescan=$2; shift ;;
	--bin) bin=$2; shift ;;
	--out) out=$2; shift ;;
	--self-duration) self_duration=$2; shift ;;
	--only) only=$2; shift ;;
	--no-nice) nice_it=0 ;;
	-h|--help) usage ;;
	*) echo "unknown argument: $1" >&2; usage ;;
	esac
	shift
done
pagescan=${pagescan:-$build_dir/src/pagescan}
bin=${bin:-$build_dir/bench}
out=${out:-$src_dir/results}
for p in "$pagescan" "$bin/bench_dump" "$bin/bench_cost" "$bin/bench_self" "$bin/bench_attach" "$bin/bench_lock" "$bin/bench_workload" "$bin/bench_thp" "$bin/bench_forkrun" "$bin/bench_report"; do
	[ -x "$p" ] || { echo "run.sh: $p is missing; build first (cmake --build BUILD)" >&2; exit 1; }
done
mkdir -p "$out"
want() { [[ ",$only," == *",$1,"* ]]; }
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

# ---- sizes -------------------------------------------------------------------
if [ $smoke = 1 ]; then
	mode=smoke
	dump_cases=("sparse_64M 64M 16 64" "dense_16M 16M 1 1")
	dump_rounds=2
	cost_workloads=(rand seq hot memcpy)
	cost_size=16M cost_seconds=0.2 cost_rounds=1
	cost_modes=none,watch:100ms,watchr:100ms,inproc:100ms,mprot:100ms
	self_size=64M self_rounds=1
	self_duration=${self_duration:-2s}
	pattern_kinds=(random) pattern_size=64M
	harvest_sizes=(16M) harvest_intervals=2
	attach_size=16M attach_rounds=3
	lock_size=64M lock_rounds=1 lock_harvests=2
	workload_procs=(1 3) workload_size=4M workload_pairs=3 workload_idle_procs=10 workload_idle_duration=3s workload_interval=300ms
	thp_sizes=(64M) thp_seconds=2 thp_pairs=2 thp_rounds=1
	forkrun_procs=2 forkrun_sizes=(16M) forkrun_churn_size=4M forkrun_seconds=0.3 forkrun_rounds=1
	forkrun_modes=none,run:100ms,inproc:100ms forkrun_signal_modes=none,run:100ms,inproc:100ms
else
	mode=full
	dump_cases=("sparse_4G 4G 16 64" "dense_1G 1G 1 1")
	dump_rounds=15
	cost_workloads=(rand seq hot memcpy)
	cost_size=1G cost_seconds=3 cost_rounds=7
	cost_modes=none,watch:1s,watch:100ms,watchr:100ms,inproc:1s,inproc:100ms,mprot:1s,mprot:100ms
	self_size=4G self_rounds=3
	self_duration=${self_duration:-60s}
	pattern_kinds=(random seq hot) pattern_size=4G
	harvest_sizes=(1G 4G 16G) harvest_intervals=5
	attach_size=1G attach_rounds=20
	lock_size=8G lock_rounds=3 lock_harvests=5
	workload_procs=(1 10 100) workload_size=16M workload_pairs=15 workload_idle_procs=100 workload_idle_duration=30s workload_interval=1s
	thp_sizes=(4G 16G) thp_seconds=15 thp_pairs=10 thp_rounds=3
	forkrun_procs=4 forkrun_sizes=(16M 64M) forkrun_churn_size=4M forkrun_seconds=3 forkrun_rounds=5
	forkrun_modes=none,run:1s,runoff:1s,runoff:100ms,inproc:1s,inproc:100ms forkrun_signal_modes=none,run:1s,inproc:1s
fi

# Shield the measurements from other work on the machine (everything we
# start inherits it, so pagescan, its targets and the references alike).
if [ $nice_it = 1 ] && [ $smoke = 0 ]; then
	renice -n -20 -p $$ >/dev/null 2>&1 || log "cannot raise the priority (not root): results will be noisier under load"
fi

raw=$out/latest.csv
tmp=$out/.latest.csv.tmp
t_start=$(date +%s)
{
	echo "# date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "# mode: $mode"
	echo "# pagescan: $("$pagescan" --version 2>/dev/null | head -1)"
	echo "# kernel: $(uname -r)"
	echo "# cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
	echo "# cores: $(nproc)"
	echo "# memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "# load: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# nice: $(ps -o ni= -p $$ | tr -d ' ')"
	echo "bench,case,metric,unit,round,value"
} >"$tmp"
load1=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }'; then
	log "warning: load average $load1: other work on this machine makes the numbers noisier"
fi

# The mprotect tracker splits one VMA per written page; the default
# vm.max_map_count (65530) is far below a 1 GiB workload's 262144 pages, and
# running out makes it fall back to 2 MiB granularity. Raise it for the run.
old_mmc=$(cat /proc/sys/vm/max_map_count)
restore() { [ -w /proc/sys/vm/max_map_count ] && echo "$old_mmc" >/proc/sys/vm/max_map_count 2>/dev/null || true; }
trap restore EXIT
if [ $smoke = 0 ] && want cost && [ "$old_mmc" -lt 600000 ]; then
	if echo 600000 2>/dev/null >/proc/sys/vm/max_map_count; then
		log "vm.max_map_count raised to 600000 for the run (restored at exit)"
	else
		log "cannot raise vm.max_map_count (not root): the mprotect tracker may fall back to 2 MiB pages"
	fi
fi

common=(--bin "$bin" --pagescan "$pagescan")

if want dump; then
	for c in "${dump_cases[@]}"; do
		read -r name size run stride <<<"$c"
		log "dump: $name ($dump_rounds rounds)"
		"$bin/bench_dump" "${common[@]}" --case "$name" --size "$size" --run "$run" --stride "$stride" \
			--rounds "$dump_rounds" >>"$tmp"
	done
fi

if want cost; then
	for w in "${cost_workloads[@]}"; do
		log "cost: $w ($cost_rounds rounds of $cost_modes, ${cost_seconds}s each)"
		"$bin/bench_cost" "${common[@]}" --workload "$w" --size "$cost_size" --seconds "$cost_seconds" \
			--rounds "$cost_rounds" --modes "$cost_modes" >>"$tmp"
	done
fi

if want self; then
	for r in $(seq 1 "$self_rounds"); do
		log "self: watch $self_size, 10 % written per interval, $self_duration (run $r of $self_rounds)"
		"$bin/bench_self" "${common[@]}" --case "watch_${self_size}_10pct_${self_duration}" --size "$self_size" \
			--permille 100 --run 16 --rotate --threads 2 --interval 1s --duration "$self_duration" \
			--round "$r" >>"$tmp"
	done
fi

# Write patterns the target runs by itself, not in step with the ticks, at
# 72,000 pages/s (random: ~7 % of 4 GiB a second, scattered).
if want pattern; then
	for k in "${pattern_kinds[@]}"; do
		for iv in 1s 100ms; do
			log "pattern: watch -q -i $iv $pattern_size, $k writes at 72,000 pages/s, $self_duration"
			"$bin/bench_self" "${common[@]}" --case "${k}_${pattern_size}_${iv}" --size "$pattern_size" \
				--pattern "$k" --rate 72000 --interval "$iv" --duration "$self_duration" >>"$tmp"
		done
	done
fi

if want harvest; then
	for s in "${harvest_sizes[@]}"; do
		for f in 0 100 1000; do
			log "harvest: $s, $((f / 10)) % written per interval"
			"$bin/bench_self" "${common[@]}" --case "${s}_$((f / 10))pct" --size "$s" --permille "$f" --run 16 \
				--threads 2 --interval auto --intervals "$harvest_intervals" >>"$tmp"
		done
	done
fi

if want attach; then
	log "attach: $attach_rounds rounds"
	"$bin/bench_attach" "${common[@]}" --size "$attach_size" --rounds "$attach_rounds" >>"$tmp"
fi

# The target's mmap+munmap while pagescan scans it (bench_lock shrinks the
# size to half of MemAvailable when memory is short).
if want lock; then
	log "lock: $lock_size mapper, $lock_rounds rounds of engage, dump, release, watch"
	"$bin/bench_lock" "${common[@]}" --size "$lock_size" --rounds "$lock_rounds" --harvests "$lock_harvests" >>"$tmp"
fi

# Several processes in one watch (`watch PID PID...`): the harvest of N
# processes against the minimal loop over the same ranges, and N idle
# small processes watched at 1 s (pagescan's CPU and RSS).
if want workload; then
	for n in "${workload_procs[@]}"; do
		log "workload: $n x $workload_size writers, $workload_pairs harvests against the minimal loop"
		"$bin/bench_workload" "${common[@]}" --procs "$n" --size "$workload_size" --permille 100 \
			--pairs "$workload_pairs" --interval "$workload_interval" >>"$tmp"
	done
	log "workload: $workload_idle_procs idle 1 MiB processes, watch -i 1s for $workload_idle_duration"
	"$bin/bench_workload" "${common[@]}" --procs "$workload_idle_procs" --size 1M --idle \
		--duration "$workload_idle_duration" --interval 1s >>"$tmp"
fi

# A THP-backed target writing 1 % of its memory (whole huge pages) per
# 100 ms tick: pagescan's CPU per tick against the minimal loop's, projected
# to 64 GiB (issue 20). Two sizes: the projection's slope.
if want thp; then
	for s in "${thp_sizes[@]}"; do
		log "thp: $s THP-backed, 1 % written per 100 ms tick, $thp_rounds rounds"
		"$bin/bench_thp" "${common[@]}" --size "$s" --permille 10 --run 512 --interval 100ms \
			--seconds "$thp_seconds" --pairs "$thp_pairs" --rounds "$thp_rounds" --project 64G >>"$tmp"
	done
fi

# A workload of several processes under `pagescan run` (it follows every
# fork) against one in-process tracker per process (issue 13): K writers
# forked together, make-like short-lived children, two threads exchanging
# signals (each signal to a traced thread is a ptrace stop).
if want forkrun; then
	for s in "${forkrun_sizes[@]}"; do
		log "forkrun: $forkrun_procs forked writers of $s, ${forkrun_seconds}s, $forkrun_rounds rounds of $forkrun_modes"
		"$bin/bench_forkrun" "${common[@]}" --case fork --procs "$forkrun_procs" --size "$s" \
			--seconds "$forkrun_seconds" --rounds "$forkrun_rounds" --modes "$forkrun_modes" >>"$tmp"
	done
	log "forkrun: short-lived children, $forkrun_procs at a time, 1000 writes each over $forkrun_churn_size inherited"
	"$bin/bench_forkrun" "${common[@]}" --case churn --procs "$forkrun_procs" --size "$forkrun_churn_size" \
		--writes 1000 --seconds "$forkrun_seconds" --rounds "$forkrun_rounds" --modes "$forkrun_modes" >>"$tmp"
	log "forkrun: two threads exchanging signals"
	"$bin/bench_forkrun" "${common[@]}" --case signals --size 1M --seconds "$forkrun_seconds" \
		--rounds "$forkrun_rounds" --modes "$forkrun_signal_modes" >>"$tmp"
fi

t_end=$(date +%s)
sed -i "s/^# load: .*/&\n# duration: $(((t_end - t_start) / 60)) min $(((t_end - t_start) % 60)) s/" "$tmp"
mv "$tmp" "$raw"
"$bin/bench_report" "$raw" "$out/latest-summary.csv" "$out/latest.md"
log "results: $out/latest.md ($out/latest.csv raw, $out/latest-summary.csv summary)"
