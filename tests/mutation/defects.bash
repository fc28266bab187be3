# SPDX-License-Identifier: MIT
# The planted defects of tests/mutation/run.sh, one `defect` entry each:
#
#   defect NAME FILE 'what the defect does' \
#       -e 'SED EXPRESSION' [-e ...] \
#       -t 'CTEST REGEX' [-f 'BATS FILTER'] [-t ... [-f ...]]...
#
# FILE is relative to the source tree. Each -e is applied in turn with
# `sed -i -e` and must change the file (run.sh stops if one matches
# nothing: the code moved, fix the entry). Each -t is one `ctest -R` run,
# with -f as PAGESCAN_BATS_FILTER (bats --filter inside the e2e tests,
# through tests/e2e/run_bats.sh) so that an e2e run takes only the tests
# that guard the defect. A defect is caught when any run fails; runs go
# cheapest first. Keep the selections narrow: every e2e test here drives
# real processes.
#
# The first 14 are the defects of the mutation run reported in the issue
# "Tests that cannot fail", found at their current place in the code; the
# others guard the tests added or changed since (the former known-bug
# skips, the duration checks).

# shellcheck shell=bash disable=SC2016 # the sed expressions are literal

# ---- the 14 of the issue ------------------------------------------------------------

defect scan-resume-at-end src/kernel/scan.c \
    'the scan loop resumes at the end of the range instead of walk_end' \
    -e 's/^\t\tstart = arg\.walk_end;$/\t\tstart = arg.end;/' \
    -t '^unit/test_scan$' \
    -t '^e2e/dump$' -f 'over 24,000 regions equals'

defect vec-cap-1024 include/pagescan/kernel/scan.h \
    'the PAGEMAP_SCAN vector cap raised from 512 to 1024 regions per call' \
    -e 's/^#define PS_SCAN_VEC_MAX 512$/#define PS_SCAN_VEC_MAX 1024/' \
    -t '^unit/test_scan$' \
    -t '^e2e/dump$' -f 'equal to the number of matching pages'

defect regions-not-merged src/model/region.c \
    'contiguous regions with equal categories are no longer merged' \
    -e 's/if (last && last->end == start && last->cats == cats) {/if (0 \&\& last \&\& last->end == start \&\& last->cats == cats) {/' \
    -t '^unit/test_region$'

defect arming-skipped src/kernel/tracker.c \
    'the arming pass (write-protect after UFFDIO_REGISTER) is skipped' \
    -e 's/^\tint r = arm(tr, start, end, err);$/\tint r = 0;/' \
    -t '^e2e/engage$' -f 'all memory kinds at once|many rounds of random writes'

defect tick-mapping-not-armed src/kernel/tracker.c \
    'mappings engaged at a watch tick are registered but not write-protected' \
    -e 's/^\tint r = arm(tr, start, end, err);$/\tint r = count_prewritten ? 0 : arm(tr, start, end, err);/' \
    -t '^e2e/watch$' -f 'mappings made during the watch' \
    -t '^e2e/fault_shapes$' -f 'mremap during watch' \
    -t '^e2e/run$' -f 'held alive'

defect accumulate-one-span src/kernel/tracker.c \
    'the get-only harvest (--accumulate) scans one span over unarmed gaps' \
    -e 's/^\t\tfor (size_t i = 0; i < tr->armed\.n && r == 0; i++) {$/\t\tfor (size_t i = 0; i < 1 \&\& r == 0; i++) {/' \
    -e 's/^\t\t\t\t\.start = tr->armed\.r\[i\]\.start, \.end = tr->armed\.r\[i\]\.end,$/\t\t\t\t.start = tr->armed.r[0].start, .end = tr->armed.r[tr->armed.n - 1].end,/' \
    -t '^e2e/watch$' -f 'accumulate'

defect r9-not-restored src/kernel/inject.c \
    'one register (r9) keeps its injected value after the injected calls' \
    -e '/^int ps_inject_finish(/,/^}/ s/^\tr = set_regs(s, &s->saved, err);$/\t{ struct user_regs_struct cur_; if (get_regs(s, \&cur_, err) == 0) s->saved.r9 = cur_.r9; }\n\tr = set_regs(s, \&s->saved, err);/' \
    -t '^e2e/engage$' -f 'blocked in read\(\) on a fifo' \
    -t '^e2e/fault_blocked$' -f 'blocked in read\(\) on a fifo|nanosleep'

defect pending-signal-dropped src/kernel/inject.c \
    'a signal that arrives while the target holds injection registers is dropped' \
    -e '/^static int deliver_pending(/,/^}/ s/pt(PTRACE_CONT, s->tid, NULL, (void \*)(long)sig) < 0)/pt(PTRACE_CONT, s->tid, NULL, (void *)0) < 0)/' \
    -t '^e2e/fault_blocked$' -f 'SIGUSR1'

