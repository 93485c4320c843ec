#!/usr/bin/python3
"""fcgi_load.py SOCKET THREADS OUT - FastCGI clients sending one-alert
Alertmanager requests to SOCKET until it stops answering; each alert name
answered 202 is written to OUT, one per line (standard library only)."""
import socket
import struct
import sys
import threading

path, threads, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()
accepted = []


def rec(t, rid, content=b""):
    return struct.pack(">BBHHBB", 1, t, rid, len(content), 0, 0) + content


def pair(n, v):
    return bytes([len(n)]) + bytes([len(v)]) + n + v


def request(body):
    params = {"REQUEST_METHOD": "POST", "PATH_INFO": "/alertmanager/",
              "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body))}
    p = b"".join(pair(k.encode(), v.encode()) for k, v in params.items())
    return (rec(1, 1, struct.pack(">HB5x", 1, 0)) + rec(4, 1, p) + rec(4, 1) +
            rec(5, 1, body) + rec(5, 1))


def answer(s):
    buf, stdout = b"", b""
    while True:
        while len(buf) < 8 or len(buf) < 8 + struct.unpack(">H", buf[4:6])[0] + buf[6]:
            chunk = s.recv(65536)
            if not chunk:
                return None
            buf += chunk
        _, t, _, clen, pad, _ = struct.unpack(">BBHHBB", buf[:8])
        if t == 6:
            stdout += buf[8:8 + clen]
        buf = buf[8 + clen + pad:]
        if t == 3:
            return stdout.decode()


def client(n):
    i = 0
    while True:
        name = "Load%d_%d" % (n, i)
        i += 1
        body = ('{"receiver":"sm","status":"firing","alerts":[{"status":"firing","labels":'
                '{"alertname":"%s","instance":"x"},"annotations":{},'
                '"startsAt":"2026-11-22T01:00:00Z"}]}' % name).encode()
        try:
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(20)
            s.connect(path)
            s.sendall(request(body))
            text = answer(s)
            s.close()
        except OSError:
            return
        if text is None:
            return
        if text.startswith("Status: 202"):
            with lock:
                accepted.append(name)


ts = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
with open(out, "w") as f:
    f.write("".join(a + "\n" for a in accepted))
