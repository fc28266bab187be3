# bash completion for pagescan(1)                             -*- shell-script -*-
# SPDX-License-Identifier: MIT
#
# Self-contained: works with or without the bash-completion package (when it
# is loaded, `run -- CMD` hands over to the command's own completion).
# Completes commands, every option of every command, -f values per command,
# mask names inside comma/| lists and after '!', --heatmap= values, mapping
# selectors for -r (with the file names mapped by the PID on the line), and
# PIDs (shown with their process names when several match).

# Option table of one command: "SHORT LONG KIND" per line ("-" = no short or
# no long form). KIND: flag, mask, range, format, file, fd, heatmap (optional
# argument, only as --heatmap=MODE) or value (free text: numbers, durations).
_pagescan_optspec()
{
	local common='? help flag
- usage flag
V version flag'
	case $1 in
	'')
		;;
	dump)
		printf '%s\n' 'm mask mask' 'r range range' 'M max-pages value' \
			'- clear flag' 'f format format'
		;;
	engage)
		printf '%s\n' 'r range range' 'f format format'
		;;
	release)
		printf '%s\n' '- fd fd' 'f format format' '- no-recollapse flag'
		;;
	watch | run)
		printf '%s\n' 'r range range' 'i interval value' 'n count value' \
			'd duration value' 'f format format' '- accumulate flag' \
			'o output file' 'q quiet flag' '- heatmap heatmap' \
			'- prom-file file' '- no-recollapse flag' '- max-overhead value' \
			'- sample value' '- seed value' '- compare value'
		[[ $1 != run ]] || printf '%s\n' '- user value' '- preserve-env flag' '- no-follow-exec flag' \
			'- no-follow-forks flag' '- max-processes value'
		[[ $1 != watch ]] || printf '%s\n' '- tree flag' '- cgroup file' '- max-processes value'
		;;
	demo)
		printf '%s\n' '- no-heatmap flag' 'i interval value' 'n count value' \
			'd duration value' 'f format format' 'q quiet flag' \
			'- max-overhead value'
		;;
	report)
		printf '%s\n' 'f format format' '- bandwidth value' '- downtime value' \
			'- max-rounds value' '- svg file'
		;;
	*)
		return 1
		;;
	esac
	printf '%s\n' "$common"
}

# Values of -f per command.
_pagescan_formats()
{
	case $1 in
	watch | run | demo) echo 'text json csv' ;;
	*) echo 'text json' ;;
	esac
}

# Category names, in the order of pagescan's own table (tests/e2e/docs.bats
# checks them).
_pagescan_categories='written present swapped file pfnzero huge soft-dirty guard wpallowed'

