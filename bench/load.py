"""HTTP load client: THREADS connections (http.client) doing GET PATH
in a loop from START_AT (epoch seconds) for DURATION seconds; prints one JSON line.

    python bench/load.py PORT PATH THREADS START_AT DURATION EXPECT_BYTES [HEADER: value ...]

run.py starts several of these processes at once (one Python process cannot
drive a fast server alone: the GIL). Each response is read in full and checked
for status 200 and the expected length; anything else counts as an error.
"""
from __future__ import annotations

import http.client
import json
import sys
import threading
import time


def worker(port: int, path: str, headers: dict, start_at: float, end_at: float, expect: int, out: list) -> None:
    ok = errors = 0
    latencies_sum = 0.0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:  # one untimed request: connection set up before the clock starts
        conn.request("GET", path, headers=headers)
        conn.getresponse().read()
    except (OSError, http.client.HTTPException):
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    delay = start_at - time.time()
    if delay > 0:
        time.sleep(delay)
    now = time.time()
    while now < end_at:
        t = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            body = r.read()
            if r.status == 200 and len(body) == expect:
                ok += 1
                latencies_sum += time.perf_counter() - t
            else:
                errors += 1
            if r.will_close:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        now = time.time()
    conn.close()
    out.append((ok, errors, latencies_sum))


def main(argv: list[str]) -> None:
    port, path, threads = int(argv[1]), argv[2], int(argv[3])
    start_at, duration, expect = float(argv[4]), float(argv[5]), int(argv[6])
    headers = {}
    for h in argv[7:]:
        name, _, value = h.partition(":")
        headers[name.strip()] = value.strip()
    out: list = []
    end_at = start_at + duration
    pool = [threading.Thread(target=worker, args=(port, path, headers, start_at, end_at, expect, out))
            for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    ok = sum(o[0] for o in out)
    print(json.dumps({"ok": ok, "errors": sum(o[1] for o in out),
                      "latency_sum_s": sum(o[2] for o in out), "duration_s": duration}))


if __name__ == "__main__":
    main(sys.argv)
