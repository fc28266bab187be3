# SPDX-License-Identifier: MIT
# A private tmux server for tests of the live terminal UI: set TSOCK (a name
# of the test's own) first, kill the server in teardown (TM kill-server).

TM() {
    tmux -L "$TSOCK" -f /dev/null "$@"
}

# tm_start W H: a W x H terminal running a plain shell (prompt "$ ").
tm_start() {
    TM new-session -d -s t -x "$1" -y "$2" "env PS1='\$ ' bash --norc --noprofile" \; set -g status off
    tm_wait '^\$' || return 1
}

tm_screen() {
    TM capture-pane -p -t t
}

# tm_wait REGEX [TENTHS]: until the screen matches (default 30 s); sets SCREEN.
tm_wait() {
    local re=$1 n=${2:-300} i
    for ((i = 0; i < n; i++)); do
        SCREEN=$(tm_screen)
        [[ $SCREEN =~ $re ]] && return 0
        sleep 0.1
    done
    fail "$(printf 'the screen never matched /%s/; it shows:\n%s' "$re" "$SCREEN")"
}

# tm_wait_not REGEX: until the screen no longer matches (30 s).
tm_wait_not() {
    local re=$1 i
    for ((i = 0; i < 300; i++)); do
        SCREEN=$(tm_screen)
        [[ $SCREEN =~ $re ]] || return 0
        sleep 0.1
    done
    fail "$(printf 'the screen still matches /%s/:\n%s' "$re" "$SCREEN")"
}