# _pagescan_dequote WORD: sets _ps_cur to WORD without shell quoting and
# _ps_q to the quote it opens (' or "), or to nothing.
_pagescan_dequote()
{
	local s=$1 out= i c
	_ps_q=
	case $s in
	\'*)
		_ps_q=\'
		_ps_cur=${s#\'}
		return
		;;
	\"*)
		_ps_q=\"
		s=${s#\"}
		;;
	esac
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		if [[ $c == \\ ]] && ((i + 1 < ${#s})); then
			i=$((i + 1))
			c=${s:i:1}
		fi
		out+=$c
	done
	_ps_cur=$out
}

# _pagescan_reply WORD...: candidates (already matched) into COMPREPLY,
# escaped for the shell unless the word being completed opened a quote.
_pagescan_reply()
{
	local w out i c
	COMPREPLY=()
	for w in "$@"; do
		if [[ -z $_ps_q ]]; then
			out=
			for ((i = 0; i < ${#w}; i++)); do
				c=${w:i:1}
				case $c in
				[[:alnum:]] | [-_.,/:+=@%^]) out+=$c ;;
				*) out+=\\$c ;;
				esac
			done
			w=$out
		fi
		COMPREPLY+=("$w")
	done
}

# _pagescan_match PREFIX WORD...: prints the WORDs starting with PREFIX.
_pagescan_match()
{
	local p=$1 w
	shift
	for w in "$@"; do
		[[ $w == "$p"* ]] && printf '%s\n' "$w"
	done
}

# Mask expression: complete the last term after ',' or '|', after an
# optional '!', with the names not used yet.
_pagescan_mask()
{
	local cur=$1 head last bang= name used=() cands=() u skip
	if [[ $cur == *[,\|]* ]]; then
		head=${cur%[,|]*}
		head=$head${cur:${#head}:1}
		last=${cur:${#head}}
	else
		head=
		last=$cur
	fi
	if [[ $last == !* ]]; then
		bang='!'
		last=${last#!}
	fi
	# names already in the expression (either polarity) are not offered again
	IFS=',|' read -r -a used <<<"${head//!/}"
	for name in $_pagescan_categories; do
		[[ $name == "$last"* ]] || continue
		skip=
		for u in "${used[@]}"; do
			u=${u//[[:space:]]/}
			[[ $u == "$name" ]] && skip=1
		done
		[[ -n $skip ]] || cands+=("$head$bang$name")
	done
	_pagescan_reply "${cands[@]}"
	compopt -o nospace 2>/dev/null
}

# Mapping selectors for -r: the fixed ones, plus the names of the files
# PID maps (basenames, or full paths once the word starts with '/').
_pagescan_range()
{
	local cur=$1 pid=$2 name cands=() seen=' ' _a _b _c _d _e
	local -a fixed=('[heap]' '[stack]' anon shm)
	case $cur in
	[0-9]*) COMPREPLY=(); return ;;  # an address range: nothing to offer
	esac
	if [[ -n $pid && -r /proc/$pid/maps ]]; then
		while read -r _a _b _c _d _e name; do
			[[ $name == /* ]] || continue
			name=${name% (deleted)}
			# names the shell or pagescan cannot take back verbatim
			[[ $name == *[[:space:]\\]* ]] && continue
			[[ $cur == /* ]] || name=${name##*/}
			[[ $name == "$cur"* && $seen != *" $name "* ]] || continue
			seen+="$name "
			cands+=("$name")
		done 2>/dev/null <"/proc/$pid/maps"
	fi
	if [[ $cur != /* ]]; then
		mapfile -t -O ${#cands[@]} cands < <(_pagescan_match "$cur" "${fixed[@]}")
	fi
	_pagescan_reply "${cands[@]}"
}

# Process ids (not kernel threads); "PID (name)" entries when several match
# and bash is listing them, the bare PID otherwise.
_pagescan_pids()
{
	local cur=$1 d pid comm cmdline pids=() names=() i
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		[[ $pid == "$cur"* ]] || continue
		cmdline=
		IFS= read -r -d '' cmdline 2>/dev/null <"$d/cmdline"
		[[ -n $cmdline ]] || continue  # kernel thread or zombie: nothing to track
		comm=
		IFS= read -r comm 2>/dev/null <"$d/comm"
		pids+=("$pid")
		names+=("$comm")
	done
	COMPREPLY=()
	if ((${#pids[@]} > 1)) && [[ ${COMP_TYPE:-0} != 37 ]]; then
		for i in "${!pids[@]}"; do
			COMPREPLY+=("${pids[i]} (${names[i]})")
		done
	else
		COMPREPLY=("${pids[@]}")
	fi
}

# File names.
_pagescan_files()
{
	compopt -o filenames 2>/dev/null
	mapfile -t COMPREPLY < <(compgen -f -- "$1")
}

# The fds of PID that are userfaultfds (for release --fd).
_pagescan_uffds()
{
	local cur=$1 pid=$2 fd cands=()
	[[ -n $pid ]] || return
	for fd in /proc/"$pid"/fd/*; do
		[[ $(readlink "$fd" 2>/dev/null) == 'anon_inode:[userfaultfd]' ]] || continue
		fd=${fd##*/}
		[[ $fd == "$cur"* ]] && cands+=("$fd")
	done
	COMPREPLY=("${cands[@]}")
}

# _pagescan_value CMD KIND WORD PID: complete the argument of an option.
_pagescan_value()
{
	local cmd=$1 kind=$2 pid=$4
	_pagescan_dequote "$3"
	case $kind in
	mask) _pagescan_mask "$_ps_cur" ;;
	range) _pagescan_range "$_ps_cur" "$pid" ;;
	format)
		# shellcheck disable=SC2046
		_pagescan_reply $(_pagescan_match "$_ps_cur" $(_pagescan_formats "$cmd"))
		;;
	heatmap) _pagescan_reply $(_pagescan_match "$_ps_cur" tui text) ;;
	file) _pagescan_files "$_ps_cur" ;;
	fd) _pagescan_uffds "$_ps_cur" "$pid" ;;
	*) COMPREPLY=() ;;
	esac
}

# _pagescan_kind CMD OPTION: the KIND of OPTION ("--long", an unambiguous
# abbreviation of it, or "-x"); prints nothing when unknown.
_pagescan_kind()
{
	local cmd=$1 opt=$2 s l k found= n=0
	while read -r s l k; do
		if [[ $opt == --* ]]; then
			if [[ --$l == "$opt" ]]; then
				echo "$k"
				return
			fi
			if [[ --$l == "$opt"* ]]; then
				found=$k
				n=$((n + 1))
			fi
		elif [[ $s != - && -$s == "$opt" ]]; then
			echo "$k"
			return
		fi
	done < <(_pagescan_optspec "$cmd")
	((n == 1)) && echo "$found"
}

# _pagescan_wants CMD WORD: if WORD is an option (or a cluster of short
# options) whose argument is the next word, prints its KIND.
_pagescan_wants()
{
	local cmd=$1 w=$2 k i
	case $w in
	--*=* | --) return ;;
	--*)
		k=$(_pagescan_kind "$cmd" "$w")
		[[ -n $k && $k != flag && $k != heatmap ]] && echo "$k"
		;;
	-?*)
		# -qf: flags, then one option that takes the next word
		for ((i = 1; i < ${#w}; i++)); do
			k=$(_pagescan_kind "$cmd" "-${w:i:1}")
			[[ -n $k ]] || return
			if [[ $k != flag ]]; then
				((i == ${#w} - 1)) && echo "$k"
				return
			fi
		done
		;;
	esac
}

_pagescan()
{
	local words=() widx=() cword=-1 i w cur
	local commands='dump engage release watch run demo report'

	# Put back together what COMP_WORDBREAKS split at '=': "--mask" "=" "x".
	for ((i = 0; i < ${#COMP_WORDS[@]} && i <= COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if ((${#words[@]})) && [[ $w == = && ${words[-1]} == --?* && ${words[-1]} != *=* ]]; then
			words[-1]+==
			continue
		fi
		if ((${#words[@]})) && [[ ${words[-1]} == --*= && ${COMP_WORDS[i-1]} == = ]]; then
			words[-1]+=$w
			continue
		fi
		words+=("$w")
		widx+=("$i")  # where the word starts in COMP_WORDS
	done
	cword=$((${#words[@]} - 1))
	cur=${words[cword]}
	COMPREPLY=()

	# The command: the first word that is not a (top-level) option.
	local cmd= cmdi=
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-*) ;;
		*)
			cmd=${words[i]}
			cmdi=$i
			break
			;;
		esac
	done
	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(_pagescan_match "$cur" '-?' --help --usage -V --version)
		else
			# shellcheck disable=SC2086
			mapfile -t COMPREPLY < <(_pagescan_match "$cur" $commands)
		fi
		return 0
	fi
	_pagescan_optspec "$cmd" >/dev/null || return 0

	# Walk the words after the command: the PID (or run's CMD), and
	# whether the word before the cursor is an option waiting for its value.
	local pid= want= ddash= runi= nopt=
	for ((i = cmdi + 1; i < cword; i++)); do
		w=${words[i]}
		if [[ -n $want ]]; then
			want=
			continue
		fi
		if [[ -z $ddash && $w == -- ]]; then
			ddash=1
			[[ $cmd == run ]] && { runi=$((i + 1)); break; }
			continue
		fi
		if [[ -z $ddash && $w == -?* ]]; then
			want=$(_pagescan_wants "$cmd" "$w")
			continue
		fi
		if [[ $cmd == run ]]; then
			runi=$i
			break
		fi
		[[ -z $pid && $w =~ ^[1-9][0-9]*$ ]] && pid=$w
	done
	# A PID later on the line still helps -r and --fd.
	if [[ -z $pid ]]; then
		for ((i = cword + 1; i < ${#COMP_WORDS[@]}; i++)); do
			[[ ${COMP_WORDS[i]} =~ ^[1-9][0-9]*$ ]] && { pid=${COMP_WORDS[i]}; break; }
		done
	fi

	# run -- CMD ARG...: the command's own completion.
	if [[ $cmd == run && -n $runi ]]; then
		if declare -F _command_offset >/dev/null; then
			_command_offset "${widx[runi]}"
		elif ((runi == cword)); then
			mapfile -t COMPREPLY < <(compgen -c -- "$cur" | sort -u)
		else
			_pagescan_files "$cur"
		fi
		return 0
	fi

	if [[ -n $want ]]; then
		_pagescan_value "$cmd" "$want" "$cur" "$pid"
		return 0
	fi
	if [[ -z $ddash && $cur == --*=* ]]; then
		local k
		k=$(_pagescan_kind "$cmd" "${cur%%=*}")
		[[ -n $k && $k != flag ]] && _pagescan_value "$cmd" "$k" "${cur#*=}" "$pid"
		return 0
	fi
	if [[ -z $ddash && $cur == -* ]]; then
		local s l k opts=()
		while read -r s l k; do
			[[ $s != - ]] && opts+=("-$s")
			[[ $l != - ]] && opts+=("--$l")
		done < <(_pagescan_optspec "$cmd")
		[[ $cmd == run ]] && opts+=(--)
		mapfile -t COMPREPLY < <(_pagescan_match "$cur" "${opts[@]}")
		return 0
	fi
	case $cmd in
	dump | engage | release | watch)
		[[ -z $pid ]] && _pagescan_pids "$cur"
		;;
	run)
		mapfile -t COMPREPLY < <(compgen -c -- "$cur" | sort -u)
		;;
	report)
		_pagescan_files "$cur"
		;;
	esac
	return 0
}

complete -F _pagescan pagescan
