#!/usr/bin/env bash
# ring.sh: start, watch, type into and stop a lab ring of p2p (or cdht) peers.
#
# Usually called through the Makefile (make run-ring, send, join, kill, stop,
# status, timeline, ring), which passes its variables in the environment:
#
#   RING         peers of the initial ring, any order   (default "2 4 5 8 9 14 19")
#   INTERVAL     ping interval in seconds                (default 5; the course uses 30)
#   BASE_PORT    peer i listens on BASE_PORT + i         (default 12000)
#   TERM_UI      auto | tmux | xterm | background        (default auto)
#   TMUX_LAYOUT  windows | tiled                         (default windows)
#   P2P          the peer binary                         (default target/release/p2p)
#   PEER_ARGS    extra options for every peer, e.g. "--mss 500 --drop 0.1 --seed 7"
#   QUIET_PINGS  1: the peers print no ping lines (--quiet-pings; the logs keep them)
#   COURSE       p2p | 2019                              (default p2p)
#   RUN_DIR      where the rings' files live              (default run/ of the repository)
#
# COURSE=2019 runs the 2019 course's program, cdht, instead:
#   RING         default "1 3 4 5 8 10 12 15" (the demo ring); BASE_PORT default 50000
#   CDHT         the peer binary                         (default target/release/cdht)
#   MSS, DROP    cdht's <MSS> and <DROP_PROBABILITY>      (default 400 and 0.1)
# Each peer runs 'cdht N S1 S2 MSS DROP --ping-interval INTERVAL --base-port
# BASE_PORT --dir run/BASE_PORT/peer-N PEER_ARGS'; the peer responsible for
# file 2012 (peer 1 of the demo ring) starts with 2012.pdf. cdht has no join.
#
# Every peer also gets --log run/BASE_PORT/peer-N.log (a timestamped copy of
# its output) and --echo-commands (each command it reads shows in its window
# and log as '> Store 2067'), and runs with P2P_LAUNCHED_BY=make in its
# environment, so that its hints name make's settings (BASE_PORT=).
#
# Everything about ring BASE_PORT lives in run/BASE_PORT/:
#   state          mode, tmux session, ring and interval of the running ring
#   peer-N.log     the peer's stdout and stderr, each line after its UTC time
#                  of day (HH:MM:SS.mmm), written by the peer itself (--log)
#   peer-N.err     the peer's standard error as it is: an error the peer
#                  writes before its log is open (a bad PEER_ARGS) is here
#   peer-N/        the peer's data directory (--dir)
#   peer-N.in      a FIFO that the peer reads as its standard input
#   peer-N.pid     the peer's process id, written by the peer's launcher
#   peer-N.term.pid  the xterm's process id (xterm mode)
#   peer-N.cmd     the peer's command line
#
# Commands (see usage below) never wait for a terminal: they return at once.

set -euo pipefail

SCRIPT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
ROOT=$(cd "$(dirname "$SCRIPT")/.." && pwd)
RUN_ROOT=${RUN_DIR:-$ROOT/run}
case $RUN_ROOT in
    /*) ;;
    *) RUN_ROOT=$PWD/$RUN_ROOT ;;
esac

# Tells every peer started from here that make's settings are the user's
# words (see the top of this script).
export P2P_LAUNCHED_BY=make

DEFAULT_RING="2 4 5 8 9 14 19"
DEFAULT_BASE_PORT=12000
DEFAULT_RING_2019="1 3 4 5 8 10 12 15"
DEFAULT_BASE_PORT_2019=50000

# The course of this command: p2p (the current one) or 2019 (cdht).
COURSE=${COURSE:-p2p}
case $COURSE in
    p2p | 2019) ;;
    *)
        printf "ring.sh: COURSE must be p2p or 2019, not '%s'\n" "$COURSE" >&2
        exit 1
        ;;
esac

# The base port when BASE_PORT is not given: the course's.
default_base_port() {
    if [ "$COURSE" = 2019 ]; then
        printf '%s' "$DEFAULT_BASE_PORT_2019"
    else
        printf '%s' "$DEFAULT_BASE_PORT"
    fi
}

usage() {
    cat <<EOF
Usage:
  ring.sh start                   start the ring RING on BASE_PORT
  ring.sh join PEER KNOWN         start PEER with 'join PEER KNOWN' in the running ring
  ring.sh send PEER COMMAND...    type COMMAND into PEER (e.g. send 8 Store 2067)
  ring.sh kill PEER               kill PEER abruptly (SIGKILL), as a crash would
  ring.sh stop [BASE_PORT]        stop that ring, or every ring under run/
  ring.sh status [BASE_PORT]      show which peers of which rings are running
  ring.sh timeline [BASE_PORT]    every peer's log in time order, without the pings
  ring.sh ring [ARGS...]          run 'p2p ring --base-port BASE_PORT ARGS...' on the ring
Settings come from the environment: RING, INTERVAL, BASE_PORT, TERM_UI,
TMUX_LAYOUT, P2P, PEER_ARGS, QUIET_PINGS, RUN_DIR, and COURSE=2019 with CDHT,
MSS, DROP (see the top of this script). COURSE=2019 has no join.
EOF
}

die() {
    printf 'ring.sh: %s\n' "$*" >&2
    exit 1
}

note() {
    printf '%s\n' "$*"
}

# --- paths and checks -------------------------------------------------------

ring_dir() { printf '%s/%s' "$RUN_ROOT" "$1"; }

# Path relative to the repository root, for messages.
rel() { printf '%s' "${1#"$ROOT"/}"; }

check_base_port() {
    case $1 in
        '' | *[!0-9]*) die "BASE_PORT must be a number, not '$1'" ;;
    esac
    if [ "$1" -lt 1 ] || [ "$1" -gt 65280 ]; then
        die "BASE_PORT must be from 1 to 65280 (peer 255 needs BASE_PORT + 255), not $1"
    fi
}

check_peer() {
    case $1 in
        '' | *[!0-9]*) die "a peer is a number from 0 to 255, not '$1'" ;;
    esac
    [ "$1" -le 255 ] || die "a peer is a number from 0 to 255, not $1"
}

# The PID in FILE, if the file exists and holds a number.
read_pid() {
    local pid=''
    if [ -f "$1" ]; then
        read -r pid <"$1" 2>/dev/null || true
    fi
    case $pid in
        '' | *[!0-9]*) return 1 ;;
    esac
    printf '%s' "$pid"
}

# Is PID alive? A zombie is not: it waits only for its parent (here often
# init) to collect it.
alive() {
    local stat
    kill -0 "$1" 2>/dev/null || return 1
    stat=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    case $stat in Z*) return 1 ;; esac
    return 0
}

# Is PID alive and one of ring BASE_PORT's processes? A process is ours when
# its command line names a data directory of that ring, run/BASE_PORT/peer-N:
# no unrelated process has that, and a recycled PID fails the test.
is_ours() {
    local pid=$1 bp=$2 args
    alive "$pid" || return 1
    args=$(ps -ww -o comm=,args= -p "$pid" 2>/dev/null) || return 1
    case $args in
        tmux*) return 1 ;;
    esac
    case $args in
        *"--dir $(ring_dir "$bp")/peer-"*) return 0 ;;
    esac
    return 1
}

# Every live process whose command line names a data directory of ring
# BASE_PORT: the peers, and in tmux or xterm mode their launchers and xterms.
# A tmux server keeps the command line of the client that started it, which
# may be ours, but it serves other sessions too: it is never one of ours.
scan_ours() {
    local bp=$1 marker pid comm args
    marker="--dir $(ring_dir "$bp")/peer-"
    ps -ww -eo pid=,comm=,args= 2>/dev/null | while read -r pid comm args; do
        [ "$pid" = "$$" ] && continue
        case $comm in tmux*) continue ;; esac
        case $args in
            *"$marker"*) printf '%s\n' "$pid" ;;
        esac
    done
}

# Is peer N of ring BASE_PORT running? Prints its PID when it is.
peer_pid() {
    local bp=$1 n=$2 pid
    pid=$(read_pid "$(ring_dir "$bp")/peer-$n.pid") || return 1
    is_ours "$pid" "$bp" || return 1
    printf '%s' "$pid"
}

# Peers that have a pid file in ring BASE_PORT, in numeric order.
known_peers() {
    local f n
    for f in "$(ring_dir "$1")"/peer-*.pid; do
        [ -e "$f" ] || continue
        n=${f##*/peer-}
        n=${n%.pid}
        case $n in *[!0-9]*) continue ;; esac
        printf '%s\n' "$n"
    done | sort -n
}