defect aligned-end-rounded-up src/model/range.c \
    'a page-aligned END is rounded up one more page' \
    -e 's/rs\.end = (end + PS_PAGE_SIZE - 1) & ~(PS_PAGE_SIZE - 1);/rs.end = (end + PS_PAGE_SIZE) \& ~(PS_PAGE_SIZE - 1);/' \
    -t '^unit/test_range$'

defect negation-ignored-in-anyof src/model/category.c \
    '"!" is ignored inside an any-of group (A|!B)' \
    -e 's/^\tif (neg)$/\tif (neg \&\& !group)/' \
    -t '^unit/test_category$'

defect window-bound-off-by-one src/model/report.c \
    'the write working set over windows: the first window containing a write is left out' \
    -e 's/^\t\t\t\t\tlo = t + 1 - len;$/\t\t\t\t\tlo = t + 2 - len;/' \
    -t '^unit/test_report(_golden)?$'

defect precopy-overlap-boundary src/model/report.c \
    'pre-copy: an interval that begins exactly when a round ends counts as overlapping it' \
    -e 's/if (r->iv_start\[mid\] < end - eps)/if (r->iv_start[mid] <= end + eps)/' \
    -t '^unit/test_report(_golden)?$'

defect end-p50-is-p95 src/render/fmt_watch.c \
    'the end record (JSON) prints p95 in the p50 field' \
    -e 's/^\tps_out_fixed(o, e->rate\.p50, 1);$/\tps_out_fixed(o, e->rate.p95, 1);/' \
    -t '^unit/test_fmt_watch$'

defect run-no-last-harvest src/cli/loop.c \
    'run skips the last harvest at the command'"'"'s exit stop' \
    -e '/case PS_LAUNCH_EXIT_STOP:/,/return 0;/ s/if (!l->ended) {/if (0) {/' \
    -t '^e2e/run$' -f 'short program|one-page mapping'

# ---- the tests added or changed since ---------------------------------------------------

# fault_shapes.bats: the former known-bug skips, now plain assertions. The
# first is a race: one run of its test catches it about 7 times in 8, so
# the run is made three times.
defect newmap-counted-before-arming src/kernel/tracker.c \
    'a new mapping'"'"'s written pages are counted before it is armed (pages written in between are lost)' \
    -e 's/^\tint r = arm(tr, start, end, err);$/\tint r = count_prewritten ? count_new(tr, start, end, false, res, err) : 0;\n\tif (r >= 0)\n\t\tr = arm(tr, start, end, err);/' \
    -e 's/^\t\tr = count_new(tr, start, end, true, res, err);$/\t\tr = 0;/' \
    -t '^e2e/fault_shapes$' -f 'mmap during watch' \
    -t '^e2e/fault_shapes$' -f 'mmap during watch' \
    -t '^e2e/fault_shapes$' -f 'mmap during watch'

defect protnone-reservation-known src/kernel/tracker.c \
    'an empty PROT_NONE reservation counts as known, so pages written when it is made writable are never reported' \
    -e 's/if (v->kind == PS_VMA_VSYSCALL || (!(v->prot \& PS_VMA_WRITE) \&\& v->kind == PS_VMA_ANON \&\& !holds_data(tr, v)))/if (v->kind == PS_VMA_VSYSCALL || (0 \&\& holds_data(tr, v)))/' \
    -t '^e2e/fault_shapes$' -f 'PROT_NONE reservation'

defect zombie-leader-read-directly src/kernel/target.c \
    'a zombie leader'"'"'s own /proc entries are used instead of a live thread'"'"'s' \
    -e 's/^\t\treturn open_live_task(t, err);$/\t\treturn 0;/' \
    -t '^e2e/fault_shapes$' -f 'zombie leader'

defect frozen-exitkill-left-armed src/kernel/inject.c \
    'giving up on a thread that never ran the call leaves PTRACE_O_EXITKILL armed (the target is killed)' \
    -e '/^int ps_inject_finish(/,/^}/ s/^\tif (!s->stopped) {$/\tif (!s->stopped) {\n\t\tgoto out;/' \
    -t '^e2e/fault_shapes$' -f 'frozen cgroup v2'

defect own-wpasync-taken-for-engage src/kernel/tracker.c \
    'any WP_ASYNC userfaultfd is taken for engage'"'"'s (the mark is not checked)' \
    -e 's/(features \& (UFFD_FEATURE_WP_ASYNC | PS_UFFD_MARK)) != (UFFD_FEATURE_WP_ASYNC | PS_UFFD_MARK)/(features \& UFFD_FEATURE_WP_ASYNC) != UFFD_FEATURE_WP_ASYNC/' \
    -t '^e2e/fault_shapes$' -f 'own WP_ASYNC userfaultfd: release'

