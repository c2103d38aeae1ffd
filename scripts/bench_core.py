#!/usr/bin/env python3
"""bench_core.py - what a request and a connection cost in each server model.

`make bench-core` runs this.  One invocation, one table: for blocking,
threads, loop on poll, loop on epoll, and nginx beside them when it is
installed (Debian's nginx-light: one worker, a temporary prefix, a free
port, stopped by PID), and the minimal servers of bench/minimal_server.c
(no HTTP work: the floor a readiness loop cannot go below) when they are
built (make bench-tools):

  syscalls / request   strace -c -f attached to the server while
                       `evlab load -c 100` runs keep-alive GET /; total
                       calls / requests answered.  (strace slows the
                       server; the count per request does not change.)
  CPU us / request     at a fixed rate (`evlab load -R RATE -c 100`, open
                       loop): utime + stime from /proc/PID/stat before and
                       after, / requests answered.  ROUNDS interleaved
                       rounds, the order rotating each round so no server
                       always runs first or last; the median is reported.
  idle connection      `evlab load --idle -c 10000` (one request, then the
                       connection stays open): RSS above the server's
                       idle RSS / 10,000, its threads, and the growth of
                       the machine's KernelStack (/proc/meminfo: the
                       threads' kernel stacks, which RSS does not show).
  time to open 10,000  at once: from starting that load until the server
                       holds 10,000 client descriptors; one by one: this
                       script opens a connection, sends GET /, waits for
                       the reply, keeps the connection open and opens the
                       next, 10,000 times.  One by one, each new client is
                       a turn of the server's wait in which every watched
                       descriptor is scanned by poll(2), and not by epoll.

The servers are pinned to CPU 0 and the load generator to CPU 1 (taskset)
so client and server do not trade places on one core.  The blocking model
serves one connection at a time: it is loaded with one connection and has
no idle-connection figures.  On a shared machine the figures move from run
to run; the ratios inside one run are the fair comparison.
"""

import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

IDLE_CONNECTIONS = 10000
TICKS = os.sysconf("SC_CLK_TCK")


def progress(text):
    print("bench-core: " + text, file=sys.stderr, flush=True)


class Target:
    """A running server: what to load (port) and what to measure (pid)."""

    def __init__(self, label, proc, port, pid):
        self.label, self.proc, self.port, self.pid = label, proc, port, pid
        self.syscalls = None       # per request
        self.top_calls = ""        # the commonest calls, per request
        self.cpu_us = []           # per request, one per round
        self.short_rounds = 0      # rounds answering < 90% of what was due
        self.idle = None           # dict of idle-connection figures
        self.one_by_one = None     # (seconds or None, connections opened)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def pinned(cpu, argv):
    return (["taskset", "-c", str(cpu)] if shutil.which("taskset") and os.cpu_count() > 1 else []) + argv