# Rings that have a directory under run/.
known_rings() {
    local d bp
    for d in "$RUN_ROOT"/*/; do
        [ -d "$d" ] || continue
        bp=${d%/}
        bp=${bp##*/}
        case $bp in '' | *[!0-9]*) continue ;; esac
        printf '%s\n' "$bp"
    done | sort -n
}

# Loads MODE, SESSION, RING_LAYOUT, RING_PEERS, RING_INTERVAL, RING_P2P,
# RING_PEER_ARGS, RING_QUIET_PINGS and STARTED of ring BASE_PORT, and for a cdht ring
# RING_COURSE (2019; empty for a p2p ring), RING_MSS and RING_DROP.
load_state() {
    # shellcheck disable=SC2034 # RING_P2P is only a record of what ran
    MODE='' SESSION='' TMUX_SOCKET='' RING_LAYOUT='' RING_PEERS='' RING_INTERVAL='' RING_P2P='' RING_PEER_ARGS='' RING_QUIET_PINGS='' STARTED=''
    # shellcheck disable=SC2034 # RING_MSS and RING_DROP are records too
    RING_COURSE='' RING_MSS='' RING_DROP=''
    local f
    f="$(ring_dir "$1")/state"
    [ -f "$f" ] || return 1
    # The file is written by this script: KEY=value lines, values quoted.
    # shellcheck disable=SC1090
    . "$f"
}

# Is anything of ring BASE_PORT still running?
ring_alive() {
    local bp=$1
    if load_state "$bp" && [ -n "$SESSION" ] && command -v tmux >/dev/null 2>&1 &&
        tm has-session -t "=$SESSION" 2>/dev/null; then
        return 0
    fi
    [ -n "$(scan_ours "$bp")" ]
}

# tmux, on the server of the ring's session once it is known (the session may
# have been started inside another tmux, on that tmux's server).
tm() {
    if [ -n "${TMUX_SOCKET:-}" ]; then
        tmux -S "$TMUX_SOCKET" "$@"
    else
        tmux "$@"
    fi
}

# Quotes a word for sh (tmux runs a window's command with sh -c).
shquote() {
    printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

# The absolute path of the peer binary: p2p, or cdht with COURSE=2019;
# 'resolve_p2p p2p' is always p2p's.
resolve_p2p() {
    local p=${P2P:-$ROOT/target/release/p2p} var=P2P program=${1:-$COURSE}
    if [ "$program" = 2019 ]; then
        p=${CDHT:-$ROOT/target/release/cdht} var=CDHT
    fi
    case $p in
        */*) ;;
        *) p=$(command -v "$p") || die "$var=$p: no such command" ;;
    esac
    case $p in
        /*) ;;
        *) p=$ROOT/$p ;;
    esac
    [ -x "$p" ] || die "no peer binary at $(rel "$p"): build it with 'cargo build --release' (or set $var)"
    printf '%s' "$p"
}

# Picks the terminal mode from TERM_UI and what this machine has.
choose_mode() {
    local ui=${TERM_UI:-auto}
    case $ui in
        auto | '')
            if command -v tmux >/dev/null 2>&1; then
                echo tmux
            elif [ -n "${DISPLAY:-}" ] && command -v xterm >/dev/null 2>&1; then
                echo xterm
            else
                echo background
            fi
            ;;
        tmux)
            command -v tmux >/dev/null 2>&1 || die "TERM_UI=tmux, but tmux is not installed"
            echo tmux
            ;;
        xterm)
            [ -n "${DISPLAY:-}" ] || die "TERM_UI=xterm, but DISPLAY is not set"
            command -v xterm >/dev/null 2>&1 || die "TERM_UI=xterm, but xterm is not installed"
            echo xterm
            ;;
        background) echo background ;;
        *) die "TERM_UI must be auto, tmux, xterm or background, not '$ui'" ;;
    esac
}

# --- sample files -------------------------------------------------------------

# Writes a deterministic sample file: a text header, then COUNT blocks of the
# 256 byte values (NUL, newlines and bytes above 127 included), so a transfer
# that mangles binary data shows up in a byte-for-byte comparison.
write_sample() {
    local file=$1 count=$2 block='' i
    local esc
    for ((i = 0; i < 256; i++)); do
        printf -v esc '\\%03o' "$i"
        block=$block$esc
    done
    {
        printf 'p2p lab sample file %s (not a real PDF)\n' "${file##*/}"
        for i in $(seq 1 "$count"); do
            # The block holds only octal escapes, so it is a safe format.
            # shellcheck disable=SC2059
            printf "$block"
        done
        printf '\nend of %s\n' "${file##*/}"
    } >"$file"
}

