"""Ingest benchmark (issue 3): `finlake ingest yahoo` at concurrency 8 against the
market generator's local Yahoo server (`finlake generate serve`, a separate
process that answers at once), N symbols x Y years of daily bars. Reports wall
time, requests/s, bars/s, and the CPU seconds of the ingest process next to the
server's, so the ingest side's share is our overhead.

    python bench/ingest_bench.py FINLAKE_BIN WORK_DIR SYMBOLS YEARS
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time


def cpu_seconds(pid: int) -> float:
    """utime + stime of a running process, from /proc (clock ticks)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(finlake: str, work: str, symbols: int, years: int, concurrency: int = 8) -> dict:
    lake = os.path.join(work, "ingest_lake")
    shutil.rmtree(lake, ignore_errors=True)
    subprocess.run([finlake, "--lake", lake, "init"], check=True, capture_output=True)
    server = subprocess.Popen([finlake, "generate", "serve", "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
        names = ",".join(f"SYN{i:04d}" for i in range(1, symbols + 1))
        end_year = 2024
        server_cpu_before = cpu_seconds(server.pid)
        started = time.perf_counter()
        before = os.times()
        proc = subprocess.run([finlake, "--lake", lake, "ingest", "yahoo", "--base-url", url, "--symbols", names,
                               "--start", f"{end_year - years + 1}-01-01", "--end", f"{end_year}-12-31",
                               "--concurrency", str(concurrency), "--timeout-ms", "120000"],
                              capture_output=True, text=True)
        wall = time.perf_counter() - started
        after = os.times()
        server_cpu = cpu_seconds(server.pid) - server_cpu_before
    finally:
        server.terminate()
        server.wait(timeout=30)
    if proc.returncode != 0:
        raise RuntimeError(f"ingest failed: {proc.stdout[-2000:]} {proc.stderr[-2000:]}")
    summary = re.search(r"(\d+) symbols ok, (\d+) failed; (\d+) bars in (\d+) payloads landed.*?(\d+) bytes, (\d+) requests",
                        proc.stdout)
    ok, failed, bars, payloads, payload_bytes, requests = (int(x) for x in summary.groups())
    ingest_cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    result = {"symbols": symbols, "years": years, "concurrency": concurrency, "wall_s": wall,
              "symbols_ok": ok, "symbols_failed": failed, "bars": bars, "payloads": payloads,
              "payload_bytes": payload_bytes, "requests": requests, "requests_per_s": requests / wall,
              "bars_per_s": bars / wall, "ingest_cpu_s": ingest_cpu, "server_cpu_s": server_cpu,
              "ingest_cpu_share": ingest_cpu / max(1e-9, ingest_cpu + server_cpu)}
    shutil.rmtree(lake, ignore_errors=True)
    return result


def main() -> int:
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    result = run(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    print(json.dumps(result))
    print(f"ingest {result['symbols']} symbols x {result['years']} y at concurrency {result['concurrency']}: "
          f"{result['wall_s']:.2f} s, {result['requests_per_s']:.0f} requests/s, {result['bars_per_s']:,.0f} bars/s, "
          f"ingest CPU {result['ingest_cpu_s']:.2f} s vs server CPU {result['server_cpu_s']:.2f} s "
          f"(ingest share {100 * result['ingest_cpu_share']:.0f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
