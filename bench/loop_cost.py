#!/usr/bin/env python3
"""loop_cost.py -- what one request costs the event-loop server, next to
the floor (bench/minimal_server.c), measured the way issue 7 asks.

    bench/loop_cost.py cpu      [--rounds 5] [--seconds 5] [--rate 30000]
    bench/loop_cost.py probes   [--rounds 5] [--seconds 5]
    bench/loop_cost.py syscalls [--seconds 5]
    bench/loop_cost.py idle     [--connections 10000]

cpu       server CPU per request at a fixed rate (evlab load -R RATE
          -c 100): loop/epoll, loop/poll and the minimal epoll and poll
          servers, rounds interleaved, medians printed.
probes    server CPU per request with 16-deep pipelining (evlab load -c 50
          -p 16), probes on (build/release) against probes compiled out
          (build/release-noprobes), rounds interleaved.
syscalls  system calls per keep-alive request at 100 connections, counted
          with strace -c -f on the server (both backends).
idle      RSS per idle keep-alive connection above the server's idle
          baseline (evlab load --idle -c N), both backends.

Server CPU is the run time of every thread of the server from
/proc/PID/task/*/schedstat (user and kernel, in ns) read before and after
the load, divided by the requests the load generator counted.  The server is pinned to CPU 0 and the client to CPU 1
when the machine has two CPUs or more.  Run `make all bench-tools` and
`make PROBES=0 build/release-noprobes/evlab` first.  Every process started
here is stopped by its PID.
"""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# EVLAB and EVLAB_NOPROBES in the environment compare other builds.
EVLAB = os.environ.get("EVLAB", os.path.join(ROOT, "build/release/evlab"))
EVLAB_NOPROBES = os.environ.get("EVLAB_NOPROBES",
                                os.path.join(ROOT, "build/release-noprobes/evlab"))
MINIMAL = os.path.join(ROOT, "build/release/bench/minimal_server")
PIN = os.cpu_count() is not None and os.cpu_count() >= 2


def pinned(cmd, cpu):
    return (["taskset", "-c", str(cpu)] + cmd) if PIN else cmd


