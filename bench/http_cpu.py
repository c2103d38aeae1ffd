#!/usr/bin/env python3
"""http_cpu.py -- server CPU per request of two evlab builds and the
minimal epoll server, at a fixed rate, in interleaved rounds.

    bench/http_cpu.py --before OLD/evlab [--after build/release/evlab]
                      [--rounds 8] [--seconds 5] [--rate 30000]

Each round runs `evlab serve --model loop --backend epoll` of the build
before a change, the same of the build after it, and
bench/minimal_server.c (the floor, `make bench-tools`), one after the
other, each under `evlab load -R RATE -c 100`; the measuring is
measure_cpu() of bench/loop_cost.py (CPU from /proc, server pinned to
CPU 0, client to CPU 1).  Interleaving matters on a shared machine: a
busy minute then slows all three, not one.  Prints medians, the ratio to
the minimal server, and each round's ratios.
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loop_cost  # noqa: E402  (the measuring is shared, not copied)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", required=True, help="the evlab binary before the change")
    ap.add_argument("--after", default=loop_cost.EVLAB)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rate", type=int, default=30000)
    a = ap.parse_args()
    for path in (a.before, a.after, loop_cost.MINIMAL):
        if not os.access(path, os.X_OK):
            sys.exit("http_cpu: %s is not an executable (make all bench-tools?)" % path)

    serve = ["serve", "--model", "loop", "--backend", "epoll"]
    servers = [("before/epoll", [a.before] + serve),
               ("after/epoll", [a.after] + serve),
               ("minimal/epoll", [loop_cost.MINIMAL, "epoll"])]
    print("server CPU per request, evlab load -R %d -c 100 -d %ds, %d interleaved rounds"
          % (a.rate, a.seconds, a.rounds))
    costs = loop_cost.measure_cpu(servers, ["-R", str(a.rate), "-c", "100"],
                                  a.rounds, a.seconds, 1e6)
    loop_cost.print_medians(costs, "us", "minimal/epoll")
    for name in ("before/epoll", "after/epoll"):
        ratios = [x / m for x, m in zip(costs[name], costs["minimal/epoll"])]
        print("%-16s per-round ratio to minimal: median %.2f, range %.2f-%.2f"
              % (name, statistics.median(ratios), min(ratios), max(ratios)))


if __name__ == "__main__":
    main()
