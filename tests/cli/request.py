#!/usr/bin/python3
"""request.py METHOD URL [BODY_FILE|-] [Header: value ...] - one HTTP request,
standard library only (tests must not depend on curl). Prints the status
code, then "Name: value" for each response header, a blank line, and the
body. Exits 0 whatever the status; 1 when the connection fails."""
import sys
import urllib.error
import urllib.request

method, url = sys.argv[1], sys.argv[2]
body = None
headers = {}
for arg in sys.argv[3:]:
    if ": " in arg and not arg.startswith("/") and arg != "-":
        name, value = arg.split(": ", 1)
        headers[name] = value
    elif arg == "-":
        body = sys.stdin.buffer.read()
    else:
        with open(arg, "rb") as f:
            body = f.read()
req = urllib.request.Request(url, data=body, method=method, headers=headers)
try:
    with urllib.request.urlopen(req, timeout=30) as resp:
        status, hdrs, data = resp.status, resp.headers, resp.read()
except urllib.error.HTTPError as e:
    status, hdrs, data = e.code, e.headers, e.read()
except OSError as e:
    print(f"request.py: {e}", file=sys.stderr)
    sys.exit(1)
print(status)
for name, value in hdrs.items():
    print(f"{name}: {value}")
print()
sys.stdout.write(data.decode("utf-8", "replace"))
