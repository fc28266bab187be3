# SPDX-License-Identifier: MIT
# fish completion for pagescan(1): commands, every option of every command,
# -f values per command, mask names inside comma/| lists and after '!',
# --heatmap= values, mapping selectors for -r (with the file names mapped by
# the PID on the line), and PIDs described by their process names.

# Options whose value is the next token (any command).
set -g __pagescan_argopts -m --mask -r --range -M --max-pages -f --format --fd \
    -i --interval -n --count -d --duration -o --output --prom-file --max-overhead --sample --seed --compare --user --cgroup --max-processes \
    --bandwidth --downtime --max-rounds --svg

# The command (first token after pagescan that is not an option).
function __pagescan_cmd
    for tok in (commandline -opc)[2..-1]
        switch $tok
            case '-*'
                continue
            case '*'
                echo $tok
                return 0
        end
    end
    return 1
end

function __pagescan_no_cmd
    not __pagescan_cmd >/dev/null
end

function __pagescan_using
    contains -- (__pagescan_cmd) $argv
end

# The PID on the line (a number that is not the value of an option),
# before or after the cursor.
function __pagescan_line_pid
    set -l before (commandline -opc)
    set -l all (commandline -op)
    set -l toks $before
    # the tokens after the one being completed
    set -l n (math (count $before) + 2)
    test $n -le (count $all); and set -a toks $all[$n..-1]
    set -l skip 0
    set -l seen_cmd 0
    for tok in $toks[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        if contains -- $tok $__pagescan_argopts
            set skip 1
            continue
        end
        if string match -qr -- '^-[A-Za-z?]*[mrMfindo]$' $tok
            set skip 1
            continue
        end
        if test $seen_cmd = 0
            string match -q -- '-*' $tok; or set seen_cmd 1
            continue
        end
        if string match -qr -- '^[1-9][0-9]*$' $tok
            echo $tok
            return 0
        end
    end
    return 1
end

# Has the PID been given already (before the cursor)?
function __pagescan_needs_pid
    set -l toks (commandline -opc)
    set -l skip 0
    set -l seen_cmd 0
    for tok in $toks[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        if contains -- $tok $__pagescan_argopts
            set skip 1
            continue
        end
        if string match -qr -- '^-[A-Za-z?]*[mrMfindo]$' $tok
            set skip 1
            continue
        end
        if test $seen_cmd = 0
            string match -q -- '-*' $tok; or set seen_cmd 1
            continue
        end
        string match -qr -- '^[0-9]+$' $tok; and return 1
    end
    # the token being completed is an option's value
    test $skip = 0
end

# Processes (not kernel threads) as "PID<TAB>name".
function __pagescan_pids
    for d in (string match -r -- '^/proc/[0-9]+$' /proc/*)
        # (checked first: fish warns about a redirection from a vanished file)
        test -r $d/cmdline; or continue
        set -l cmdline (string split0 <$d/cmdline 2>/dev/null)
        # kernel threads and zombies have no command line and nothing to track
        test -n "$cmdline[1]"; or continue
        read -l comm <$d/comm 2>/dev/null
        printf '%s\t%s\n' (string replace /proc/ '' -- $d) $comm
    end
end

# The value being typed: the token after "--opt=" when there is one.
function __pagescan_value
    set -l tok (commandline -ct)
    # the value of --opt=VALUE
    string match -q -- '--*=*' $tok; and set tok (string replace -r -- '^[^=]*=' '' $tok)
    # without the quote it opens or its backslashes
    string replace -r -- '^[\'"]' '' $tok | string replace -a -- '\\' ''
end

# Mask expression: the last term after ',' or '|' (and '!') completed with
# the names not used yet.
function __pagescan_masks
    set -l cur (__pagescan_value)
    set -l head (string match -r -- '^.*[,|]' $cur)
    set -l rest (string sub -s (math (string length -- "$head") + 1) -- $cur)
    set -l bang ''
    string match -q -- '!*' $rest; and set bang '!'
    set -l used (string split -- ',' (string replace -ra -- '[|!\s]' ',' "$head"))
    # pagescan's category table, in its order (tests/e2e/docs.bats checks the names)
    set -l cats \
        written 'written since last write-protected (only in tracked ranges)' \
        present 'resident in memory' \
        swapped 'swapped out, or holding a write-protect or guard marker' \
        file 'file-backed or shared memory' \
        pfnzero 'maps the shared zero page' \
        huge 'part of a transparent or hugetlb huge page' \
        soft-dirty 'written since soft-dirty bits were last cleared (6.8+)' \
        guard 'a guard region page (6.16+)' \
        wpallowed 'in a range registered for write-protect tracking'
    for i in (seq 1 2 (count $cats))
        contains -- $cats[$i] $used; and continue
        printf '%s%s%s\t%s\n' "$head" $bang $cats[$i] $cats[(math $i + 1)]
    end
end

# Mapping selectors: the fixed ones and the files mapped by the PID.
function __pagescan_ranges
    set -l cur (__pagescan_value)
    string match -qr -- '^[0-9]' $cur; and return
    set -l pid (__pagescan_line_pid)
    set -l names
    if test -n "$pid"; and test -r /proc/$pid/maps
        for line in (cat /proc/$pid/maps 2>/dev/null)
            set -l name (string replace -r -- '^(\S+\s+){5}' '' $line)
            string match -q -- '/*' $name; or continue
            set name (string replace -r -- ' \(deleted\)$' '' $name)
            string match -qr -- '[\s\\\\]' $name; and continue
            string match -q -- '/*' $cur; or set name (string replace -r -- '.*/' '' $name)
            contains -- $name $names; or set -a names $name
        end
    end
    if not string match -q -- '/*' $cur
        printf '%s\t%s\n' '[heap]' 'the heap' '[stack]' 'the main thread stack' \
            anon 'unnamed anonymous mappings' shm 'shared memory (/dev/shm, memfd, SysV)'
    end
    for n in $names
        printf '%s\t%s\n' $n 'mapped file'
    end
end

# release --fd: the userfaultfds of the PID on the line.
function __pagescan_uffds
    set -l pid (__pagescan_line_pid); or return
    for fd in /proc/$pid/fd/*
        test (readlink $fd 2>/dev/null) = 'anon_inode:[userfaultfd]'; and string replace -r -- '.*/' '' $fd
    end
end

# run: the words of CMD before the cursor (after "--", or from the first
# word that is neither an option nor an option's value); fails before CMD.
function __pagescan_run_words
    set -l toks (commandline -opc)
    set -l i (contains -i -- run $toks); or return 1
    set -l skip 0
    for j in (seq (math $i + 1) (count $toks))
        set -l tok $toks[$j]
        if test $skip = 1
            set skip 0
            continue
        end
        if test "$tok" = --
            set -q toks[(math $j + 1)]; and printf '%s\n' $toks[(math $j + 1)..-1]
            return 0
        end
        if contains -- $tok $__pagescan_argopts
            or string match -qr -- '^-[A-Za-z?]*[rindfo]$' $tok
            set skip 1
            continue
        end
        string match -q -- '-*' $tok; and continue
        printf '%s\n' $toks[$j..-1]
        return 0
    end
    return 1
end

function __pagescan_in_run_cmd
    __pagescan_using run; and __pagescan_run_words >/dev/null
end

complete -c pagescan -f

# Common to every command (and to pagescan alone).
complete -c pagescan -n 'not __pagescan_in_run_cmd' -s '?' -l help -d 'Give this help list'
complete -c pagescan -n 'not __pagescan_in_run_cmd' -l usage -d 'Give a short usage message'
complete -c pagescan -n 'not __pagescan_in_run_cmd' -s V -l version -d 'Print program version'

# Commands.
complete -c pagescan -n __pagescan_no_cmd -a dump -d 'Report page categories as address ranges'
complete -c pagescan -n __pagescan_no_cmd -a engage -d 'Start persistent write tracking'
complete -c pagescan -n __pagescan_no_cmd -a release -d 'Stop persistent write tracking'
complete -c pagescan -n __pagescan_no_cmd -a watch -d 'Report written pages and dirty rate every interval'
complete -c pagescan -n __pagescan_no_cmd -a run -d 'Run a command and watch it from its first instruction'
complete -c pagescan -n __pagescan_no_cmd -a demo -d 'Watch a built-in workload'
complete -c pagescan -n __pagescan_no_cmd -a report -d 'Analyse a recording'

# PIDs.
complete -c pagescan -n '__pagescan_using dump engage release watch; and __pagescan_needs_pid' -a '(__pagescan_pids)'

# dump
complete -c pagescan -n '__pagescan_using dump' -s m -l mask -x -a '(__pagescan_masks)' -d 'Pages to report (category mask)'
complete -c pagescan -n '__pagescan_using dump' -s r -l range -x -a '(__pagescan_ranges)' -d 'Only this range or mapping'
complete -c pagescan -n '__pagescan_using dump' -s M -l max-pages -x -d 'Stop after N pages'
complete -c pagescan -n '__pagescan_using dump' -l clear -d 'Write-protect again the written pages reported'
complete -c pagescan -n '__pagescan_using dump' -s f -l format -x -a 'text json' -d 'Output format'

# engage
complete -c pagescan -n '__pagescan_using engage' -s r -l range -x -a '(__pagescan_ranges)' -d 'Only track this range or mapping'
complete -c pagescan -n '__pagescan_using engage' -s f -l format -x -a 'text json' -d 'Output format'

# release
complete -c pagescan -n '__pagescan_using release' -l fd -x -a '(__pagescan_uffds)' -d 'Close this file descriptor of the target'
complete -c pagescan -n '__pagescan_using release' -s f -l format -x -a 'text json' -d 'Output format'
complete -c pagescan -n '__pagescan_using release' -l no-recollapse -d 'Leave the huge pages tracking split as they are'

# watch and run
set -l wr '__pagescan_using watch run; and not __pagescan_in_run_cmd'
complete -c pagescan -n $wr -s r -l range -x -a '(__pagescan_ranges)' -d 'Only track this range or mapping'
complete -c pagescan -n $wr -s i -l interval -x -d 'Harvest every INTERVAL (default 1s)'
complete -c pagescan -n $wr -s n -l count -x -d 'Stop after COUNT intervals'
complete -c pagescan -n $wr -s d -l duration -x -d 'Stop after DURATION'
complete -c pagescan -n $wr -s f -l format -x -a 'text json csv' -d 'Output format'
complete -c pagescan -n $wr -l accumulate -d 'Report the cumulative write set'
complete -c pagescan -n $wr -s o -l output -r -F -d 'Write the report to FILE'
complete -c pagescan -n $wr -s q -l quiet -d 'Totals only, no region lists (text and JSON)'
complete -c pagescan -n $wr -l heatmap -a 'tui text' -d 'Live ncurses heatmap, or text frames (--heatmap=MODE)'
complete -c pagescan -n $wr -l prom-file -r -F -d 'Rewrite PATH with Prometheus metrics'
complete -c pagescan -n $wr -l no-recollapse -d 'Leave the huge pages tracking split as they are'
complete -c pagescan -n $wr -l max-overhead -x -a 'off 5 10 20' -d 'Keep the estimated loss to write faults under PCT % (default 10)'
complete -c pagescan -n $wr -l sample -x -a '1/16 1/64 0.05' -d 'Protect a random FRACTION of the pages each interval; estimate the writes'
complete -c pagescan -n $wr -l seed -x -d 'With --sample: seed the random choice of pages'
complete -c pagescan -n $wr -l compare -x -a 'soft-dirty' -d 'Also report the pages soft-dirty marks, and its false positives'
complete -c pagescan -n '__pagescan_using watch' -l tree -d 'Watch the PIDs and all their descendants'
complete -c pagescan -n '__pagescan_using watch' -l cgroup -x -a '(__fish_complete_directories)' -d 'Watch every process of a cgroup v2 directory'
complete -c pagescan -n '__pagescan_using watch' -l max-processes -x -d 'Track at most N processes at once (default 64)'
complete -c pagescan -n '__pagescan_using run; and not __pagescan_in_run_cmd' -l user -x -a '(__fish_complete_users)' -d 'Run the command as USER[:GROUP]'
complete -c pagescan -n '__pagescan_using run; and not __pagescan_in_run_cmd' -l preserve-env -d 'With --user: keep HOME, USER, LOGNAME and SHELL'
complete -c pagescan -n '__pagescan_using run; and not __pagescan_in_run_cmd' -l no-follow-exec -d 'End the watch when the command execs another program'
complete -c pagescan -n '__pagescan_using run; and not __pagescan_in_run_cmd' -l no-follow-forks -d 'Track the command only, not the processes it forks'
complete -c pagescan -n '__pagescan_using run; and not __pagescan_in_run_cmd' -l max-processes -x -d 'Track at most N processes at once (default 64)'
complete -c pagescan -n '__pagescan_using run; and not __pagescan_in_run_cmd' -a -- -d 'End of options: the command follows'
complete -c pagescan -n '__pagescan_using run; and not __pagescan_in_run_cmd' -a '(__fish_complete_command)'
complete -c pagescan -n __pagescan_in_run_cmd -x -a '(__fish_complete_subcommand --commandline (__pagescan_run_words) (commandline -ct))'

# demo
complete -c pagescan -n '__pagescan_using demo' -l no-heatmap -d 'Print the text watch instead of the heatmap'
complete -c pagescan -n '__pagescan_using demo' -s i -l interval -x -d 'Harvest every INTERVAL (default 1s)'
complete -c pagescan -n '__pagescan_using demo' -s n -l count -x -d 'Stop after COUNT intervals'
complete -c pagescan -n '__pagescan_using demo' -s d -l duration -x -d 'Stop after DURATION'
complete -c pagescan -n '__pagescan_using demo' -s f -l format -x -a 'text json csv' -d 'Output format (with --no-heatmap)'
complete -c pagescan -n '__pagescan_using demo' -s q -l quiet -d 'Totals only, no region lists (text and JSON)'
complete -c pagescan -n '__pagescan_using demo' -l max-overhead -x -a 'off 5 10 20' -d 'Keep the estimated loss to write faults under PCT % (default 10)'

# report
complete -c pagescan -n '__pagescan_using report' -s f -l format -x -a 'text json' -d 'Output format'
complete -c pagescan -n '__pagescan_using report' -l bandwidth -x -d 'Pre-copy simulation: link bandwidth (bytes/s)'
complete -c pagescan -n '__pagescan_using report' -l downtime -x -d 'Pre-copy simulation: acceptable downtime'
complete -c pagescan -n '__pagescan_using report' -l max-rounds -x -d 'Pre-copy simulation: give up after N rounds'
complete -c pagescan -n '__pagescan_using report' -l svg -r -F -d 'Also write an SVG heatmap to FILE'
complete -c pagescan -n '__pagescan_using report' -F -d 'Recording (or - for standard input)'