def start(cmd):
    """Starts a server, returns (process, port) once it prints its port."""
    proc = subprocess.Popen(pinned(cmd, 0), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    m = re.search(r"127\.0\.0\.1:(\d+)", line)
    if not m:
        proc.kill()
        proc.wait()
        sys.exit("could not start: %s (printed %r)" % (" ".join(cmd), line))
    return proc, int(m.group(1))


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def cpu_seconds(pid):
    """CPU time of every thread of pid so far, user and kernel: the first
    field of /proc/PID/task/TID/schedstat (nanoseconds, where the utime and
    stime of /proc/PID/stat count 10 ms ticks)."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass          # a thread that ended meanwhile
    return total / 1e9


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def load(port, args, seconds):
    cmd = [EVLAB, "load", "-q", "--json", "--warmup", "0s", "-d", "%ds" % seconds]
    out = subprocess.run(pinned(cmd + args + ["127.0.0.1:%d" % port], 1),
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def servers_for_cpu():
    return [
        ("loop/epoll", [EVLAB, "serve", "--model", "loop", "--backend", "epoll"]),
        ("minimal/epoll", [MINIMAL, "epoll"]),
        ("loop/poll", [EVLAB, "serve", "--model", "loop", "--backend", "poll"]),
        ("minimal/poll", [MINIMAL, "poll"]),
    ]


def measure_cpu(servers, load_args, rounds, seconds, unit_ns):
    """Interleaved rounds; returns {name: [per-request cost]}."""
    costs = {name: [] for name, _ in servers}
    for r in range(rounds):
        for name, cmd in servers:
            proc, port = start(cmd)
            time.sleep(0.3)
            before = cpu_seconds(proc.pid)
            result = load(port, load_args, seconds)
            after = cpu_seconds(proc.pid)
            stop(proc)
            cost = (after - before) / max(result["requests"], 1) * unit_ns
            costs[name].append(cost)
            print("  round %d/%d %-16s %8d req %8.0f req/s %9.3f" %
                  (r + 1, rounds, name, result["requests"],
                   result["requests_per_sec"], cost), file=sys.stderr)
    return costs


def print_medians(costs, unit, reference):
    print("%-16s %12s %8s   all rounds" % ("server", "median " + unit, "ratio"))
    ref = statistics.median(costs[reference])
    for name, values in costs.items():
        med = statistics.median(values)
        print("%-16s %12.3f %8.3f   %s" % (name, med, med / ref,
                                            " ".join("%.3f" % v for v in values)))


def cmd_cpu(a):
    print("server CPU per request, evlab load -R %d -c 100 -d %ds, %d interleaved rounds"
          % (a.rate, a.seconds, a.rounds))
    costs = measure_cpu(servers_for_cpu(), ["-R", str(a.rate), "-c", "100"],
                        a.rounds, a.seconds, 1e6)
    print_medians(costs, "us", "minimal/epoll")


def cmd_probes(a):
    print("server CPU per request, evlab load -c 50 -p 16 -d %ds, %d interleaved rounds"
          % (a.seconds, a.rounds))
    servers = [
        ("probes on", [EVLAB, "serve", "--model", "loop", "--backend", a.backend]),
        ("probes off", [EVLAB_NOPROBES, "serve", "--model", "loop", "--backend", a.backend]),
    ]
    costs = measure_cpu(servers, ["-c", "50", "-p", "16"], a.rounds, a.seconds, 1e9)
    print_medians(costs, "ns", "probes off")


def cmd_syscalls(a):
    print("system calls per keep-alive request, evlab load -c 100 -d %ds, strace -c -f"
          % a.seconds)
    for backend in ("epoll", "poll"):
        proc, port = start([EVLAB, "serve", "--model", "loop", "--backend", backend])
        out = "/tmp/loop_cost_strace.%d" % os.getpid()
        tracer = subprocess.Popen(["strace", "-c", "-f", "-o", out, "-p", str(proc.pid)],
                                  stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        result = load(port, ["-c", "100"], a.seconds)
        tracer.send_signal(signal.SIGINT)
        tracer.wait()
        stop(proc)
        calls = {}
        with open(out) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
                    calls[parts[-1]] = int(parts[3])
        os.unlink(out)
        total = sum(calls.values())
        detail = ", ".join("%s %.3f" % (k, v / result["requests"])
                           for k, v in sorted(calls.items(), key=lambda kv: -kv[1])[:4])
        print("%-6s %8d requests  %.3f syscalls/request  (%s)" %
              (backend, result["requests"], total / result["requests"], detail))


def cmd_idle(a):
    print("RSS per idle keep-alive connection above the idle baseline, "
          "evlab load --idle -c %d" % a.connections)
    for backend in ("epoll", "poll"):
        proc, port = start([EVLAB, "serve", "--model", "loop", "--backend", backend])
        time.sleep(0.5)
        base = rss_kib(proc.pid)
        loader = subprocess.Popen([EVLAB, "load", "--idle", "-q", "-c", str(a.connections),
                                   "-d", "10s", "--warmup", "0s", "127.0.0.1:%d" % port],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Wait until every connection is open (or 30 s), then a moment more.
        deadline = time.time() + 30
        while time.time() < deadline:
            if len(os.listdir("/proc/%d/fd" % proc.pid)) >= a.connections:
                break
            time.sleep(0.2)
        time.sleep(1.0)
        rss = rss_kib(proc.pid)
        fds = len(os.listdir("/proc/%d/fd" % proc.pid))
        loader.wait()
        stop(proc)
        print("%-6s baseline %6d KiB  with %d fds %7d KiB  %6.0f bytes per connection" %
              (backend, base, fds, rss, (rss - base) * 1024 / a.connections))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    c = sub.add_parser("cpu")
    c.add_argument("--rounds", type=int, default=5)
    c.add_argument("--seconds", type=int, default=5)
    c.add_argument("--rate", type=int, default=30000)
    pr = sub.add_parser("probes")
    pr.add_argument("--rounds", type=int, default=5)
    pr.add_argument("--seconds", type=int, default=5)
    pr.add_argument("--backend", default="epoll")
    s = sub.add_parser("syscalls")
    s.add_argument("--seconds", type=int, default=5)
    i = sub.add_parser("idle")
    i.add_argument("--connections", type=int, default=10000)
    a = p.parse_args()
    {"cpu": cmd_cpu, "probes": cmd_probes, "syscalls": cmd_syscalls, "idle": cmd_idle}[a.what](a)


if __name__ == "__main__":
    main()
