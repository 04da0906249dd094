"""Shared fixtures and helpers for finlake's integration and interop tests.

* ``finlake_bin`` / ``run_finlake``: locate and run the CLI (env ``FINLAKE_BIN``,
  default ``<repo>/build/finlake``).
* ``corpus_dir``: the read-only Delta test corpus in ``<repo>/../shared/delta-tables``.
  Absent corpus: skip, except under ``CI=true`` where it is a failure.
* ``duckdb_delta``: a DuckDB connection with the delta extension loaded.
* ``row_hashes`` / ``assert_same_rows``: compare two Arrow tables as multisets of rows
  after canonicalising types, so that finlake, delta-rs, DuckDB and DAT expected
  files can be compared even when they pick different physical types.
"""

from __future__ import annotations

import collections
import decimal
import glob
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Mapping

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_DIR = REPO.parent / "shared"
CORPUS_DIR = SHARED_DIR / "delta-tables"
DEFAULT_TIMEOUT_S = 120


# --------------------------------------------------------------------------- binary


def finlake_binary() -> Path:
    """The finlake executable under test (env FINLAKE_BIN, else <repo>/build/finlake)."""
    return Path(os.environ.get("FINLAKE_BIN") or REPO / "build" / "finlake").resolve()


@pytest.fixture(scope="session")
def finlake_bin() -> Path:
    """The binary, checked once per session: a missing build fails the tests that need it."""
    path = finlake_binary()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"finlake binary not found or not executable: {path} (build it, or set FINLAKE_BIN)")
    return path


def run_finlake(
    lake: Path | str,
    *args: str,
    check: bool | None = None,
    env: Mapping[str, str | None] | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> subprocess.CompletedProcess:
    """Run ``finlake --lake LAKE ARGS...`` and return the CompletedProcess (text mode).

    check=True asserts exit status 0, check=False asserts a non-zero status, None
    asserts nothing. ``env`` overrides the inherited environment; a value of None
    removes that variable (e.g. ``{"TZ": None}``).
    """
    full_env = dict(os.environ)
    full_env.pop("FINLAKE_LAKE", None)
    for key, value in (env or {}).items():
        if value is None:
            full_env.pop(key, None)
        else:
            full_env[key] = value
    cmd = [str(finlake_binary()), "--lake", str(lake), *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=timeout)
    if check is True:
        assert proc.returncode == 0, f"{describe_run(proc)}\nexpected exit 0"
    elif check is False:
        assert proc.returncode != 0, f"{describe_run(proc)}\nexpected a non-zero exit"
    return proc


def describe_run(proc: subprocess.CompletedProcess) -> str:
    """A readable summary of one finlake run, for assertion messages."""
    return (
        f"command: {' '.join(map(str, proc.args))}\n"
        f"exit: {proc.returncode}\n"
        f"stdout: {proc.stdout[-2000:]!r}\n"
        f"stderr: {proc.stderr[-2000:]!r}"
    )


def assert_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    """Assert a failed run whose stderr has a ``finlake: error:`` message mentioning
    every needle (case-insensitive)."""
    assert proc.returncode != 0, f"{describe_run(proc)}\nexpected a non-zero exit"
    assert "finlake: error:" in proc.stderr, f"{describe_run(proc)}\nexpected 'finlake: error: ...' on stderr"
    err = proc.stderr.lower()
    missing = [n for n in needles if n.lower() not in err]
    assert not missing, f"{describe_run(proc)}\nstderr does not mention {missing}"


def finlake_read(
    lake: Path | str,
    query: str,
    out_dir: Path,
    *,
    env: Mapping[str, str | None] | None = None,
) -> pa.Table:
    """Run a query with ``sql --format parquet -o`` and return the result (must succeed)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"result_{len(list(out_dir.iterdir()))}.parquet"
    run_finlake(lake, "sql", "--format", "parquet", "-o", out, query, check=True, env=env)
    return pq.read_table(out)


@pytest.fixture
def new_lake(tmp_path: Path, finlake_bin: Path) -> Path:
    """A freshly initialised, empty lake in tmp_path."""
    lake = tmp_path / "lake"
    run_finlake(lake, "init", check=True)
    return lake


# --------------------------------------------------------------------------- corpus


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The read-only Delta test corpus; skipped when absent, failed when CI=true."""
    if not (CORPUS_DIR / "EXPECTED_COUNTS.txt").is_file():
        message = f"shared Delta test corpus not found at {CORPUS_DIR}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: the corpus is required)")
        pytest.skip(message)
    return CORPUS_DIR