# ---- SAMPLE FILES: the files that the ring's peers hold when it starts. ----
# One peer holds 2067.pdf and 4103.pdf (see sample_holder). For now they are
# generated stand-ins (see write_sample); when the real sample files are
# added to the repository, copy them in here instead. Everything else in
# this script only creates empty data directories.
seed_peer_dir() {
    local dir=$1
    write_sample "$dir/2067.pdf" 20 # 5 KiB and a bit: a few segments
    write_sample "$dir/4103.pdf" 80 # 20 KiB and a bit: many segments
}

# The peer of the sorted ring PEERS... that starts with the sample files, and
# that the hints name for 'make send PEER=N CMD='Store 2067'': peer 8, as in
# the course, or in a ring without 8 its fourth peer (its first, in a ring of
# three), so that the command the hint shows always finds its file.
sample_holder() {
    local n
    for n in "$@"; do
        if [ "$n" = 8 ]; then
            printf '8'
            return
        fi
    done
    if [ $# -gt 3 ]; then printf '%s' "$4"; else printf '%s' "$1"; fi
}

# COURSE=2019: the peer of the sorted ring PEERS... that holds file 2012 (its
# hash is 2012 mod 256 = 220): the first peer from 220 on, wrapping. On the
# demo ring that is peer 1.
holder_2012() {
    local n
    for n in "$@"; do
        if [ "$n" -ge 220 ]; then
            printf '%s' "$n"
            return
        fi
    done
    printf '%s' "$1"
}

# --- free ports -----------------------------------------------------------------

# The ports among PORTS... that a socket of this machine holds, one line
# each: 'UDP 12008' for a UDP socket bound to it, 'TCP 12008' for a TCP
# socket listening on it, on any address (a peer binds 127.0.0.1, which a
# socket on 0.0.0.0 or :: blocks too). Read from /proc/net on Linux, or
# from ss elsewhere; with neither, nothing is found, and a taken port shows
# only when its peer fails to start.
taken_ports() {
    local want='' port
    for port in "$@"; do want="$want $(printf '%04X' "$port")"; done
    if [ -r /proc/net/udp ]; then
        # A line of /proc/net/{udp,tcp}[6]: 'sl local_address rem_address st ...',
        # the local port in hex after the last colon of local_address, and
        # for TCP the state 0A: listening.
        awk -v want="$want" '
            BEGIN { n = split(want, list, " "); for (i = 1; i <= n; i++) wanted[list[i]] = 1 }
            FNR == 1 { proto = (FILENAME ~ /udp/) ? "UDP" : "TCP"; next }
            {
                port = $2; sub(/.*:/, "", port)
                if (!(port in wanted) || (proto == "TCP" && $4 != "0A")) next
                if (!seen[proto port]++) print proto, port
            }' /proc/net/udp /proc/net/udp6 /proc/net/tcp /proc/net/tcp6 2>/dev/null |
            while read -r proto port; do printf '%s %s\n' "$proto" "$((16#$port))"; done
    elif command -v ss >/dev/null 2>&1; then
        ss -Hlnu 2>/dev/null | awk '{ print "UDP", $4 }'
        ss -Hlnt 2>/dev/null | awk '{ print "TCP", $4 }'
    fi | while read -r proto port; do
        port=${port##*:}
        for want in "$@"; do
            if [ "$port" = "$want" ]; then printf '%s %s\n' "$proto" "$port"; fi
        done
    done | sort -u -k2,2n -k1,1
}

# A base port on which every port of the ring PEERS... is free: the first
# of 13000, 14000, ... 32000, then 2000 ... 11000 (below the range from
# which Linux picks the ports of outgoing connections), other than
# BASE_PORT itself. Fails when there is none.
free_base_port() {
    local bp=$1 candidate n
    shift
    local -a ports
    for candidate in $(seq 13000 1000 32000) $(seq 2000 1000 11000); do
        [ "$candidate" = "$bp" ] && continue
        ports=()
        for n in "$@"; do ports+=("$((candidate + n))"); done
        if [ -z "$(taken_ports "${ports[@]}")" ]; then
            printf '%s' "$candidate"
            return 0
        fi
    done
    return 1
}

# Refuses, in one line, to start the ring PEERS... on BASE_PORT when some
# program (often another student's ring) holds one of its ports, before any
# peer starts: peers beside a foreign ring would ping it and mix with it.
check_ports_free() {
    local bp=$1 n port proto taken first='' others=0 peer='' suggestion how
    local COURSE_VAR=''
    [ "$COURSE" = p2p ] || COURSE_VAR=' COURSE=2019'
    shift
    local -a ports
    for n in "$@"; do ports+=("$((bp + n))"); done
    taken=$(taken_ports "${ports[@]}")
    [ -n "$taken" ] || return 0
    while read -r proto port; do
        if [ -z "$first" ]; then
            first=$port
            peer=$((port - bp))
        elif [ "$port" != "$first" ]; then
            others=$((others + 1))
        fi
    done <<<"$taken"
    # 'UDP and TCP', or the one protocol in use.
    proto=''
    grep -qx "UDP $first" <<<"$taken" && proto=UDP
    grep -qx "TCP $first" <<<"$taken" && proto="${proto:+$proto and }TCP"
    case $others in
        0) others='' ;;
        1) others=', as is 1 more port of the ring' ;;
        *) others=", as are $others more ports of the ring" ;;
    esac
    if suggestion=$(free_base_port "$bp" "$@"); then
        how="make run-ring${COURSE_VAR:-} BASE_PORT=$suggestion"
        [ -n "${MAKELEVEL:-}" ] || how="BASE_PORT=$suggestion${COURSE_VAR:-} scripts/ring.sh start"
        suggestion="; start the ring on a free base port instead, e.g. $how"
    else
        suggestion="; no base port from 2000 to 32000 has all of this ring's ports free"
    fi
    die "port $first of peer $peer is in use ($proto) by another program, perhaps another ring$others, so no peer was started$suggestion"
}

