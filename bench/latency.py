#!/usr/bin/python3
"""latency.py N AM_PORT RECV_PORT NAME=SM_URL... - alert-to-notification
latency, one alert at a time, each sm handler (NAME, lower-case letters,
posting to SM_URL) and Alertmanager in turn: each alert (a new alertname,
so a new incident in sm and a new group in Alertmanager) is POSTed, then
the script waits until the loopback receiver on RECV_PORT (served here) has
the notification naming it. Prints one line per system, "am" for
Alertmanager: "NAME median p90 min max accepted" in milliseconds, accepted
being the median time to the POST's answer (sm's 202 comes after its
commit)."""
import json
import re
import statistics
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

n, am_port, recv_port = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
sm_urls = dict(a.split("=", 1) for a in sys.argv[4:])
seen = {}
cv = threading.Condition()


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # header and body leave at once: no 40 ms stall on a kept connection

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        now = time.monotonic()
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
        with cv:
            for token in re.findall(r"Lat[a-z]+\d+x\d+", body):
                seen.setdefault(token, now)
            cv.notify_all()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", recv_port), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status in (200, 202), r.status


def sm_send(url, name):
    labels = {"alertname": name, "instance": "lat-host", "severity": "warning"}
    post(url, {"receiver": "sm", "status": "firing", "groupKey": "{}", "version": "4",
                  "alerts": [{"status": "firing", "labels": labels,
                              "annotations": {"summary": name},
                              "startsAt": "2026-11-22T01:00:00Z",
                              "endsAt": "0001-01-01T00:00:00Z"}]})


def am_send(name):
    labels = {"alertname": name, "instance": "lat-host", "severity": "warning"}
    post(f"http://127.0.0.1:{am_port}/api/v2/alerts",
         [{"labels": labels, "annotations": {"summary": name},
           "startsAt": "2026-11-22T01:00:00Z", "endsAt": "2099-01-01T00:00:00Z"}])


def one(send, name):
    t0 = time.monotonic()
    send(name)
    t1 = time.monotonic()
    with cv:
        if not cv.wait_for(lambda: name in seen, timeout=30):
            sys.exit(f"latency.py: {name} never arrived")
        return (seen[name] - t0) * 1000, (t1 - t0) * 1000


systems = [(k, lambda name, url=v: sm_send(url, name)) for k, v in sm_urls.items()]
systems.append(("am", am_send))
results = {k: [] for k, _ in systems}
accepted = {k: [] for k, _ in systems}
stamp = int(time.time())
for i in range(-2, n):  # two warm-up rounds, not counted
    for system, send in systems:
        ms, acc = one(send, f"Lat{system}{stamp}x{i + 2}")
        if i >= 0:
            results[system].append(ms)
            accepted[system].append(acc)
        time.sleep(0.05)
for system, xs in results.items():
    xs.sort()
    print(system, f"{statistics.median(xs):.2f}", f"{xs[int(len(xs) * 0.9)]:.2f}",
          f"{xs[0]:.2f}", f"{xs[-1]:.2f}", f"{statistics.median(accepted[system]):.2f}")
