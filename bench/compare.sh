#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Compare two pagescan builds (OLD, NEW) on the same machine, interleaved:
# every round runs each chosen bench program once per build, OLD then NEW on
# odd rounds and NEW then OLD on even ones (this VM flips between a fast and a
# slow mode for seconds at a time; see README.md, "Comparing two builds").
#   OUT/compare.csv   raw rows: build,pair,<the bench programs' own row>;
#                     appended to if it exists, so several runs (say, --only
#                     self with fewer rounds) add up to one report
#   OUT/compare.md    per metric: OLD and NEW median [min-max] over the
#                     rounds, and the median of the per-round NEW/OLD ratios
#   OUT/{old,new}.md  the usual bench_report of each build's rows
# A round's value is the median of the program's inner repetitions (dump:
# 5 rounds, attach: 3, harvest: 5 intervals). Nothing here changes the
# machine's settings; each bench program runs in its own process group
# (timeout(1), 5 min), killed with it if this script is interrupted.
set -euo pipefail

usage() {
	cat <<EOF
usage: $0 --old PATH --new PATH [--bin DIR] [--rounds N] [--only LIST] [--out DIR] [--self-duration DUR]
  --old, --new       the two pagescan binaries (the same one twice: the noise)
  --bin DIR          where the bench_* programs are (default BUILD/bench)
  --rounds N         interleaved rounds per benchmark (default 7)
  --only LIST        comma-separated subset of: dump,self,harvest,attach,lock (default all);
                     harvest0, harvest10, harvest100: one fraction of harvest
  --out DIR          results directory (default a new temporary directory)
  --self-duration D  length of each self watch (default 20s)
EOF
	exit 64
}

src_dir=$(cd "$(dirname "$0")" && pwd)
old="" new="" bin="${BUILD_DIR:-$src_dir/../build}/bench" rounds=7 only=dump,self,harvest,attach,lock out="" self_dur=20s
while [ $# -gt 0 ]; do
	case $1 in
	--old) old=$2; shift ;;
	--new) new=$2; shift ;;
	--bin) bin=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--only) only=$2; shift ;;
	--out) out=$2; shift ;;
	--self-duration) self_dur=$2; shift ;;
	-h|--help) usage ;;
	*) echo "unknown argument: $1" >&2; usage ;;
	esac
	shift
done
[ -n "$old" ] && [ -n "$new" ] && [[ $rounds =~ ^[1-9][0-9]*$ ]] || usage
for p in "$old" "$new" "$bin"/bench_{dump,scan,self,attach,lock,target,report}; do
	[ -x "$p" ] || { echo "compare.sh: $p is missing" >&2; exit 1; }
done
out=${out:-$(mktemp -d /tmp/pagescan-compare.XXXXXX)}
mkdir -p "$out"
want() { [[ ",$only," == *",$1,"* ]]; }
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