# --------------------------------------------------------------------------- duckdb


def delta_extension_path() -> str:
    """The DuckDB delta extension file shipped by the ``duckdb_ext`` package."""
    roots = [Path(p) for p in sys.path if p.endswith("site-packages")]
    for root in roots:
        hits = sorted(glob.glob(str(root / "duckdb_ext" / "extensions" / "*" / "*" / "delta.duckdb_extension")))
        if hits:
            return hits[-1]
    pytest.fail("DuckDB delta extension (duckdb_ext package) not found in site-packages")


def connect_duckdb_delta():
    """A DuckDB connection (UTC) with the delta extension loaded."""
    import duckdb

    con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    con.execute(f"LOAD '{delta_extension_path()}'")
    con.execute("SET TimeZone = 'UTC'")
    return con


@pytest.fixture
def duckdb_delta():
    con = connect_duckdb_delta()
    yield con
    con.close()


def duckdb_delta_scan(table_dir: Path | str) -> pa.Table:
    """The latest snapshot of a Delta table as read by DuckDB's delta extension."""
    con = connect_duckdb_delta()
    try:
        return con.execute("SELECT * FROM delta_scan(?)", [str(table_dir)]).fetch_arrow_table()
    finally:
        con.close()


# --------------------------------------------------------------------------- row hashes

_UNIT_TO_MICROS = {"s": (1_000_000, 1), "ms": (1000, 1), "us": (1, 1), "ns": (1, 1000)}
# normalize() rounds to the context precision (28 digits by default): use enough for decimal(38,s).
_DECIMAL_CONTEXT = decimal.Context(prec=100)


def _decimal_str(value: decimal.Decimal) -> str:
    if value.is_nan():
        return "NaN"
    if value == 0:
        return "0"
    return str(value.normalize(_DECIMAL_CONTEXT))


def _float_str(value: float) -> str:
    return repr(float(value))


def _to_py(arr: pa.Array) -> list:
    """Canonical Python values for one Arrow array (recursively, for nested types)."""
    t = arr.type
    if isinstance(arr, pa.ChunkedArray):
        out: list = []
        for chunk in arr.chunks:
            out.extend(_to_py(chunk))
        return out
    if pa.types.is_dictionary(t):
        return _to_py(arr.dictionary_decode())
    if pa.types.is_null(t):
        return [None] * len(arr)
    if pa.types.is_timestamp(t):
        mul, div = _UNIT_TO_MICROS[t.unit]
        raw = arr.cast(pa.int64()).to_pylist()  # tz-aware values are stored as UTC
        return [None if v is None else (v * mul) // div for v in raw]
    if pa.types.is_date(t):
        return [None if v is None else v.isoformat() for v in arr.to_pylist()]
    if pa.types.is_decimal(t):
        return [None if v is None else _decimal_str(v) for v in arr.to_pylist()]
    if pa.types.is_floating(t):
        return [None if v is None else _float_str(v) for v in arr.to_pylist()]
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t) or (
        hasattr(pa.types, "is_binary_view") and pa.types.is_binary_view(t)
    ):
        return [None if v is None else v.hex() for v in arr.to_pylist()]
    if pa.types.is_map(t):
        offsets = arr.offsets.to_pylist()
        base = offsets[0]
        entries = arr.values.slice(base, offsets[-1] - base)
        keys, items = (_to_py(child) for child in entries.flatten())
        out = []
        for i, valid in enumerate(arr.is_valid().to_pylist()):
            if not valid:
                out.append(None)
                continue
            lo, hi = offsets[i] - base, offsets[i + 1] - base
            pairs = [[k, v] for k, v in zip(keys[lo:hi], items[lo:hi])]
            out.append(sorted(pairs, key=_canonical_json))
        return out
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        if pa.types.is_fixed_size_list(t):
            size = t.list_size
            offsets = [(arr.offset + i) * size for i in range(len(arr) + 1)]
        else:
            offsets = arr.offsets.to_pylist()
        base = offsets[0]
        values = _to_py(arr.values.slice(base, offsets[-1] - base))
        return [
            values[offsets[i] - base : offsets[i + 1] - base] if valid else None
            for i, valid in enumerate(arr.is_valid().to_pylist())
        ]
    if pa.types.is_struct(t):
        names = [t.field(i).name.lower() for i in range(t.num_fields)]
        children = [_to_py(child) for child in arr.flatten()]
        return [
            {name: child[i] for name, child in zip(names, children)} if valid else None
            for i, valid in enumerate(arr.is_valid().to_pylist())
        ]
    if pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_string(t) or pa.types.is_large_string(t):
        return arr.to_pylist()
    if hasattr(pa.types, "is_string_view") and pa.types.is_string_view(t):
        return arr.to_pylist()
    return [None if v is None else str(v) for v in arr.to_pylist()]