def start_evlab(evlab, label, args):
    proc = subprocess.Popen(pinned(0, [evlab, "serve", "--port", "0", "--name",
                                       "bench-core-%s-%d" % (label.replace("/", "-"), os.getpid())] + args),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    m = re.search(r"127\.0\.0\.1:(\d+),.* pid (\d+)", line)
    if not m:
        proc.kill()
        raise RuntimeError("%s: evlab serve did not start (%r)" % (label, line))
    return Target(label, proc, int(m.group(1)), int(m.group(2)))


def start_minimal(path, backend):
    proc = subprocess.Popen(pinned(0, [path, backend, "0"]), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    m = re.search(r"127\.0\.0\.1:(\d+) pid (\d+)", line)
    if not m:
        proc.kill()
        raise RuntimeError("minimal %s server did not start (%r)" % (backend, line))
    return Target("minimal/" + backend, proc, int(m.group(1)), int(m.group(2)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


NGINX_CONF = """worker_processes 1;
daemon off;
error_log %(dir)s/error.log;
pid %(dir)s/nginx.pid;
worker_rlimit_nofile 20000;
# nginx starts closing idle keep-alive connections when its connection
# pool runs low (at 10,100 it held only ~9,450 of 10,000), so the pool is
# made well larger than the test needs.
events { worker_connections 16384; }
http {
    access_log off;
    default_type text/plain;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_body_temp_path %(dir)s/body;
    proxy_temp_path %(dir)s/proxy;
    fastcgi_temp_path %(dir)s/fastcgi;
    uwsgi_temp_path %(dir)s/uwsgi;
    scgi_temp_path %(dir)s/scgi;
    # The same reply as evlab's GET /: 6 bytes of text/plain.
    server { listen 127.0.0.1:%(port)d; location = / { return 200 "hello\\n"; } }
}
"""


def start_nginx(prefix):
    """nginx in the foreground (daemon off), so its master is our child and
    is stopped by PID.  nginx cannot listen on port 0: a free port is
    picked first, and another one tried if it was taken meanwhile."""
    for _ in range(5):
        port = free_port()
        with open(os.path.join(prefix, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF % {"dir": prefix, "port": port})
        proc = subprocess.Popen(pinned(0, ["nginx", "-p", prefix, "-e", prefix + "/error.log",
                                           "-c", prefix + "/nginx.conf"]),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(50):
            workers = children(proc.pid)
            if proc.poll() is not None or workers and listening(port):
                break
            time.sleep(0.1)
        if proc.poll() is None and workers:
            return Target("nginx", proc, port, workers[0])
        proc.kill()
        proc.wait()
    raise RuntimeError("nginx did not start; see %s/error.log" % prefix)


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])      # utime, stime


def status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def kernel_stack_kb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("KernelStack:"):
                return int(line.split()[1])
    return 0


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def run_load(evlab, target, args):
    out = subprocess.run(pinned(1, [evlab, "load", "-q", "--json"] + args + ["127.0.0.1:%d" % target.port]),
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return json.loads(out.stdout)


def connections_for(target):
    return "1" if target.label == "blocking" else "100"


def measure_syscalls(evlab, target, seconds, workdir):
    out = os.path.join(workdir, "strace-%s.txt" % target.label.replace("/", "-"))
    # -f with -p attaches every thread of the process and follows new ones.
    tracer = subprocess.Popen(["strace", "-c", "-f", "-q", "-o", out, "-p", str(target.pid)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)                               # let it attach
    result = run_load(evlab, target, ["-c", connections_for(target), "-d", "%ds" % seconds,
                                      "--warmup", "0"])
    tracer.send_signal(signal.SIGINT)             # detach; the summary is written
    tracer.wait(20)
    calls = {}
    with open(out) as f:
        for line in f:
            cols = line.split()
            # % time, seconds, usecs/call, calls, [errors,] name
            if len(cols) >= 5 and re.match(r"^[\d.]+$", cols[0]) and cols[-1] != "total":
                calls[cols[-1]] = int(cols[3])
    requests = max(result["requests"], 1)
    target.syscalls = sum(calls.values()) / requests
    top = sorted(calls.items(), key=lambda kv: -kv[1])[:3]
    target.top_calls = ", ".join("%s %.2f" % (name, n / requests) for name, n in top)


def measure_cpu(evlab, target, rate, seconds):
    before = cpu_ticks(target.pid)
    result = run_load(evlab, target, ["-R", str(rate), "-c", connections_for(target),
                                      "-d", "%ds" % seconds, "--warmup", "0"])
    used_us = (cpu_ticks(target.pid) - before) * 1e6 / TICKS
    us = used_us / max(result["requests"], 1)
    target.cpu_us.append(us)
    if result["requests"] < 0.9 * rate * seconds:
        target.short_rounds += 1
    return us, result["requests"]


def measure_idle(evlab, target, limit_s):
    base_threads = status_kb(target.pid, "Threads")
    base_rss = status_kb(target.pid, "VmRSS")
    base_fds = fd_count(target.pid)
    base_stack = kernel_stack_kb()
    start = time.monotonic()
    load = subprocess.Popen(pinned(1, [evlab, "load", "-q", "--json", "--idle", "-c", str(IDLE_CONNECTIONS),
                                       "-d", "%ds" % (limit_s + 30), "--warmup", "0",
                                       "--connect-timeout", "10s", "127.0.0.1:%d" % target.port]),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    opened_s, last_report = None, start
    while time.monotonic() - start < limit_s:
        held = fd_count(target.pid) - base_fds
        if held >= IDLE_CONNECTIONS:
            opened_s = time.monotonic() - start
            break
        if time.monotonic() - last_report >= 5:
            last_report = time.monotonic()
            progress("  %s holds %d connections after %.0f s" % (target.label, held, last_report - start))
        time.sleep(0.05)
    time.sleep(1.0)                               # let the last replies go out
    rss = status_kb(target.pid, "VmRSS")
    threads = status_kb(target.pid, "Threads")
    stack = kernel_stack_kb()
    held = fd_count(target.pid) - base_fds
    load.send_signal(signal.SIGINT)               # the load stops and reports
    out, _ = load.communicate(timeout=60)
    try:
        answered = json.loads(out)["requests"]
    except ValueError:
        answered = -1
    target.idle = {
        "held": held, "opened_s": opened_s, "answered": answered,
        "rss_per_conn": (rss - base_rss) * 1024 / max(held, 1),
        "rss_mib": rss / 1024, "threads": threads,
        "kernel_stack_mib": (stack - base_stack) / 1024,
    }
    # Wait for the server to let the connections (and the thread model its
    # threads, whose kernel stacks the next KernelStack baseline would
    # otherwise still include) go before the next server is measured.
    end = time.monotonic() + 30
    while (fd_count(target.pid) > base_fds + 10 or
           status_kb(target.pid, "Threads") > base_threads + 2) and time.monotonic() < end:
        time.sleep(0.2)
    time.sleep(1.0)


def measure_one_by_one(target, limit_s):
    request = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
    base_fds = fd_count(target.pid)
    held = []
    start = last_report = time.monotonic()
    try:
        while len(held) < IDLE_CONNECTIONS and time.monotonic() - start < limit_s:
            s = socket.create_connection(("127.0.0.1", target.port), timeout=10)
            held.append(s)
            s.sendall(request)
            reply = b""
            while not reply.endswith(b"hello\n"):
                chunk = s.recv(4096)
                if not chunk:
                    raise OSError("closed before the reply")
                reply += chunk
            if time.monotonic() - last_report >= 5:
                last_report = time.monotonic()
                progress("  %s: %d open after %.0f s" % (target.label, len(held), last_report - start))
    except OSError as e:
        progress("  %s: stopped at %d connections: %s" % (target.label, len(held), e))
    elapsed = time.monotonic() - start
    opened = len(held)
    for s in held:
        s.close()
    end = time.monotonic() + 30
    while fd_count(target.pid) > base_fds + 10 and time.monotonic() < end:
        time.sleep(0.2)
    return elapsed if opened == IDLE_CONNECTIONS else None, opened


def fmt(v, spec, none="n/a"):
    return none if v is None else format(v, spec)


def print_table(targets, opts, nginx_note):
    nginx = next((t for t in targets if t.label == "nginx"), None)
    nginx_cpu = statistics.median(nginx.cpu_us) if nginx and nginx.cpu_us else None
    print()
    print("| server | syscalls / request | CPU µs / request at %d req/s (median, range of %d) "
          "| × nginx | RSS / idle conn at 10,000 | threads | KernelStack Δ "
          "| open 10,000 at once | open 10,000 one by one |"
          % (opts.rate, opts.rounds))
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for t in targets:
        med = statistics.median(t.cpu_us) if t.cpu_us else None
        cpu = "%.1f (%.1f–%.1f)" % (med, min(t.cpu_us), max(t.cpu_us)) if med is not None else "n/a"
        ratio = "%.2f" % (med / nginx_cpu) if med is not None and nginx_cpu else "–"
        idle = t.idle
        if t.one_by_one is None:
            one_by_one = "n/a"
        elif t.one_by_one[0] is None:
            one_by_one = "> %d s (%d open)" % (opts.idle_limit, t.one_by_one[1])
        else:
            one_by_one = "%.2f s" % t.one_by_one[0]
        if idle is None:
            rss = threads = stack = opened = "n/a"
        else:
            incomplete = "" if idle["held"] >= IDLE_CONNECTIONS else " (%d held)" % idle["held"]
            rss = "%.0f B%s" % (idle["rss_per_conn"], incomplete)
            threads = "%d" % idle["threads"]
            stack = "%.1f MiB" % idle["kernel_stack_mib"]
            opened = fmt(idle["opened_s"], ".2f", "> %d" % opts.idle_limit) + " s"
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            t.label, fmt(t.syscalls, ".2f"), cpu, ratio, rss, threads, stack, opened, one_by_one))
    print()
    print("Syscalls per request, the commonest three:")
    for t in targets:
        if t.top_calls:
            print("  %-10s %s" % (t.label, t.top_calls))
    short = ["%s %d" % (t.label, t.short_rounds) for t in targets if t.short_rounds]
    if short:
        print()
        print("CPU rounds in which fewer than 90%% of the %d due requests were answered "
              "(server or client short of CPU): %s." % (opts.rate * opts.seconds, ", ".join(short)))
    print()
    print("blocking: 1 connection (it serves one at a time), no idle figures.  "
          "KernelStack is machine-wide, so other processes move it too.")
    if nginx_note:
        print(nginx_note)


def main():
    ap = argparse.ArgumentParser(description="server core costs, side by side with nginx")
    ap.add_argument("--evlab", default="./evlab")
    ap.add_argument("--rate", type=int, default=30000, help="fixed rate for the CPU rounds")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved CPU rounds")
    ap.add_argument("--seconds", type=int, default=2, help="length of each load run")
    ap.add_argument("--minimal", default=os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build/release/bench/minimal_server"),
                    help="the minimal server binary (skipped when absent)")
    ap.add_argument("--idle-limit", type=int, default=60,
                    help="give up opening 10,000 connections after this many seconds")
    opts = ap.parse_args()
    evlab = os.path.abspath(opts.evlab)
    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="evlab-bench-core-")
    targets = []
    nginx_note = ""
    try:
        for label, args in (("blocking", ["--model", "blocking"]),
                            ("threads", ["--model", "threads"]),
                            ("loop/poll", ["--model", "loop", "--backend", "poll"]),
                            ("loop/epoll", ["--model", "loop", "--backend", "epoll"])):
            targets.append(start_evlab(evlab, label, args))
        if os.access(opts.minimal, os.X_OK):
            for backend in ("poll", "epoll"):
                targets.append(start_minimal(opts.minimal, backend))
        if shutil.which("nginx"):
            prefix = os.path.join(workdir, "nginx")
            os.makedirs(prefix)
            try:
                targets.append(start_nginx(prefix))
            except RuntimeError:
                try:
                    with open(os.path.join(prefix, "error.log"), errors="replace") as f:
                        why = f.read().strip()[-300:]
                except OSError:
                    why = "no error log"
                nginx_note = "nginx did not start, so there is no nginx row: " + why
                progress(nginx_note)
        else:
            nginx_note = "nginx is not installed (apt-get install nginx-light): no nginx column."
        progress("servers: " + ", ".join("%s pid %d port %d" % (t.label, t.pid, t.port) for t in targets))

        if shutil.which("strace"):
            for i, t in enumerate(targets):
                progress("[syscalls %d/%d] %s under strace, %d s" % (i + 1, len(targets), t.label, opts.seconds))
                measure_syscalls(evlab, t, opts.seconds, workdir)
                progress("  %.2f syscalls per request (%s)" % (t.syscalls, t.top_calls))
        else:
            nginx_note += "\nstrace is not installed (scripts/deps.sh install bench-core): no syscall counts."

        for r in range(opts.rounds):
            order = targets[r % len(targets):] + targets[:r % len(targets)]
            for t in order:
                us, n = measure_cpu(evlab, t, opts.rate, opts.seconds)
                progress("[cpu round %d/%d] %-10s %6.2f µs per request (%d requests)"
                         % (r + 1, opts.rounds, t.label, us, n))

        for i, t in enumerate(t for t in targets if t.label != "blocking"):
            progress("[idle %d/%d] %s: opening %d connections" % (i + 1, len(targets) - 1, t.label,
                                                                  IDLE_CONNECTIONS))
            measure_idle(evlab, t, opts.idle_limit)
            progress("  %.0f B per connection, %s threads, opened in %s s" % (
                t.idle["rss_per_conn"], t.idle["threads"], fmt(t.idle["opened_s"], ".2f")))

        # This process holds 10,000 sockets: raise its own descriptor limit.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, IDLE_CONNECTIONS + 100)), hard))
        if os.cpu_count() > 1:
            os.sched_setaffinity(0, {1})
        for i, t in enumerate(t for t in targets if t.label != "blocking"):
            progress("[one by one %d/%d] %s: %d connections, one after another"
                     % (i + 1, len(targets) - 1, t.label, IDLE_CONNECTIONS))
            t.one_by_one = measure_one_by_one(t, opts.idle_limit)
            progress("  %s s" % fmt(t.one_by_one[0], ".2f", "gave up"))
    finally:
        for t in targets:
            t.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print_table(targets, opts, nginx_note.strip())
    progress("done in %.0f s" % (time.monotonic() - started))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
