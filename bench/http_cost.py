#!/usr/bin/env python3
"""http_cost.py -- user-space instructions per request of the loop server,
counted with callgrind, and how many of them the HTTP path takes.

    bench/http_cost.py [--rate 2000] [--seconds 5] [--backend epoll]
                       [--path /] [--evlab build/release/evlab] [--pipeline D]

Starts `evlab serve --model loop --backend B` under `valgrind
--tool=callgrind`, loads it with `evlab load -R RATE -c 10` (a fixed rate
that the server under valgrind can still keep up with), stops it by its
PID and prints, per request answered: all instructions counted inside
loop_run (start-up and shutdown are left out with --toggle-collect), and
the inclusive counts of the HTTP functions (http_parse, reply_append,
the response writers).  Instruction counts are repeatable where CPU time
on a shared machine is not, so this is the number to compare before and
after a change to lib/http or lib/server/reply.c.

--pipeline D loads it closed-loop instead, `evlab load -c 10 -p D`, the
pipelined case of `bench/loop_cost.py probes`: run it once with the default
build and once with `--evlab build/release-noprobes/evlab` (make PROBES=0)
to count what the probes add to a pipelined request.
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The functions whose inclusive cost is printed, in this order.
FUNCTIONS = ["loop_run", "http_parse", "reply_plan_make", "reply_append",
             "http_response_append", "http_response_append_head"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rate", type=int, default=2000)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--backend", default="epoll")
    ap.add_argument("--path", default="/")
    ap.add_argument("--evlab", default=os.path.join(ROOT, "build/release/evlab"))
    ap.add_argument("--pipeline", type=int, default=0,
                    help="closed loop with D requests in flight per connection instead of -R")
    a = ap.parse_args()

    out = tempfile.NamedTemporaryFile(prefix="http_cost.", suffix=".cg", delete=False).name
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
         "--collect-atstart=no", "--toggle-collect=loop_run",
         a.evlab, "serve", "--model", "loop", "--backend", a.backend, "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()
        m = re.search(r"127\.0\.0\.1:(\d+)", line)
        if not m:
            sys.exit("http_cost: the server did not print its port (got %r)" % line)
        offered = ["-p", str(a.pipeline)] if a.pipeline > 0 else ["-R", str(a.rate)]
        print("callgrind: loop/%s on port %s, evlab load %s -c 10 -d %ds %s"
              % (a.backend, m.group(1), " ".join(offered), a.seconds, a.path), file=sys.stderr)
        target = "http://127.0.0.1:%s%s" % (m.group(1), a.path)
        load = subprocess.run(
            [a.evlab, "load", "-q", "--json", "--warmup", "0s"] + offered +
            ["-c", "10", "-d", "%ds" % a.seconds, target],
            capture_output=True, text=True, check=True)
        requests = json.loads(load.stdout)["requests"]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)

    annotate = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", out],
                              capture_output=True, text=True, check=True).stdout
    os.unlink(out)
    inclusive = {}
    for row in annotate.splitlines():
        # "12,345,678 (45.6%)  lib/http/http_parser.c:http_parse [...]"
        m = re.match(r"\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?\S*?:?(\w+)\s", row + " ")
        if m and m.group(2) in FUNCTIONS and m.group(2) not in inclusive:
            inclusive[m.group(2)] = int(m.group(1).replace(",", ""))
    print("%d requests answered" % requests)
    print("%-28s %14s" % ("function (inclusive)", "instr/request"))
    for name in FUNCTIONS:
        if name in inclusive:
            print("%-28s %14.0f" % (name, inclusive[name] / max(requests, 1)))


if __name__ == "__main__":
    main()
