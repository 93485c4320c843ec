#!/usr/bin/python3
"""gen_am.py N OFFSET OUT_NDJSON OUT_AM_BATCHES - N Alertmanager webhook
payloads (one alert each, distinct instances from OFFSET, 50 alert names),
as NDJSON for sm-ingest, and the same alerts as /api/v2/alerts bodies of
500 alerts each (one JSON array per line) for Alertmanager."""
import json
import sys

n, offset, out_nd, out_am = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
alerts = []
with open(out_nd, "w") as nd:
    for i in range(offset, offset + n):
        labels = {"alertname": f"Load{i % 50}", "instance": f"host{i}", "job": "bench",
                  "severity": "warning"}
        annotations = {"summary": f"synthetic alert {i}"}
        nd.write(json.dumps({
            "receiver": "sm", "status": "firing", "version": "4", "groupKey": "{}",
            "groupLabels": {"alertname": labels["alertname"]}, "commonLabels": labels,
            "commonAnnotations": annotations, "externalURL": "http://127.0.0.1:9093",
            "alerts": [{"status": "firing", "labels": labels, "annotations": annotations,
                        "startsAt": "2026-11-22T01:20:29.291027405Z",
                        "endsAt": "0001-01-01T00:00:00Z",
                        "generatorURL": "http://127.0.0.1/"}]}) + "\n")
        alerts.append({"labels": labels, "annotations": annotations,
                       "startsAt": "2026-11-22T01:20:29Z", "endsAt": "2099-01-01T00:00:00Z",
                       "generatorURL": "http://127.0.0.1/"})
with open(out_am, "w") as am:
    for k in range(0, len(alerts), 500):
        am.write(json.dumps(alerts[k:k + 500]) + "\n")
