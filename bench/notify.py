#!/usr/bin/python3
"""notify.py ENVELOPES PORT CMD... - stream the envelopes of ENVELOPES (one
per line) through one running CMD (sm-notify) as `sm-pipeline work` runs
it: SM_STAGE_STATUS_FD names a pipe, the script waits for "ready", then
hands over one envelope at a time and waits for its envelope on stdout and
its status line before the next. A webhook receiver on 127.0.0.1:PORT
(HTTP/1.1, keep-alive) served here stamps each arrival and counts the TCP
connections it accepted.

Prints one line: "n connections requests to_arrival_median to_arrival_p90
done_median done_p90 done_mean cpu_ms_per_envelope peak_rss_kib", times in
milliseconds: to_arrival is from writing the envelope to the receiver
reading its request (what an alert's latency sees), done to the status
line (the envelope recorded and written); peak RSS is the process's
VmHWM before its input ends. The first 5 envelopes (warm-up:
the first connection, a cold page cache) are not in the figures. CPU is
the process's own time on CPU from its "ready" to its last status line
(/proc/PID/schedstat), divided by the envelopes."""
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WARMUP = 5
path, port, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
arrivals = []
connections = 0
lock = threading.Lock()


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def setup(self):
        global connections
        super().setup()
        with lock:
            connections += 1

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            arrivals.append(time.monotonic())
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_PUT = do_POST

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", port), Receiver)
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()


def cpu_ns(pid):
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


with open(path, "rb") as f:
    lines = [line for line in f if line.strip()]
status_r, status_w = os.pipe()
env = dict(os.environ, SM_STAGE_STATUS_FD=str(status_w), SM_STORE_SYNC="normal")
proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                        pass_fds=(status_w,))
os.close(status_w)
status = os.fdopen(status_r, "rb", buffering=0)


def status_line():
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = status.read(1)
        if not chunk:
            sys.exit(f"notify.py: {cmd[0]} ended early")
        buf += chunk
    return buf


if status_line() != b"ready\n":
    sys.exit(f"notify.py: {cmd[0]} did not say ready")
to_arrival, done = [], []
cpu0 = cpu_ns(proc.pid)
for i, line in enumerate(lines):
    t0 = time.monotonic()
    proc.stdin.write(line)
    proc.stdin.flush()
    proc.stdout.readline()
    st = status_line()
    t1 = time.monotonic()
    if st != b"0\n":
        sys.exit(f"notify.py: envelope {i + 1}: status {st.decode().strip()}")
    with lock:
        got = arrivals[i] if len(arrivals) > i else None
    if got is None:
        sys.exit(f"notify.py: envelope {i + 1}: nothing arrived")
    if i >= WARMUP:
        to_arrival.append((got - t0) * 1e3)
        done.append((t1 - t0) * 1e3)
cpu1 = cpu_ns(proc.pid)
# VmHWM, not wait4's ru_maxrss: a child forked from Python may count
# Python's pages as its own.
with open(f"/proc/{proc.pid}/status") as f:
    hwm = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
proc.stdin.close()
proc.stdout.read()
proc.wait()


def p90(xs):
    return sorted(xs)[int(len(xs) * 0.9)]


n = len(lines)
print(n, connections, len(arrivals),
      f"{statistics.median(to_arrival):.3f}", f"{p90(to_arrival):.3f}",
      f"{statistics.median(done):.3f}", f"{p90(done):.3f}", f"{statistics.mean(done):.3f}",
      f"{(cpu1 - cpu0) / 1e6 / n:.3f}", hwm)