# --- starting peers -----------------------------------------------------------

# Runs COMMAND... in a new session, detached from this shell and its
# terminal; the new process writes its own PID into PIDFILE before exec.
# setsid -f forks by itself, so the child does not inherit the SIGINT and
# SIGQUIT that bash ignores for its '&' jobs.
spawn_detached() {
    local pidfile=$1
    shift
    if command -v setsid >/dev/null 2>&1; then
        # shellcheck disable=SC2016 # expanded by the inner sh
        setsid -f sh -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@"
    else
        # shellcheck disable=SC2016
        sh -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" &
    fi
}

# The options every peer of ring BASE_PORT gets from this script, for peer
# N, into the array LAB_ARGS: its log, the echo of its commands and, with
# QUIET_PINGS=1, no ping lines.
lab_args() {
    local bp=$1 n=$2
    LAB_ARGS=(--log "$(ring_dir "$bp")/peer-$n.log" --echo-commands)
    case ${QUIET_PINGS:-} in
        '' | 0) ;;
        1) LAB_ARGS+=(--quiet-pings) ;;
        *) die "QUIET_PINGS must be 1 (no ping lines) or empty, not '$QUIET_PINGS'" ;;
    esac
}

# Starts peer N of ring BASE_PORT in MODE with the p2p arguments ARGS...
start_peer() {
    local bp=$1 n=$2 mode=$3
    shift 3
    local dir fifo pidfile cmd word
    dir=$(ring_dir "$bp")
    fifo=$dir/peer-$n.in
    pidfile=$dir/peer-$n.pid
    rm -f "$pidfile" "$dir/peer-$n.term.pid"
    [ -p "$fifo" ] || mkfifo "$fifo"
    printf '%s\n' "$*" >"$dir/peer-$n.cmd"

    case $mode in
        background)
            # Standard input is the FIFO opened read-write, so the peer holds
            # a writer itself and never reads end-of-file. Its output is in
            # its log (--log); only standard error is kept as it is, for an
            # error written before the log is open.
            spawn_detached "$pidfile" "$@" 0<>"$fifo" >/dev/null 2>>"$dir/peer-$n.err"
            ;;
        tmux)
            cmd="exec bash $(shquote "$SCRIPT") _pane $bp $n"
            for word in "$@"; do cmd="$cmd $(shquote "$word")"; done
            if ! tm has-session -t "=$SESSION" 2>/dev/null; then
                tm new-session -d -s "$SESSION" -n "$(first_window_name "$bp" "$n")" \
                    -x 200 -y 50 -c "$ROOT" "$cmd"
                TMUX_SOCKET=$(tm display-message -p -t "=$SESSION:" '#{socket_path}')
                write_state "$bp"
                tm set-option -t "=$SESSION:" -q status-left "[ring $bp] "
                tm set-option -t "=$SESSION:" -q status-left-length 20
                if [ "$TMUX_LAYOUT" = tiled ]; then
                    tm set-option -w -t "=$SESSION:" -q pane-border-status top
                    tm set-option -w -t "=$SESSION:" -q pane-border-format ' #{pane_title} '
                fi
                tm select-pane -t "=$SESSION:" -T "Peer $n"
            elif [ "$TMUX_LAYOUT" = tiled ]; then
                # Split the last pane, so the panes keep the ring's order.
                local pane
                pane=$(tm list-panes -t "=$SESSION:" -F '#{pane_id}' | tail -n 1)
                pane=$(tm split-window -d -P -F '#{pane_id}' -t "$pane" -c "$ROOT" "$cmd")
                tm select-pane -t "$pane" -T "Peer $n"
                tm select-layout -t "=$SESSION:" tiled >/dev/null
            else
                tm new-window -d -t "=$SESSION:" -n "Peer $n" -c "$ROOT" "$cmd"
            fi
            ;;
        xterm)
            # Cascade the windows, so that each title shows.
            local slot cmds=("$dir"/peer-*.cmd)
            slot=$(((${#cmds[@]} - 1) % 12))
            spawn_detached "$dir/peer-$n.term.pid" \
                xterm -T "Peer $n" -n "Peer $n" -geometry "100x30+$((40 * slot))+$((30 * slot))" \
                -e bash "$SCRIPT" _pane "$bp" "$n" "$@" \
                </dev/null >>"$dir/peer-$n.xterm.err" 2>&1
            ;;
    esac
}

first_window_name() {
    if [ "$TMUX_LAYOUT" = tiled ]; then echo "Ring $1"; else echo "Peer $2"; fi
}

# What peer N of ring BASE_PORT said before it stopped, indented: its
# errors, or else the end of its standard error, or else of its log.
why_not_running() {
    local dir err log
    dir=$(ring_dir "$1")
    err=$dir/peer-$2.err
    log=$dir/peer-$2.log
    if grep -Eq '^[a-z0-9]+: error: ' "$err" 2>/dev/null; then
        printf '%s says:\n' "$(rel "$err")"
        grep -E -m 3 '^[a-z0-9]+: error: ' "$err"
    elif [ -s "$err" ]; then
        printf 'the end of %s:\n' "$(rel "$err")"
        tail -n 5 "$err"
    elif [ -s "$log" ]; then
        printf 'the end of %s:\n' "$(rel "$log")"
        tail -n 5 "$log"
    else
        printf 'it wrote nothing (%s is empty)\n' "$(rel "$log")"
        return
    fi | sed '2,$s/^/    /'
}

# Waits until each of the peers has written its pid file, then a moment
# more, and reports the peers that are not running (a busy port, a bad
# argument). Returns 1 when one is missing.
check_started() {
    local bp=$1 n tries failed=''
    shift
    for n in "$@"; do
        tries=0
        while [ ! -s "$(ring_dir "$bp")/peer-$n.pid" ] && [ "$tries" -lt 100 ]; do
            sleep 0.1
            tries=$((tries + 1))
        done
    done
    sleep 0.5
    for n in "$@"; do
        if ! peer_pid "$bp" "$n" >/dev/null; then
            failed="$failed $n"
        fi
    done
    [ -z "$failed" ] && return 0
    # One peer's reason: the others usually fail the same way.
    read -r n others <<<"$failed"
    printf 'ring.sh: peer %s is not running%s; %s\n' "$n" "${others:+ (nor are $others)}" \
        "$(why_not_running "$bp" "$n")" >&2
    return 1
}

# With COURSE=2019, N is the peer that should request 2012 from HOLDER.
how_to_watch() {
    local bp=$1 n=$2 holder=${3:-} bpvar='' cmd="'Store 2067'"
    if [ "$COURSE" = 2019 ]; then
        bpvar=" COURSE=2019"
        [ "$bp" = "$DEFAULT_BASE_PORT_2019" ] || bpvar=" BASE_PORT=$bp"
        cmd="'request 2012'"
    else
        [ "$bp" = "$DEFAULT_BASE_PORT" ] || bpvar=" BASE_PORT=$bp"
    fi
    case $MODE in
        tmux)
            local client=tmux
            if [ "$TMUX_SOCKET" != "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/default" ]; then
                client="tmux -S $TMUX_SOCKET"
            fi
            if [ -n "${TMUX:-}" ]; then
                note "  watch: $client switch-client -t $SESSION"
            else
                note "  watch: $client attach -t $SESSION"
            fi
            if [ "$TMUX_LAYOUT" = tiled ]; then
                note "         (one pane per peer; Ctrl-b o: next pane, Ctrl-b z: zoom, Ctrl-b d: detach)"
            else
                note "         (one window per peer; Ctrl-b n / p: next / previous, Ctrl-b w: list, Ctrl-b d: detach)"
            fi
            ;;
        xterm) note "  watch: one xterm per peer, titled 'Peer N'" ;;
    esac
    note "  logs:  tail -f $(rel "$(ring_dir "$bp")")/peer-*.log   (each line after its UTC time)"
    note "         make timeline$bpvar: every peer's lines in time order, without the pings"
    case $MODE in
        background) note "  type:  make send PEER=$n CMD=$cmd$bpvar" ;;
        *) note "  type:  in the peer's window, or make send PEER=$n CMD=$cmd$bpvar" ;;
    esac
    if [ "$COURSE" = 2019 ]; then
        note "         (peer $holder holds 2012.pdf; CMD=quit: the peer leaves; make kill PEER=N$bpvar: it dies)"
    else
        note "         (peer $n starts with 2067.pdf and 4103.pdf)"
    fi
    note "  stop:  make stop$bpvar"
}