defect fork-copies-left-open src/kernel/engage.c \
    'release does not close the copies of children forked while engaged' \
    -e 's/^\tint nh = ino ? ps_find_uffd_holders(ino, t->pid, hp, hf, PS_RELEASE_COPIES_MAX) : 0;$/\tint nh = 0 * (ino ? ps_find_uffd_holders(ino, t->pid, hp, hf, PS_RELEASE_COPIES_MAX) : 0);/' \
    -t '^e2e/fault_shapes$' -f 'fork while engaged'

# dump.bats: -M over several scan runs (a bug fixed in 9d8e019).
defect dump-max-pages-unlimited src/cli/cmd_dump.c \
    'dump -M: a scan run after runs that used up exactly N pages is scanned without a limit' \
    -e 's/^\t\tif (a->max_pages \&\& st\.pages >= a->max_pages) {$/\t\tif (0 \&\& a->max_pages \&\& st.pages >= a->max_pages) {/' \
    -t '^e2e/dump$' -f 'over two -r ranges'

# engage.bats and fault_blocked.bats: durations with margins for a loaded
# machine still tell the kernel's restart (remaining time) from a restart
# from scratch.
defect syscall-restarted-from-scratch src/kernel/inject.c \
    'an interrupted sleep is restarted from scratch (ERESTARTNOINTR) instead of through its restart block' \
    -e '/^int ps_inject_finish(/,/^}/ s/^\tr = set_regs(s, &s->saved, err);$/\tif ((long)s->saved.rax == -516)\n\t\ts->saved.rax = (unsigned long long)-513;\n\tr = set_regs(s, \&s->saved, err);/' \
    -t '^e2e/engage$' -f 'nanosleep|poll\(timeout' \
    -t '^e2e/fault_blocked$' -f 'blocked in (nanosleep|clock_nanosleep\(CLOCK_MONOTONIC|poll)'

# fault_blocked.bats: the attach races of issue 13's workloads.
defect exec-vfork-gadget-unchecked src/kernel/inject.c \
    'after the stop, an exec is only told by the old pagemap reading nothing: a vfork child whose old address space lives on in its parent gets the old gadget' \
    -e 's/^\tif (!gone && s->gadget &&$/\tif (0 \&\& !gone \&\& s->gadget \&\&/' \
    -t '^e2e/fault_blocked$' -f 'vfork child'

defect seize-eperm-exiting-as-permission src/kernel/inject.c \
    'the EPERM of seizing a task that has exited (a zombie) is reported as a permission error' \
    -e 's/if (e == ESRCH || (e == EPERM && ps_target_exiting(t) == 1))$/if (e == ESRCH)/' \
    -t '^e2e/fault_blocked$' -f 'stays a zombie'

# memevents.bats and fault_shapes.bats: what independent testers found (the
# edge pages, lost markers, a thread's own seccomp filter).
defect edge-discard-as-write src/kernel/tracker.c \
    'a discarded edge page is compared by its bytes (zeros now) instead of being asked its state' \
    -e 's/^\tif (t->had_data \&\& !page_holds_data(tr, t->start)) {$/\tif (0 \&\& t->had_data \&\& !page_holds_data(tr, t->start)) {/' \
    -t '^e2e/memevents$' -f '12 edge pages: an arena'

defect edge-dropped-unread src/kernel/tracker.c \
    'an edge page that leaves its writable mapping is dropped without a last look' \
    -e 's/count_prewritten \&\& mk >= 0 \&\& private_anon(\&maps->v\[mk\]) \&\& tail_last_look/0 \&\& mk >= 0 \&\& private_anon(\&maps->v[mk]) \&\& tail_last_look/' \
    -t '^e2e/memevents$' -f '12 edge pages'

defect lost-markers-left src/kernel/classify.c \
    'empty entries of shared memory that lost their marker are not protected again' \
    -e 's/^\tif (r == 0 \&\& lost\.n)$/\tif (0 \&\& r == 0 \&\& lost.n)/' \
    -t '^e2e/memevents$' -f '7 shared memory: zapped'

defect seccomp-of-leader src/kernel/inject.c \
    'seccomp and the tracer are read from the leader, not from the thread that makes the call' \
    -e '/^static int preflight(/,/^}/ s/^\tif (s->tid == s->t->pid)$/\tif (1 || s->tid == s->t->pid)/' \
    -t '^e2e/fault_shapes$' -f 'on itself alone'
