#!/usr/bin/env python3
"""soak.py - every server model under a long mixed load with hostile clients.

`make soak` runs this (SOAK_S seconds, default 600; CI uses 60).  All four
servers (blocking, threads, loop on poll, loop on epoll) run at the same
time, each with its own clients, so a 10-minute soak takes 10 minutes:

  load      `evlab load` at a fixed rate (open loop) with a mix of GET /,
            GET /echo?TEXT and GET /sleep/5, restarted every few seconds so
            that its connections come and go;
  hostile   one thread per server cycling through four bad clients:
            garbage bytes; slowloris (a request trickled a byte a second);
            resets (a body half sent, then RST; a request, then RST before
            the reply); a non-reader (pipelines requests, never reads);
  probe     a fresh connection with GET / every two seconds;
  sampler   the server's VmRSS, Threads and open descriptors (/proc) once
            a second.

The servers run with --request-timeout 2s and --idle-timeout 5s so that the
hostile clients are timed out and replaced many times during the soak.

It fails (exit 1) when, for any server:
  - no request (load or probe) was answered for STALL_S seconds;
  - the floor of its RSS (the lowest sample) in the last fifth of the run
    is more than 20% + 2 MiB above the floor in the second fifth, or the
    same for descriptors by more than FD_SLACK: a leak raises the floor,
    while load only adds peaks;
  - after every client stopped, its descriptors do not come back to what
    it had before any client, within 15 s;
  - it does not exit 0 on SIGTERM (stopped by PID, SIGKILL after 10 s).
"""

import argparse
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

MODELS = [
    ("blocking", ["--model", "blocking"]),
    ("threads", ["--model", "threads"]),
    ("loop/poll", ["--model", "loop", "--backend", "poll"]),
    ("loop/epoll", ["--model", "loop", "--backend", "epoll"]),
]
TIMEOUT_ARGS = ["--request-timeout", "2s", "--idle-timeout", "5s"]
STALL_S = 30            # longest time without any answered request
LOAD_CHUNK_S = 5        # each `evlab load` run lasts this long
MIX = "/:85,/echo?soak:10,/sleep/5:5"
# Sampled once a second, the lowest descriptor count of a stretch can still
# include every client open at that moment: 8 load connections, 4
# slowloris, the probe and a spare.  More than that above the earlier floor
# is growth.  (The exact check is the one after the clients left.)
FD_SLACK = 16