write_state() {
    local bp=$1
    {
        printf 'MODE=%s\n' "$(shquote "$MODE")"
        printf 'SESSION=%s\n' "$(shquote "$SESSION")"
        printf 'TMUX_SOCKET=%s\n' "$(shquote "${TMUX_SOCKET:-}")"
        printf 'RING_LAYOUT=%s\n' "$(shquote "$TMUX_LAYOUT")"
        printf 'RING_PEERS=%s\n' "$(shquote "$RING_PEERS")"
        printf 'RING_INTERVAL=%s\n' "$(shquote "$RING_INTERVAL")"
        printf 'RING_P2P=%s\n' "$(shquote "$P2P_BIN")"
        printf 'RING_PEER_ARGS=%s\n' "$(shquote "${PEER_ARGS:-}")"
        printf 'RING_QUIET_PINGS=%s\n' "$(shquote "${QUIET_PINGS:-}")"
        printf 'STARTED=%s\n' "$(shquote "$(date '+%Y-%m-%d %H:%M:%S')")"
        if [ "$COURSE" = 2019 ]; then
            printf 'RING_COURSE=2019\n'
            printf 'RING_MSS=%s\n' "$(shquote "$MSS")"
            printf 'RING_DROP=%s\n' "$(shquote "$DROP")"
        fi
    } >"$(ring_dir "$bp")/state"
}

