#!/bin/bash
# test_load_no_read.sh — `evlab load --no-read` end to end against a real
# `evlab serve --model loop`: while two clients push requests and never
# read, the server pauses reading them (reads_paused 2) and holds about
# one high watermark of replies per connection (output_queued); the
# load's own segment shows bytes sent and none read (`evlab stats` on a
# load); its --json says no_read, sent > 0, bytes_read 0.  And the
# command line refuses --no-read with --idle.
set -u
EVLAB=${EVLAB_BIN:-./evlab}
tmp=$(mktemp -d)
server_pid=
load_pid=
cleanup() {
    for pid in $load_pid $server_pid; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "rerun: TESTS=test_load_no_read make test"; exit 1; }

name="e2e-noread-$$"
"$EVLAB" serve --model loop --name "$name" >"$tmp/serve.out" 2>"$tmp/serve.err" &
server_pid=$!
for _ in $(seq 200); do grep -q "listening on" "$tmp/serve.out" && break; sleep 0.1; done
port=$(sed -n 's/.*listening on [^:]*:\([0-9]*\).*/\1/p' "$tmp/serve.out")
[ -n "$port" ] || fail "server did not start: $(cat "$tmp/serve.err")"

# 1. A usage error, exit 2, one line that names both options.
"$EVLAB" load --no-read --idle "127.0.0.1:$port" >/dev/null 2>"$tmp/usage.err"
rc=$?
[ "$rc" = 2 ] || fail "--no-read --idle exited $rc, expected 2"
head -1 "$tmp/usage.err" | grep -q -- "--idle and --no-read" \
    || fail "--no-read --idle message: $(head -1 "$tmp/usage.err")"
"$EVLAB" load --help | grep -q -- "--no-read" || fail "evlab load --help does not document --no-read"

# 2. Two clients that never read, 200-byte echoes at 10,000/s in total,
# for 6 s; we look at the server while they push.
query=$(printf 'x%.0s' $(seq 200))
"$EVLAB" load --no-read -R 10000 -c 2 -d 6s --warmup 0 --json --mix "/echo?$query" "$name" \
    >"$tmp/load.json" 2>"$tmp/load.err" &
load_pid=$!
paused=0
for _ in $(seq 50); do
    sleep 0.1
    "$EVLAB" stats --json "$name" >"$tmp/stats.json" 2>/dev/null || continue
    paused=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["gauges"]["reads_paused"])' "$tmp/stats.json")
    [ "$paused" = 2 ] && break
done
[ "$paused" = 2 ] || fail "reads_paused is $paused after 5 s of clients that never read, expected 2 (backpressure on)"
sleep 0.5   # paused: nothing more may be queued now
"$EVLAB" stats --json "$name" >"$tmp/stats.json" || fail "evlab stats $name failed"
python3 - "$tmp/stats.json" <<'PY' || fail "output_queued is not bounded by the watermark"
import json, sys
g = json.load(open(sys.argv[1]))["gauges"]
high = 256 * 1024          # LOOP_OUTPUT_HIGH_WATERMARK, lib/common/limits.h
# Per connection: the watermark plus the one reply that crossed it.
assert high < g["output_queued"] <= 2 * (high + 4096), g
PY
load_name="load-$port-$load_pid"
"$EVLAB" stats "$load_name" >"$tmp/loadstats.txt" 2>&1 || fail "evlab stats $load_name: $(cat "$tmp/loadstats.txt")"
grep -q "latency the clients measured" "$tmp/loadstats.txt" || fail "evlab stats on a load: no client latency: $(cat "$tmp/loadstats.txt")"
grep -Eq "^  bytes_read +0$" "$tmp/loadstats.txt" || fail "the clients read something: $(cat "$tmp/loadstats.txt")"
grep -Eq "^  bytes_sent +[1-9]" "$tmp/loadstats.txt" || fail "the clients sent nothing: $(cat "$tmp/loadstats.txt")"
grep -q "client_errors" "$tmp/loadstats.txt" || fail "evlab stats on a load: no client_errors"

wait "$load_pid" || fail "load exited $?: $(cat "$tmp/load.err")"
load_pid=
python3 - "$tmp/load.json" <<'PY' || fail "--no-read JSON: $(cat "$tmp/load.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["no_read"] is True and r["bytes_read"] == 0 and r["requests"] == 0, r
assert r["sent"] > 100 and r["bytes_written"] > 100 * 200, r
# Backpressure reached the clients: TCP stopped taking their requests,
# so many of the 60,000 due were never sent.
assert r["unsent"] > 0, r
PY
echo "test_load_no_read: ok"
