#!/usr/bin/python3
"""sink.py PORT COUNT_FILE - a loopback webhook receiver for the drain
benchmark: answers every POST 200 at once and, on SIGTERM, writes the number
of requests it answered to COUNT_FILE."""
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, out = int(sys.argv[1]), sys.argv[2]
count = 0
lock = threading.Lock()


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # header and body leave at once: no 40 ms stall on a kept connection

    def do_POST(self):
        global count
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        with lock:
            count += 1

    def log_message(self, *args):
        pass


def stop(*_):
    with open(out, "w") as f:
        f.write(f"{count}\n")
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
ThreadingHTTPServer(("127.0.0.1", port), Sink).serve_forever()
