"""Raw DuckDB through its C API (bench/peer_capi.c): the W3 peer performance.md
names ("raw DuckDB C API ... (npm libduckdb)"), the same libduckdb.so finlake
links. The python wheel's DuckDB, the other peer, is a separate build and runs
the same scans 5-8% faster on this machine, so both are reported.

    build(work) -> path of the peer binary (compiled once into WORK/), or None
    run(binary, sql, repeat, setup=None) -> {"times": [...], "rows": [[text...]], "cold_s", "hot_s"}
                                or {"error": ...}
"""

import json
import os
import shutil
import statistics
import subprocess
import tempfile

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)
DUCKDB = os.path.join(ROOT, "third_party", "duckdb")
SOURCE = os.path.join(BENCH_DIR, "peer_capi.c")


def build(work):
    """Compiles peer_capi.c against third_party/duckdb when the source is newer
    than the binary; None when there is no C compiler or no libduckdb."""
    lib = os.path.join(DUCKDB, "lib")
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None or not os.path.exists(os.path.join(lib, "libduckdb.so")):
        return None
    binary = os.path.join(work, "peer_capi")
    if os.path.exists(binary) and os.path.getmtime(binary) >= os.path.getmtime(SOURCE):
        return binary
    os.makedirs(work, exist_ok=True)
    proc = subprocess.run([compiler, "-O2", "-o", binary, SOURCE, "-I", os.path.join(DUCKDB, "include"), "-L", lib,
                           "-lduckdb", f"-Wl,-rpath,{lib}"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"building {SOURCE}: {proc.stderr.strip()[-800:]}")
    return binary


def run(binary, sql, repeat, setup=None, timeout=3600):
    """`setup`: statements run once before the timed ones (views)."""
    paths = []
    for text in (sql, setup):
        if text is None:
            continue
        with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
            f.write(text)
            paths.append(f.name)
    try:
        proc = subprocess.run([binary, paths[0], str(repeat), *paths[1:]], capture_output=True, text=True,
                              timeout=timeout)
    finally:
        for path in paths:
            os.unlink(path)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": f"peer_capi: exit status {proc.returncode}: {proc.stderr.strip()[-800:]}"}
    r = json.loads(lines[-1])
    times = r["times"]
    return dict(r, cold_s=times[0], hot_s=statistics.median(times[1:] or times))