_canonical_json = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode


def _column_cells(name: str, values: list) -> list[str]:
    """``["name",<canonical JSON of value>]`` for each value of one column."""
    prefix = "[" + _canonical_json(name) + ","
    cells = []
    for value in values:
        if value is None:
            cells.append(prefix + "null]")
        elif type(value) is int:  # the common case, without the encoder's overhead
            cells.append(prefix + str(value) + "]")
        else:
            cells.append(prefix + _canonical_json(value) + "]")
    return cells


def canonical_rows(table: pa.Table) -> list[str]:
    """Each row as canonical JSON ``[[column, value], ...]``, columns ordered by name
    (case-insensitive, names lower-cased), values normalised:

    timestamps (any unit/zone; naive = UTC) -> int microseconds since the epoch (UTC),
    dates -> ISO string, decimals -> normalised string, floats -> repr of float64,
    binary -> hex, structs/lists -> JSON of normalised contents, maps -> sorted list
    of [key, value] pairs, null -> None.
    """
    names = sorted(table.column_names, key=lambda n: (n.lower(), n))
    if not names:
        return ["[]"] * table.num_rows
    columns = [_column_cells(name.lower(), _to_py(table.column(name))) for name in names]
    return ["[" + ",".join(cells) + "]" for cells in zip(*columns)]


def row_hashes(table: pa.Table) -> list[str]:
    """Sorted per-row SHA-256 hashes of the canonical rows: two tables give equal lists
    iff they hold the same multiset of rows (see canonical_rows)."""
    return sorted(hashlib.sha256(row.encode()).hexdigest() for row in canonical_rows(table))


def assert_same_rows(actual: pa.Table, expected: pa.Table, context: str = "") -> None:
    """Assert equal row hashes; on mismatch, show the differing canonical rows."""
    if row_hashes(actual) == row_hashes(expected):
        return
    got = collections.Counter(canonical_rows(actual))
    want = collections.Counter(canonical_rows(expected))
    extra = list((got - want).elements())
    missing = list((want - got).elements())
    lines = [
        f"row multisets differ{': ' + context if context else ''}",
        f"actual: {actual.num_rows} rows, schema {actual.schema.names}",
        f"expected: {expected.num_rows} rows, schema {expected.schema.names}",
        f"{len(extra)} rows only in actual, e.g.:",
        *[f"  + {row[:400]}" for row in extra[:5]],
        f"{len(missing)} rows only in expected, e.g.:",
        *[f"  - {row[:400]}" for row in missing[:5]],
    ]
    pytest.fail("\n".join(lines), pytrace=False)


def read_parquet_dir(path: Path | str) -> pa.Table:
    """A parquet file or a directory of parquet part files, without hive partitioning
    (DAT's expected/*/table_content.parquet is a Spark output directory)."""
    import pyarrow.dataset as ds

    dataset = ds.dataset(str(path), format="parquet", partitioning=None, exclude_invalid_files=True)
    return dataset.to_table()


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def table_name_for(relpath: str) -> str:
    """A finlake table name (lowercase letters, digits, '_') derived from a corpus path."""
    name = "".join(c if c.isalnum() else "_" for c in relpath.lower())
    return "t_" + name.strip("_")


def import_talib():
    """TA-Lib, the indicators' oracle: skips the calling module where it cannot
    be imported, except under CI=true, where its absence is a failure."""
    try:
        import talib
    except ImportError as error:  # pragma: no cover - depends on the machine
        if os.environ.get("CI") == "true":
            raise RuntimeError("TA-Lib is required under CI=true (scripts/setup --test installs it)") from error
        pytest.skip(f"TA-Lib cannot be imported ({error}); run scripts/setup --test", allow_module_level=True)
    return talib