cmd_start() {
    local bp=${BASE_PORT:-$(default_base_port)} peers n i count s1 s2 dir
    local default_ring=$DEFAULT_RING holder='' requester=''
    check_base_port "$bp"
    # Refuse rather than start a second ring on the same ports. (This loads
    # the old state, so it comes before the new settings.)
    if ring_alive "$bp"; then
        die "a ring already runs on base port $bp$(load_state "$bp" && printf ' (%s mode)' "$MODE"); stop it first with: make stop BASE_PORT=$bp"
    fi
    RING_INTERVAL=${INTERVAL:-5}
    [ -n "$RING_INTERVAL" ] || die "INTERVAL must not be empty"
    TMUX_LAYOUT=${TMUX_LAYOUT:-windows}
    case $TMUX_LAYOUT in windows | tiled) ;; *) die "TMUX_LAYOUT must be windows or tiled" ;; esac
    if [ "$COURSE" = 2019 ]; then
        default_ring=$DEFAULT_RING_2019
        MSS=${MSS-400} DROP=${DROP-0.1}
        [ -n "$MSS" ] || die "MSS must not be empty (cdht's <MSS>, e.g. MSS=400)"
        [ -n "$DROP" ] || die "DROP must not be empty (cdht's <DROP_PROBABILITY>, e.g. DROP=0.1)"
    fi

    # The ring in sorted order; each peer's successors are the next two.
    local -a ring
    read -r -a ring <<<"$(printf '%s' "${RING:-$default_ring}" | tr ',\n\t' '   ')"
    [ "${#ring[@]}" -gt 0 ] || die "RING is empty"
    for n in "${ring[@]}"; do check_peer "$n"; done
    peers=$(printf '%s\n' "${ring[@]}" | sed 's/^0*\([0-9]\)/\1/' | sort -n)
    [ -z "$(printf '%s\n' "$peers" | uniq -d)" ] || die "RING names a peer twice: ${ring[*]}"
    read -r -a ring <<<"$(printf '%s' "$peers" | tr '\n' ' ')"
    count=${#ring[@]}
    RING_PEERS="${ring[*]}"
    # Each peer is told its first and second successors, two peers other
    # than itself.
    if [ "$count" -lt 3 ]; then
        local peers_word=peers
        [ "$count" -gt 1 ] || peers_word=peer
        die "RING='${RING:-}' has $count $peers_word, but a ring needs at least 3: each peer starts with two successors other than itself (e.g. RING='2 4 5')"
    fi
    lab_args "$bp" "${ring[0]}"
    check_ports_free "$bp" "${ring[@]}"

    SESSION=p2p-$bp
    [ "$COURSE" = p2p ] || SESSION=cdht-$bp
    TMUX_SOCKET=""
    MODE=$(choose_mode)
    if [ "$MODE" = tmux ] && tm has-session -t "=$SESSION" 2>/dev/null; then
        die "a tmux session named $SESSION already exists; close it first (tmux kill-session -t $SESSION)"
    fi
    [ "$MODE" = tmux ] || SESSION=''
    P2P_BIN=$(resolve_p2p)

    # A fresh run: the previous run's logs and data of this base port go.
    dir=$(ring_dir "$bp")
    rm -rf "$dir"
    mkdir -p "$dir"
    for n in "${ring[@]}"; do mkdir -p "$dir/peer-$n"; done
    if [ "$COURSE" = 2019 ]; then
        # 2012.pdf at the peer responsible for it (peer 1 of the demo ring);
        # 10 KiB and a bit: a few dozen segments at MSS 400.
        holder=$(holder_2012 "${ring[@]}")
        write_sample "$dir/peer-$holder/2012.pdf" 40
    else
        holder=$(sample_holder "${ring[@]}")
        seed_peer_dir "$dir/peer-$holder"
    fi
    write_state "$bp"

    # From the first peer on, an interrupted start stops what it started.
    trap 'stop_ring "$bp" >/dev/null; exit 130' INT TERM
    for ((i = 0; i < count; i++)); do
        n=${ring[i]}
        s1=${ring[(i + 1) % count]}
        s2=${ring[(i + 2) % count]}
        lab_args "$bp" "$n"
        if [ "$COURSE" = 2019 ]; then
            # shellcheck disable=SC2086
            start_peer "$bp" "$n" "$MODE" "$P2P_BIN" "$n" "$s1" "$s2" "$MSS" "$DROP" \
                --ping-interval "$RING_INTERVAL" --base-port "$bp" --dir "$dir/peer-$n" \
                "${LAB_ARGS[@]}" ${PEER_ARGS:-}
        else
            # shellcheck disable=SC2086
            start_peer "$bp" "$n" "$MODE" "$P2P_BIN" init "$n" "$s1" "$s2" "$RING_INTERVAL" \
                --base-port "$bp" --dir "$dir/peer-$n" "${LAB_ARGS[@]}" ${PEER_ARGS:-}
        fi
    done

    # A ring with a peer missing is not the ring that was asked for: stop
    # the others rather than leave part of it running.
    if ! check_started "$bp" "${ring[@]}"; then
        stop_ring "$bp" >/dev/null
        die "stopped the ring, so that no part of it runs; its logs stay in $(rel "$dir")/"
    fi
    trap - INT TERM
    if [ "$COURSE" = 2019 ]; then
        # The demo requests 2012 at peer 8; on another ring, at a peer that
        # does not hold it.
        for n in "${ring[@]}"; do
            [ "$n" = "$holder" ] && continue
            [ -z "$requester" ] && requester=$n
            [ "$n" = 8 ] && requester=8
        done
        [ -n "$requester" ] || requester=$holder
        note "Ring on base port $bp: cdht peers $RING_PEERS, MSS $MSS, drop $DROP, ping interval $RING_INTERVAL s, $MODE mode."
        how_to_watch "$bp" "$requester" "$holder"
        return 0
    fi
    note "Ring on base port $bp: peers $RING_PEERS, ping interval $RING_INTERVAL s, $MODE mode."
    how_to_watch "$bp" "$holder"
}

cmd_join() {
    local bp=${BASE_PORT:-$(default_base_port)} n=${1:-} known=${2:-} dir
    if [ "$COURSE" = 2019 ]; then
        die "COURSE=2019 has no join: cdht peers cannot join a ring (its commands are request NNNN and quit); restart the ring with another RING instead"
    fi
    [ -n "$n" ] || die "join needs PEER and KNOWN (make join PEER=15 KNOWN=4)"
    [ -n "$known" ] ||
        die "join needs PEER and KNOWN (make join PEER=15 KNOWN=4)"
    check_base_port "$bp"
    check_peer "$n"
    check_peer "$known"
    if ! load_state "$bp" || ! ring_alive "$bp"; then
        die "no ring runs on base port $bp; start one with make run-ring"
    fi
    if [ "$RING_COURSE" = 2019 ]; then
        die "the ring on base port $bp runs cdht (COURSE=2019), which has no join"
    fi
    # The newcomer looks like the ring's peers: same layout, interval, options.
    TMUX_LAYOUT=${RING_LAYOUT:-windows}
    PEER_ARGS=${PEER_ARGS:-$RING_PEER_ARGS}
    QUIET_PINGS=${QUIET_PINGS:-$RING_QUIET_PINGS}
    if peer_pid "$bp" "$n" >/dev/null; then
        die "peer $n already runs in ring $bp"
    fi
    if [ "$MODE" = tmux ] && ! tm has-session -t "=$SESSION" 2>/dev/null; then
        die "the ring's tmux session $SESSION is gone; stop the ring and start it again"
    fi
    P2P_BIN=$(resolve_p2p)
    dir=$(ring_dir "$bp")
    mkdir -p "$dir/peer-$n"
    lab_args "$bp" "$n"
    # shellcheck disable=SC2086
    start_peer "$bp" "$n" "$MODE" "$P2P_BIN" join "$n" "$known" "$RING_INTERVAL" \
        --base-port "$bp" --dir "$dir/peer-$n" "${LAB_ARGS[@]}" ${PEER_ARGS:-}
    check_started "$bp" "$n" || return 1
    note "Peer $n joins ring $bp through peer $known ($MODE mode); its log: $(rel "$dir/peer-$n.log")"
}

