#!/usr/bin/python3
"""am_post.py PORT BATCHES - POST each line of BATCHES to Alertmanager's
/api/v2/alerts on 127.0.0.1:PORT, one request after another; print the
wall seconds it took (every answer must be 200)."""
import sys
import time
import urllib.request

port, path = int(sys.argv[1]), sys.argv[2]
bodies = [line.encode() for line in open(path, "rb").read().decode().splitlines() if line]
t0 = time.monotonic()
for body in bodies:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v2/alerts", data=body,
                                 headers={"Content-Type": "application/json"})
    assert urllib.request.urlopen(req, timeout=120).status == 200
print(f"{time.monotonic() - t0:.3f}")
