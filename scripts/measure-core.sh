#!/bin/bash
# Measures what the core issue asks to report, on this machine:
#   1. requests/s of each model on GET / with keep-alive, at 10 and 100
#      connections, with wrk (one thread), probes on and compiled out;
#   2. RSS and thread count of threads vs loop holding N idle connections.
# Usage: scripts/measure-core.sh [SECONDS_PER_RUN] [IDLE_CONNECTIONS]
# Needs: make and make PROBES=0 built (it builds them), wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
idle=${2:-1000}
make -s all >/dev/null
make -s PROBES=0 build/release-noprobes/evlab >/dev/null

start_server() {   # bin model [args...] -> sets PID PORT
    local bin=$1; shift
    local out; out=$(mktemp)
    "$bin" serve --model "$@" --port 0 >"$out" 2>/dev/null &
    PID=$!
    for _ in $(seq 50); do grep -q listening "$out" && break; sleep 0.1; done
    PORT=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$out")
    rm -f "$out"
}

stop_server() { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; }

echo "== requests/s on GET / (wrk -t1, keep-alive, ${secs}s each)"
printf "%-9s %-9s %12s %12s\n" model probes "c=10" "c=100"
for variant in release release-noprobes; do
    for model in blocking threads loop; do
        start_server "build/$variant/evlab" "$model"
        row=()
        for c in 10 100; do
            echo "   $variant $model c=$c ..." >&2
            rps=$(wrk -t1 -c"$c" -d"${secs}s" --timeout 2s "http://127.0.0.1:$PORT/" 2>/dev/null |
                  awk '/Requests\/sec/ {print $2}')
            row+=("${rps:-n/a}")
        done
        stop_server
        printf "%-9s %-9s %12s %12s\n" "$model" \
            "$([ "$variant" = release ] && echo on || echo off)" "${row[0]}" "${row[1]}"
    done
done

echo
echo "== $idle idle keep-alive connections (evlab load --idle)"
printf "%-9s %10s %8s %14s\n" model "RSS MiB" threads "KiB per conn"
for model in threads loop; do
    start_server build/release/evlab "$model"
    base_kb=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
    ./evlab load --idle -q -c "$idle" -d 6s --warmup 0s "127.0.0.1:$PORT" >/dev/null 2>&1 &
    load=$!
    sleep 4
    rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
    threads=$(awk '/Threads/ {print $2}' "/proc/$PID/status")
    wait "$load" || true
    stop_server
    awk -v m="$model" -v rss="$rss_kb" -v base="$base_kb" -v t="$threads" -v n="$idle" \
        'BEGIN { printf "%-9s %10.1f %8d %14.1f\n", m, rss / 1024, t, (rss - base) / n }'
done