# --- typing, killing, stopping --------------------------------------------------

# The ring that send and kill act on: BASE_PORT's, or the course's default.
# Through make without BASE_PORT and COURSE (BASE_PORT_GIVEN empty), when no
# ring runs on 12000 but a cdht ring runs on 50000, that one, so that
# 'make send PEER=8 CMD='request 2012'' reaches the ring of
# 'make run-ring COURSE=2019'.
pick_ring() {
    local bp=${BASE_PORT:-$(default_base_port)}
    if [ -z "${BASE_PORT_GIVEN-${BASE_PORT:+yes}}" ] && [ "$COURSE" = p2p ] &&
        [ "$bp" = "$DEFAULT_BASE_PORT" ] && ! ring_alive "$bp" &&
        load_state "$DEFAULT_BASE_PORT_2019" && [ "$RING_COURSE" = 2019 ] &&
        ring_alive "$DEFAULT_BASE_PORT_2019"; then
        bp=$DEFAULT_BASE_PORT_2019
    fi
    printf '%s' "$bp"
}

cmd_send() {
    local bp n=${1:-} fifo example="'Store 2067'"
    bp=$(pick_ring)
    [ "$COURSE" = p2p ] || example="'request 2012'"
    [ -n "$n" ] || die "send needs a peer (make send PEER=8 CMD=$example)"
    shift || true
    [ -n "$*" ] ||
        die "send needs a command (make send PEER=8 CMD=$example)"
    check_base_port "$bp"
    check_peer "$n"
    fifo=$(ring_dir "$bp")/peer-$n.in
    if ! peer_pid "$bp" "$n" >/dev/null || [ ! -p "$fifo" ]; then
        die "peer $n of ring $bp is not running$(running_rings_hint)"
    fi
    # Opened read-write, the FIFO never blocks the sender; the line waits in
    # the pipe until the peer reads it. The peer shows it too, as '> ...'
    # (--echo-commands).
    printf '%s\n' "$*" 1<>"$fifo"
    if [ "$bp" = "$(default_base_port)" ]; then
        note "Sent '$*' to peer $n"
    else
        note "Sent '$*' to peer $n of ring $bp"
    fi
}

running_rings_hint() {
    local bp list=''
    for bp in $(known_rings); do
        ring_alive "$bp" && list="$list $bp"
    done
    if [ -n "$list" ]; then
        printf '; rings running on base ports:%s' "$list"
    else
        printf '; no ring is running'
    fi
}

cmd_kill() {
    local bp n=${1:-} pid
    bp=$(pick_ring)
    [ -n "$n" ] || die "kill needs a peer (make kill PEER=5)"
    check_base_port "$bp"
    check_peer "$n"
    pid=$(peer_pid "$bp" "$n") || die "peer $n of ring $bp is not running$(running_rings_hint)"
    kill -KILL "$pid"
    note "Killed peer $n of ring $bp (pid $pid) without warning."
}

# Stops everything of ring BASE_PORT: its tmux session, xterms, launchers and
# peers. The processes are found through the pid files and through a scan
# for command lines naming the ring's data directories (see is_ours).
stop_ring() {
    local bp=$1 f pid pids='' tries peers
    local dir
    dir=$(ring_dir "$bp")
    [ -d "$dir" ] || return 0
    load_state "$bp" || true
    peers=$(known_peers "$bp" | tr '\n' ' ')

    for f in "$dir"/peer-*.pid; do
        [ -e "$f" ] || continue
        pid=$(read_pid "$f") || continue
        is_ours "$pid" "$bp" && pids="$pids $pid"
    done
    pids="$pids $(scan_ours "$bp" | tr '\n' ' ')"

    if [ -n "$SESSION" ] && command -v tmux >/dev/null 2>&1 &&
        tm has-session -t "=$SESSION" 2>/dev/null; then
        tm kill-session -t "=$SESSION" 2>/dev/null || true
    fi
    for pid in $pids; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    tries=0
    while [ "$tries" -lt 30 ]; do
        local left=''
        for pid in $pids; do
            alive "$pid" && left="$left $pid"
        done
        pids=$left
        [ -z "$pids" ] && break
        sleep 0.1
        tries=$((tries + 1))
    done
    for pid in $pids; do
        kill -KILL "$pid" 2>/dev/null || true
    done

    rm -f "$dir/state" "$dir"/peer-*.pid "$dir"/peer-*.term.pid "$dir"/peer-*.in
    if [ -n "$peers" ]; then
        STOPPED_ANY=yes
        note "Stopped ring $bp (peers ${peers% }${MODE:+, $MODE mode}); logs stay in $(rel "$dir")/"
    fi
}