csv=$out/compare.csv tmp=$out/.rows
child=""
cleanup() {
	if [ -n "$child" ]; then kill -TERM -- "-$child" 2>/dev/null || true; wait "$child" 2>/dev/null || true; fi
	rm -f "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Less interference from other work (inherited by all we start); as run.sh.
renice -n -20 -p $$ >/dev/null 2>&1 || log "cannot renice (not root): expect more noise"

# run BUILD PAIR PROGRAM ARGS...: one bench program in its own process group,
# its rows prefixed with the build and the round.
run() {
	local b=$1 p=$2 prog=$3
	shift 3
	local path=$old
	[ "$b" = new ] && path=$new
	timeout -k 10 300 "$bin/$prog" --bin "$bin" --pagescan "$path" "$@" >"$tmp" &
	child=$!
	wait "$child" || { log "$prog failed ($b, round $p): status $?"; exit 1; }
	child=""
	sed "s/^/$b,$run.$p,/" "$tmp" >>"$csv"
}
# each NAME PROGRAM ARGS...: every round, OLD and NEW in alternating order.
each() {
	local name=$1 r
	shift
	for r in $(seq 1 "$rounds"); do
		log "$name: round $r of $rounds"
		if [ $((r % 2)) = 1 ]; then run old "$r" "$@"; run new "$r" "$@"; else run new "$r" "$@"; run old "$r" "$@"; fi
	done
}

t0=$(date +%s) load0=$(cut -d' ' -f1-3 /proc/loadavg)
[ -s "$csv" ] || echo "build,pair,bench,case,metric,unit,round,value" >"$csv"
run=$(($(grep -c '^# run' "$csv" || true) + 1))
if want dump; then
	each "dump sparse_4G" bench_dump --case sparse_4G --size 4G --run 16 --stride 64 --rounds 5
	each "dump dense_1G" bench_dump --case dense_1G --size 1G --run 1 --stride 1 --rounds 5
fi
want self && each "self 4G 10 % $self_dur" bench_self --case "watch_4G_10pct_$self_dur" --size 4G --permille 100 \
	--run 16 --rotate --threads 2 --interval 1s --duration "$self_dur"
for f in 0 100 1000; do
	want harvest || want "harvest$((f / 10))" || continue
	# auto gives 100 % 1 s: too short for the writes on a loaded machine (an
	# interval only counts if they finished before its harvest).
	iv=auto
	[ $f = 1000 ] && iv=5s
	each "harvest 1G $((f / 10)) %" bench_self --case "1G_$((f / 10))pct" --size 1G --permille $f --run 16 \
		--threads 2 --interval $iv --intervals 5
done
want attach && each "attach 1G" bench_attach --size 1G --rounds 3
# 8 GiB (less when memory is short: bench_lock says so), one round per run.
want lock && each "lock 8G" bench_lock --size 8G --rounds 1 --harvests 5
t1=$(date +%s)
echo "# run $run: $(date -u +%FT%TZ), --only $only --rounds $rounds, $(((t1 - t0) / 60)) min $(((t1 - t0) % 60)) s, load $load0 / $(cut -d' ' -f1-3 /proc/loadavg)" >>"$csv"

# Each build's rows through the usual report (targets and all figures).
for b in old new; do
	path=$old
	[ $b = new ] && path=$new
	{ echo "# mode: compare ($b)"; echo "# pagescan: $path"; echo "# date: $(date -u +%FT%TZ)"; echo "# kernel: $(uname -r)"
	  echo "# cores: $(nproc)"; echo "# load: $load0"; echo "bench,case,metric,unit,round,value"
	  awk -F, -v b="$b" '$1 == b { sub(/^[^,]*,[^,]*,/, ""); print }' "$csv"; } >"$out/$b.csv"
	"$bin/bench_report" "$out/$b.csv" "$out/$b-summary.csv" "$out/$b.md"
done

{
	cat <<EOF
# pagescan: OLD vs NEW, interleaved

| | |
|---|---|
| OLD | \`$old\` ($(sha256sum "$old" | cut -c1-12)) |
| NEW | \`$new\` ($(sha256sum "$new" | cut -c1-12)) |
| kernel, cores | $(uname -r), $(nproc) |
| order | OLD first on odd rounds, NEW first on even ones |
$(sed -n 's/^# \(run [0-9]*\): \(.*\)/| \1 (date, what, wall time, load average at start \/ end) | \2 |/p' "$csv")

OLD and NEW: median [min – max] over the rounds (a round's value is the median
of the program's inner repetitions). NEW/OLD: median [min – max] of the
per-round ratios; above 1 is NEW higher (slower, for times and CPU). Rows
\`ioctl\`, \`ioctl_cpu\` (a reference that does not run pagescan) and
\`preempted_no_pagescan\` show the machine's own noise between the two runs of
a round. All rows, and the dump references left out here: compare.csv,
old.md, new.md.

| case | metric | unit | OLD | NEW | NEW/OLD |
|---|---|---|---|---|---|
EOF
	awk -F, '
	function isort(a, n,   i, j, x) { for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x } }
	function med(a, n) { isort(a, n); return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
	function num(v,   x) { x = v < 0 ? -v : v; return sprintf(x >= 100 ? "%.0f" : x >= 10 ? "%.1f" : x >= 0.1 || x == 0 ? "%.2f" : "%.3f", v) }
	function cell(a, n, f,   m) { if (!n) return "–"; m = med(a, n); return sprintf(f, m) " [" sprintf(f, a[1]) " – " sprintf(f, a[n]) "]" }
	function pv(k, b, p,   g, n, i, t) { g = k SUBSEP b SUBSEP p; n = cnt[g]; if (!n) return ""; for (i = 1; i <= n; i++) t[i] = val[g, i]; return med(t, n) }
	/^#/ || $1 == "build" { next }
	{
		k = $3 SUBSEP $4 SUBSEP $5
		if (!(k in unit)) { unit[k] = $6; keys[++nk] = k }
		g = k SUBSEP $1 SUBSEP $2; val[g, ++cnt[g]] = $8 + 0
		if (!((k, $2) in seen)) { seen[k, $2] = 1; pairs[k, ++np[k]] = $2 }
	}
	END {
		for (i = 1; i <= nk; i++) {
			k = keys[i]; split(k, f, SUBSEP)
			if (f[1] == "dump" && f[3] !~ /^(pagescan(_json|_version)?|ioctl)(_cpu)?$|^ratio_pagescan(_json)?_ioctl(_cpu)?$/) continue
			no = nn = nr = 0
			for (j = 1; j <= np[k]; j++) {
				vo = pv(k, "old", pairs[k, j]); vn = pv(k, "new", pairs[k, j])
				if (vo != "") O[++no] = vo
				if (vn != "") N[++nn] = vn
				if (vo != "" && vn != "" && vo != 0) R[++nr] = vn / vo
			}
			isort(O, no); isort(N, nn); isort(R, nr)
			o = no ? num(med(O, no)) " [" num(O[1]) " – " num(O[no]) "]" : "–"
			n = nn ? num(med(N, nn)) " [" num(N[1]) " – " num(N[nn]) "]" : "–"
			printf "| %s %s | %s | %s | %s | %s | %s |\n", f[1], f[2], f[3], unit[k], o, n, nr ? cell(R, nr, "%.3f") : "n/a"
		}
	}' "$csv"
} >"$out/compare.md"
log "results: $out/compare.md (raw rows $out/compare.csv; per build $out/old.md, $out/new.md)"