class Server:
    """One `evlab serve` child, its samples and its counters."""

    started = []                 # every server, to stop them on the way out

    def __init__(self, label, args, evlab):
        self.label = label
        self.lock = threading.Lock()
        self.samples = []            # (t, rss_kb, threads, fds)
        self.requests = 0            # answered by the load generator
        self.load_errors = 0
        self.probes_ok = 0
        self.probes_failed = 0
        self.hostile = {"garbage": 0, "slowloris": 0, "reset": 0, "non-reader": 0}
        self.last_answer = time.monotonic()
        self.longest_stall = 0.0
        self.failures = []
        self.proc = subprocess.Popen(
            [evlab, "serve", "--port", "0", "--name", "soak-%s-%d" % (label.replace("/", "-"), os.getpid())]
            + args + TIMEOUT_ARGS,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.pid = self.proc.pid
        Server.started.append(self)
        line = self.proc.stdout.readline()   # the one "listening on" line
        if "listening on 127.0.0.1:" not in line:
            raise RuntimeError("%s: evlab serve did not start: %r" % (label, line))
        self.port = int(line.split("127.0.0.1:")[1].split(",")[0])

    def answered(self):
        with self.lock:
            now = time.monotonic()
            self.longest_stall = max(self.longest_stall, now - self.last_answer)
            self.last_answer = now

    def stalled_for(self):
        with self.lock:
            return time.monotonic() - self.last_answer

    def read_proc(self):
        """(rss_kb, threads, fds) from /proc, or None once it is gone."""
        try:
            rss = threads = 0
            with open("/proc/%d/status" % self.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss = int(line.split()[1])
                    elif line.startswith("Threads:"):
                        threads = int(line.split()[1])
            fds = len(os.listdir("/proc/%d/fd" % self.pid))
            return rss, threads, fds
        except OSError:
            return None

    def stop(self):
        """SIGTERM by PID; SIGKILL after 10 s.  Returns the exit status."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return -9


def connect(port, timeout):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.settimeout(timeout)
    return s


def reset_close(s):
    """Close with SO_LINGER 0: the peer gets an RST instead of a FIN."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def wait_closed(s, limit_s):
    """Reads until the server closes (True) or limit_s passes (False)."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        try:
            if not s.recv(65536):
                return True
        except socket.timeout:
            continue
        except OSError:
            return True
    return False


def hostile_garbage(srv, stop):
    s = connect(srv.port, 2)
    s.sendall(bytes(random.randrange(256) for _ in range(2048)) + b"\r\n\r\n")
    wait_closed(s, 8)
    s.close()


def hostile_slowloris(srv, stop):
    conns = [connect(srv.port, 1) for _ in range(4)]
    for c in conns:
        c.sendall(b"GET / HTTP/1.1\r\nHost: soak\r\n")
    # One header byte a second until the server's request timeout closes
    # the connection (8 s at most, then we give up ourselves).
    for _ in range(8):
        if stop.is_set():
            break
        for c in conns:
            try:
                c.sendall(b"X")
            except OSError:
                pass
        time.sleep(1)
    for c in conns:
        c.close()


def hostile_reset(srv, stop):
    s = connect(srv.port, 2)
    s.sendall(b"POST /echo HTTP/1.1\r\nHost: soak\r\nContent-Length: 100000\r\n\r\n" + b"x" * 30000)
    reset_close(s)
    s = connect(srv.port, 2)
    s.sendall(b"GET /echo?" + b"y" * 4000 + b" HTTP/1.1\r\nHost: soak\r\n\r\n")
    reset_close(s)


def hostile_non_reader(srv, stop):
    s = connect(srv.port, 1)
    request = b"GET /echo?" + b"z" * 1000 + b" HTTP/1.1\r\nHost: soak\r\n\r\n"
    end = time.monotonic() + 4
    try:
        while time.monotonic() < end and not stop.is_set():
            s.sendall(request * 16)      # blocks (then times out) once the
    except OSError:                      # server stops reading us
        pass
    reset_close(s)


HOSTILE = [("garbage", hostile_garbage), ("slowloris", hostile_slowloris),
           ("reset", hostile_reset), ("non-reader", hostile_non_reader)]


def hostile_thread(srv, stop):
    i = 0
    while not stop.is_set():
        kind, fn = HOSTILE[i % len(HOSTILE)]
        i += 1
        try:
            fn(srv, stop)
            with srv.lock:
                srv.hostile[kind] += 1
        except OSError:
            time.sleep(0.5)             # e.g. connect timed out behind the
        time.sleep(0.2)                 # blocking model's accept queue


def probe_thread(srv, stop):
    while not stop.is_set():
        ok = False
        try:
            s = connect(srv.port, 15)
            s.sendall(b"GET / HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n")
            ok = s.recv(64).startswith(b"HTTP/1.1 200")
            s.close()
        except OSError:
            pass
        with srv.lock:
            if ok:
                srv.probes_ok += 1
            else:
                srv.probes_failed += 1
        if ok:
            srv.answered()
        stop.wait(2)


def load_thread(srv, stop, evlab):
    # The blocking model serves one connection at a time: one load
    # connection, or the others would only wait in its accept queue.
    conns, rate = ("1", "300") if srv.label == "blocking" else ("8", "1000")
    while not stop.is_set():
        out = subprocess.run(
            [evlab, "load", "-q", "--json", "-d", "%ds" % LOAD_CHUNK_S, "--warmup", "0",
             "-R", rate, "-c", conns, "--timeout", "3s", "--mix", MIX,
             "127.0.0.1:%d" % srv.port],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            result = json.loads(out.stdout)
        except ValueError:
            time.sleep(1)
            continue
        with srv.lock:
            srv.requests += result["requests"]
            srv.load_errors += result["errors"]["total"]
        if result["requests"] > 0:
            srv.answered()


def floor(samples, lo, hi, index):
    values = [s[index] for s in samples if lo <= s[0] < hi]
    return min(values) if values else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--evlab", default="./evlab")
    opts = ap.parse_args()
    if opts.seconds < 20:
        sys.exit("soak: --seconds must be at least 20")
    evlab = os.path.abspath(opts.evlab)

    servers = []
    try:
        for label, args in MODELS:
            servers.append(Server(label, args, evlab))
    except (RuntimeError, OSError) as e:
        for srv in servers:
            srv.stop()
        sys.exit("soak: %s" % e)
    for srv in servers:
        # One answered request first, so lazily opened descriptors are in
        # the baseline; then the baseline is the count with no client.
        try:
            s = connect(srv.port, 5)
            s.sendall(b"GET / HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n")
            wait_closed(s, 5)
            s.close()
        except OSError:
            pass
    time.sleep(0.5)
    baseline = {srv.label: srv.read_proc() for srv in servers}
    print("soak: %d s, servers %s" % (opts.seconds, ", ".join(
        "%s (pid %d, port %d)" % (s.label, s.pid, s.port) for s in servers)), flush=True)

    stop = threading.Event()
    threads = []
    for srv in servers:
        for target, args in ((hostile_thread, (srv, stop)), (probe_thread, (srv, stop)),
                             (load_thread, (srv, stop, evlab))):
            t = threading.Thread(target=target, args=args, daemon=True)
            t.start()
            threads.append(t)

    start = time.monotonic()
    next_report = 10
    while True:
        elapsed = time.monotonic() - start
        if elapsed >= opts.seconds:
            break
        for srv in servers:
            sample = srv.read_proc()
            if sample is None:
                srv.failures.append("the server exited during the soak")
                stop.set()
            else:
                srv.samples.append((elapsed,) + sample)
            if srv.stalled_for() > STALL_S:
                srv.failures.append("answered nothing for %d s (at %.0f s)" % (STALL_S, elapsed))
                stop.set()
        if stop.is_set():
            break
        if elapsed >= next_report:
            next_report += 10
            print("soak: %3.0f/%d s  " % (elapsed, opts.seconds) + "  ".join(
                "%s %d req, %.1f MiB, %d fds" % (s.label, s.requests, s.samples[-1][1] / 1024,
                                                  s.samples[-1][3])
                for s in servers if s.samples), flush=True)
        time.sleep(1)

    stop.set()
    print("soak: stopping the clients ...", flush=True)
    for t in threads:
        t.join(LOAD_CHUNK_S + 15)
    elapsed = max(time.monotonic() - start, 1)

    # Descriptors back to the baseline once every client is gone.
    settled = {}
    for srv in servers:
        want = baseline[srv.label][2]
        end = time.monotonic() + 15
        now = srv.read_proc()
        while now is not None and now[2] > want and time.monotonic() < end:
            time.sleep(0.25)
            now = srv.read_proc()
        settled[srv.label] = now[2] if now else -1
        if now is None or now[2] > want:
            srv.failures.append("descriptors %s after the clients left, %d before they came"
                                % (settled[srv.label], want))

    total = opts.seconds
    for srv in servers:
        rss2, rss5 = floor(srv.samples, total * 0.2, total * 0.4, 1), floor(srv.samples, total * 0.8, total + 1, 1)
        fd2, fd5 = floor(srv.samples, total * 0.2, total * 0.4, 3), floor(srv.samples, total * 0.8, total + 1, 3)
        srv.floors = (rss2, rss5, fd2, fd5)
        if rss2 is not None and rss5 is not None and rss5 > rss2 * 1.2 + 2048:
            srv.failures.append("RSS floor grew from %d to %d KiB" % (rss2, rss5))
        if fd2 is not None and fd5 is not None and fd5 > fd2 + FD_SLACK:
            srv.failures.append("descriptor floor grew from %d to %d" % (fd2, fd5))
        status = srv.stop()
        if status != 0:
            srv.failures.append("exit status %d on SIGTERM" % status)

    print()
    print("| model | requests | req/s | load errors | probes ok/failed | longest stall s "
          "| hostile clients | RSS MiB start → floor 2nd/5th fifth → peak | fds start → floor → peak → after |")
    print("|---|--:|--:|--:|--:|--:|--:|---|---|")
    for srv in servers:
        base = baseline[srv.label]
        rss2, rss5, fd2, fd5 = srv.floors
        peak_rss = max((s[1] for s in srv.samples), default=0)
        peak_fd = max((s[3] for s in srv.samples), default=0)
        mib = lambda kb: "%.1f" % (kb / 1024) if kb is not None else "-"
        print("| %s | %d | %.0f | %d | %d/%d | %.1f | %d | %s → %s / %s → %s | %d → %s / %s → %d → %d |" % (
            srv.label, srv.requests, srv.requests / elapsed, srv.load_errors, srv.probes_ok,
            srv.probes_failed, srv.longest_stall, sum(srv.hostile.values()),
            mib(base[0]), mib(rss2), mib(rss5), mib(peak_rss),
            base[2], fd2, fd5, peak_fd, settled[srv.label]))
    print()
    failed = [(s.label, f) for s in servers for f in s.failures]
    for label, f in failed:
        print("soak: FAIL %s: %s" % (label, f))
    if failed:
        return 1
    print("soak: ok, %d models, %d s, no growth, every server answering and exiting 0" % (len(servers), total))
    return 0


def on_sigterm(signum, frame):
    raise KeyboardInterrupt


def run():
    """main(), but Ctrl-C, SIGTERM or an error still stops every server by PID."""
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        return main()
    except KeyboardInterrupt:
        print("soak: interrupted", file=sys.stderr)
        return 130
    finally:
        for srv in Server.started:
            if srv.proc.poll() is None:
                srv.stop()


if __name__ == "__main__":
    sys.exit(run())