cmd_stop() {
    local bp
    if [ $# -gt 0 ] && [ -n "$1" ]; then
        check_base_port "$1"
        STOPPED_ANY=''
        stop_ring "$1"
        [ -n "$STOPPED_ANY" ] || note "No ring on base port $1."
    else
        STOPPED_ANY=''
        for bp in $(known_rings); do
            stop_ring "$bp"
        done
        [ -n "$STOPPED_ANY" ] || note "No ring is running."
    fi
}

cmd_status() {
    local bp n pid rings any=''
    if [ $# -gt 0 ] && [ -n "$1" ]; then rings=$1; else rings=$(known_rings); fi
    for bp in $rings; do
        load_state "$bp" || continue
        any=yes
        if [ "$RING_COURSE" = 2019 ]; then
            printf 'Ring %s: cdht (COURSE=2019, MSS %s, drop %s), %s mode%s, ping interval %s s, started %s\n' \
                "$bp" "$RING_MSS" "$RING_DROP" "$MODE" \
                "${SESSION:+ (tmux session $SESSION)}" "$RING_INTERVAL" "${STARTED:-?}"
        else
            printf 'Ring %s: %s mode%s, ping interval %s s, started %s\n' "$bp" "$MODE" \
                "${SESSION:+ (tmux session $SESSION)}" "$RING_INTERVAL" "${STARTED:-?}"
        fi
        for n in $(known_peers "$bp"); do
            if pid=$(peer_pid "$bp" "$n"); then
                printf '  peer %-3s running  pid %-7s port %s\n' "$n" "$pid" "$((bp + n))"
            else
                printf '  peer %-3s stopped\n' "$n"
            fi
        done
    done
    [ -n "$any" ] || note "No ring is running."
}

# --- the ring's story and its shape ------------------------------------------------

# The peers that have a log in ring directory DIR, in numeric order.
logged_peers() {
    local f n
    for f in "$1"/peer-*.log; do
        [ -e "$f" ] || continue
        n=${f##*/peer-}
        n=${n%.log}
        case $n in '' | *[!0-9]*) continue ;; esac
        printf '%s\n' "$n"
    done | sort -n
}

# Prints every line of every peer's log of ring BASE_PORT (or of the ring
# send and kill would pick), merged in time order, each after its peer,
# without the ping lines. The logs are those the peers write with --log:
# each line begins with its UTC time of day, HH:MM:SS.mmm, which sorts as
# text (a ring that runs across midnight UTC sorts its later lines first).
cmd_timeline() {
    local bp=${1:-} dir f n found=''
    [ -n "$bp" ] || bp=$(pick_ring)
    check_base_port "$bp"
    dir=$(ring_dir "$bp")
    for f in "$dir"/peer-*.log; do
        if [ -s "$f" ]; then found=yes; fi
    done
    [ -n "$found" ] ||
        die "no peer logs in $(rel "$dir")/: start a ring with make run-ring, or give the BASE_PORT of one"
    # In the peers' order, so that lines of the same millisecond do too.
    for n in $(logged_peers "$dir"); do
        f=$dir/peer-$n.log
        # The ping lines are matched by their fixed words, as
        # src/output/lines.rs words them: p2p's three, and cdht's two
        # (cdht prints no line for the pings it sends).
        awk -v peer="$n" '
            !/^[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\.[0-9][0-9][0-9] / { next }
            {
                text = substr($0, 14)
                if (text ~ /^Ping requests? sent to Peers? /) next
                if (text ~ /^Ping request message received from Peer /) next
                if (text ~ /^Ping response received from Peer /) next
                if (text ~ /^A ping (request|response) message was received from Peer /) next
                printf "%s peer %-3s %s\n", $1, peer, text
            }' "$f"
    done | LC_ALL=C sort -s -k1,1
}

# Runs the ring checker, 'p2p ring --base-port BASE_PORT ARGS...', on ring
# BASE_PORT (or on the ring send and kill would pick). A cdht ring speaks
# the same protocol, so p2p checks it too. Its exit code is the checker's:
# 0 when the ring is consistent.
cmd_ring() {
    local bp p2p
    bp=$(pick_ring)
    check_base_port "$bp"
    p2p=$(resolve_p2p p2p)
    exec "$p2p" ring --base-port "$bp" "$@"
}

# --- inside a tmux window or an xterm ---------------------------------------------

# Runs one peer in a terminal: the peer reads the FIFO, a background cat copies
# the keyboard into the FIFO, and the peer's output goes to the terminal; the
# peer writes its log itself (--log), and its standard error is also kept in
# peer-N.err, for an error written before the log is open. Ctrl-C stops the
# peer (as in the course); the window then stays until Enter is pressed.
cmd_pane() {
    local bp=$1 n=$2 dir fifo log status
    shift 2
    dir=$(ring_dir "$bp")
    fifo=$dir/peer-$n.in
    log=$dir/peer-$n.log
    if load_state "$bp" && [ "$RING_COURSE" = 2019 ]; then
        printf 'Peer %s of ring %s (cdht): type request NNNN or quit (timestamped log: %s)\n' \
            "$n" "$bp" "$(rel "$log")"
    else
        printf 'Peer %s of ring %s: type Quit, Store NNNN or Request NNNN (timestamped log: %s)\n' \
            "$n" "$bp" "$(rel "$log")"
    fi
    exec 3<&0 4>&2
    cat <&3 1<>"$fifo" &
    local keyboard=$!
    # A handler (not an ignore) for SIGINT: the shell survives Ctrl-C to say
    # what happened, while the peer, which gets the default action, stops.
    trap 'true' INT
    set +e
    # (The outer 2>/dev/null only silences the shell's own "Killed" notice;
    # the peer's stderr reaches the terminal through fd 4.)
    {
        (echo "$BASHPID" >"$dir/peer-$n.pid" && exec "$@") 0<>"$fifo" \
            2> >(tee -ai "$dir/peer-$n.err" >&4)
    } 2>/dev/null
    status=$?
    kill "$keyboard" 2>/dev/null
    if [ "$status" -gt 128 ]; then
        printf '\nPeer %s was stopped by signal %s. Press Enter to close.\n' "$n" "$((status - 128))"
    else
        printf '\nPeer %s exited with status %s. Press Enter to close.\n' "$n" "$status"
    fi
    read -r _ <&3 || true
}

# --- main ---------------------------------------------------------------------

main() {
    local command=${1:-}
    [ $# -gt 0 ] && shift
    case $command in
        start) cmd_start "$@" ;;
        join) cmd_join "$@" ;;
        send) cmd_send "$@" ;;
        kill) cmd_kill "$@" ;;
        stop) cmd_stop "$@" ;;
        status) cmd_status "$@" ;;
        timeline) cmd_timeline "$@" ;;
        ring) cmd_ring "$@" ;;
        _pane) cmd_pane "$@" ;;
        -h | --help | help) usage ;;
        *)
            usage >&2
            exit 2
            ;;
    esac
}

main "$@"
