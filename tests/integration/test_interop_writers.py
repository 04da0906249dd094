"""Tables written by one engine read identically in the others.

* finlake writes (``import --create`` + appends) a partitioned table holding every type of
  the Types contract over 12 commits (so a checkpoint exists); finlake, delta-rs and the
  DuckDB delta extension all return the source rows.
* delta-rs writes a partitioned table (appends, a checkpoint, an overwrite); finlake
  registers it and reads every version like delta-rs.
* delta-rs appends to a finlake table and finlake appends after it; both see the rows.

Every test runs three times, with the finlake processes' TZ unset, America/New_York and
Asia/Tokyo: finlake's engine works in UTC, so the results must not change.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, write_deltalake

from conftest import assert_same_rows, duckdb_delta_scan, run_finlake

UTC = dt.timezone.utc


@pytest.fixture(
    params=[None, "America/New_York", "Asia/Tokyo"],
    ids=["tz-unset", "tz-new_york", "tz-tokyo"],
)
def tz_env(request) -> dict[str, str | None]:
    """The environment override for finlake subprocesses (None removes TZ)."""
    return {"TZ": request.param}


class Finlake:
    """finlake bound to one lake and one environment."""

    def __init__(self, lake: Path, env: dict[str, str | None], out_dir: Path):
        self.lake, self.env, self.out_dir = lake, env, out_dir
        out_dir.mkdir(parents=True, exist_ok=True)

    def __call__(self, *args, check: bool | None = True):
        return run_finlake(self.lake, *args, check=check, env=self.env)

    def read(self, table: str, version: int | None = None) -> pa.Table:
        """All rows of `table` (at `version`) via ``sql --format parquet``."""
        at = "" if version is None else f" AT (VERSION => {version})"
        out = self.out_dir / f"{table.replace('.', '_')}_{version}.parquet"
        self("sql", "--format", "parquet", "-o", out, f"SELECT * FROM {table}{at}")
        return pq.read_table(out)


@pytest.fixture
def finlake(tmp_path, finlake_bin, tz_env) -> Finlake:
    fl = Finlake(tmp_path / "lake", tz_env, tmp_path / "out")
    fl("init")
    return fl


def latest_version(table_dir: Path) -> int:
    return max(int(p.name.split(".")[0]) for p in (table_dir / "_delta_log").glob("*.json"))


def delta_schema_types(table_dir: Path) -> tuple[dict[str, object], list[str]]:
    """Column name -> Delta type (JSON) and the partition columns, from the first metaData."""
    for line in (table_dir / "_delta_log" / "00000000000000000000.json").read_text().splitlines():
        action = json.loads(line)
        if "metaData" in action:
            meta = action["metaData"]
            fields = json.loads(meta["schemaString"])["fields"]
            return {f["name"]: f["type"] for f in fields}, meta["partitionColumns"]
    raise AssertionError("no metaData in commit 0")


def delta_rs_rows(table_dir: Path, version: int | None = None) -> pa.Table:
    return DeltaTable(str(table_dir), version=version).to_pyarrow_table()


# --------------------------------------------------------------------------- all types

# One batch of rows covering every type of the Types contract (DuckDB SQL; {k} = batch).
# Parquet has no 128-bit integer (DuckDB writes HUGEINT as DOUBLE), so the HUGEINT
# column is carried as DECIMAL(38,0), the type the contract maps HUGEINT to;
# test_duckdb_only_types_map_per_contract covers HUGEINT itself.
ALL_TYPES_BATCH_SQL = r"""
SELECT
  (i % 2 = 0)::BOOLEAN                                        AS c_boolean,
  (i * 20 - 60)::TINYINT                                      AS c_tinyint,
  (i * 1000 - 3000)::SMALLINT                                 AS c_smallint,
  (i * 100000 + {k})::INTEGER                                 AS c_integer,
  (i * 10000000000 - {k})::BIGINT                             AS c_bigint,
  (i * 0.5 + 0.1)::FLOAT                                      AS c_float,
  (i / 3.0 + {k})::DOUBLE                                     AS c_double,
  (i * 1234.5678 - 99.0001 + {k})::DECIMAL(18,4)              AS c_decimal,
  ['plain', 'Zürich ☃ 東京 😈', '', 'quote '' " \ ,;'][i % 4 + 1] AS c_varchar,
  ('\x00\xFF\x7F' || i::VARCHAR)::BLOB                        AS c_blob,
  (DATE '1969-12-30' + INTERVAL (i * 400 + {k}) DAY)::DATE    AS c_date,
  TIMESTAMP '2021-03-14 02:30:00.123456' + INTERVAL (i * 5 + {k}) HOUR    AS c_timestamp,
  TIMESTAMPTZ '1999-12-31 23:59:59.999999+00' + INTERVAL (i * 7) HOUR AS c_timestamptz,
  {{'a': i, 'b': 'n' || i::VARCHAR || 'ü', 'c': [i, NULL]}}    AS c_struct,
  [i, NULL, i * 2 + {k}]::INTEGER[]                           AS c_list,
  MAP {{'k' || i::VARCHAR: i + {k}, 'ß': NULL}}               AS c_map,
  (99999999999999999999999999999999999999::HUGEINT - i * 3 - {k})::DECIMAL(38,0) AS c_hugeint,
  18446744073709551615::UBIGINT - (i + {k})::UBIGINT          AS c_ubigint,
  ('00000000-0000-4000-8000-' || lpad(({k} * 100 + i)::VARCHAR, 12, '0'))::UUID AS c_uuid,
  ['ünï', 'a b/c%d=e', NULL][i % 3 + 1]                      AS p_str,
  CASE WHEN i % 5 = 4 THEN NULL ELSE DATE '2020-02-29' + INTERVAL ({k} % 3) DAY END::DATE AS p_date
FROM range(6) t(i)
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL
"""

# The Delta type each column must get (the Types contract).
ALL_TYPES_DELTA = {
    "c_boolean": "boolean",
    "c_tinyint": "byte",
    "c_smallint": "short",
    "c_integer": "integer",
    "c_bigint": "long",
    "c_float": "float",
    "c_double": "double",
    "c_decimal": "decimal(18,4)",
    "c_varchar": "string",
    "c_blob": "binary",
    "c_date": "date",
    "c_timestamp": "timestamp",
    "c_timestamptz": "timestamp",
    "c_hugeint": "decimal(38,0)",
    "c_ubigint": "decimal(20,0)",
    "c_uuid": "string",
    "p_str": "string",
    "p_date": "date",
}


def write_all_types_batch(con, k: int, path: Path) -> Path:
    con.execute(f"COPY ({ALL_TYPES_BATCH_SQL.format(k=k)}) TO '{path}' (FORMAT parquet)")
    return path


def expected_all_types_rows(con, files: list[Path]) -> pa.Table:
    """The source rows as a Delta reader must return them (UBIGINT -> decimal(20,0), UUID -> string)."""
    if not files:
        return pa.table({})
    listing = ", ".join(f"'{f}'" for f in files)
    return con.execute(
        f"SELECT * REPLACE (c_ubigint::DECIMAL(20,0) AS c_ubigint, c_uuid::VARCHAR AS c_uuid) "
        f"FROM read_parquet([{listing}], hive_partitioning=false)"
    ).fetch_arrow_table()


def test_finlake_all_types_table_reads_identically_everywhere(finlake, tmp_path):
    """A partitioned (string + date) finlake table with every contract type, nulls and
    non-ASCII strings, built by ``import --create`` and appends over 12 commits: at every
    version finlake and delta-rs return the source rows; at the latest version the DuckDB
    delta extension does too; the checkpoint at version 10 exists; the log's schema maps
    each type per the contract."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    table_dir = finlake.lake / "bronze" / "all_types"
    files_at: dict[int, list[Path]] = {}
    written: list[Path] = []

    first = write_all_types_batch(con, 0, tmp_path / "batch0.parquet")
    finlake("import", "bronze.all_types", first, "--create", "--partition-by", "p_str,p_date")
    written.append(first)
    for v in range(latest_version(table_dir)):
        files_at[v] = []  # the versions before the data commit (CREATE TABLE) are empty
    files_at[latest_version(table_dir)] = list(written)
    k = 1
    while latest_version(table_dir) < 11:
        batch = write_all_types_batch(con, k, tmp_path / f"batch{k}.parquet")
        finlake("import", "bronze.all_types", batch, "--mode", "append")
        written.append(batch)
        files_at[latest_version(table_dir)] = list(written)
        k += 1
    latest = latest_version(table_dir)
    assert sorted(files_at) == list(range(latest + 1)), "every import must add exactly one commit"

    log = table_dir / "_delta_log"
    assert (log / "00000000000000000010.checkpoint.parquet").is_file(), sorted(p.name for p in log.iterdir())
    assert json.loads((log / "_last_checkpoint").read_text())["version"] == 10

    types, partitions = delta_schema_types(table_dir)
    assert partitions == ["p_str", "p_date"]
    assert {name: t for name, t in types.items() if name in ALL_TYPES_DELTA} == ALL_TYPES_DELTA
    assert types["c_struct"]["type"] == "struct"
    assert types["c_list"]["type"] == "array"
    assert types["c_map"]["type"] == "map"

    for version in range(latest + 1):
        ours = finlake.read("bronze.all_types", version)
        expected = expected_all_types_rows(con, files_at[version])
        assert ours.num_rows == expected.num_rows, f"v{version}"
        if expected.num_rows:
            assert_same_rows(ours, expected, f"finlake v{version} vs source files")
        assert_same_rows(ours, delta_rs_rows(table_dir, version), f"finlake vs delta-rs at v{version}")

    assert_same_rows(finlake.read("bronze.all_types"), duckdb_delta_scan(table_dir), "finlake vs DuckDB delta_scan")


def test_a_table_with_parquet_v2_encodings_reads_identically_everywhere(finlake, tmp_path):
    """``finlake.parquet.version=v2`` (set by ``import --create --property``) writes data
    files with DuckDB's V2 encodings (DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY,
    BYTE_STREAM_SPLIT, RLE_DICTIONARY) in V1 data pages; every contract type then reads the same in finlake, delta-rs, pyarrow and the
    DuckDB delta extension, after appends and an OPTIMIZE. The property applies only to a
    table the import creates."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    table_dir = finlake.lake / "bronze" / "v2"
    batches = [write_all_types_batch(con, k, tmp_path / f"v2_{k}.parquet") for k in range(3)]
    finlake("import", "bronze.v2", batches[0], "--create", "--partition-by", "p_str",
            "--property", "finlake.parquet.version=v2")
    for batch in batches[1:]:
        finlake("import", "bronze.v2", batch)
    refused = finlake("import", "bronze.v2", batches[0], "--property", "finlake.parquet.version=v1", check=False)
    assert refused.returncode != 0 and "--property sets a new table's properties" in refused.stderr, refused.stderr
    finlake("optimize", "bronze.v2", "--sort-by", "c_bigint")

    files = [Path(u.removeprefix("file://")) for u in DeltaTable(str(table_dir)).file_uris()]
    encodings = {e for f in files for (e,) in con.execute(
        f"SELECT DISTINCT encodings FROM parquet_metadata('{f}')").fetchall()}
    # Small batches of distinct values: no dictionaries, so the other V2 encodings.
    assert {"DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY", "BYTE_STREAM_SPLIT"} <= encodings, encodings
    assert "PLAIN_DICTIONARY" not in encodings, encodings

    ours = finlake.read("bronze.v2")
    assert_same_rows(ours, expected_all_types_rows(con, batches), "finlake vs source files")
    assert_same_rows(ours, delta_rs_rows(table_dir), "finlake vs delta-rs")
    assert_same_rows(ours, duckdb_delta_scan(table_dir), "finlake vs DuckDB delta_scan")
    assert sum(pq.read_table(f).num_rows for f in files) == ours.num_rows


def test_alter_sets_and_unsets_properties_that_delta_rs_reads(finlake, tmp_path):
    """``alter --set/--unset`` commits one metaData action (SET TBLPROPERTIES) that
    delta-rs reads back; a property that would turn on a Delta table feature is
    refused and the table does not move; later appends follow the new encodings."""
    con = duckdb.connect()
    table_dir = finlake.lake / "bronze" / "altered"
    batch = write_all_types_batch(con, 0, tmp_path / "altered_0.parquet")
    finlake("import", "bronze.altered", batch, "--create")
    out = finlake("alter", "bronze.altered", "--set", "finlake.parquet.version=v2", "--set", "owner=desk-7").stdout
    assert "2 properties set, 0 unset" in out, out
    finlake("alter", "bronze.altered", "--unset", "owner")
    table = DeltaTable(str(table_dir))
    assert table.metadata().configuration == {"finlake.parquet.version": "v2"}
    assert table.history(1)[0]["operation"] == "UNSET TBLPROPERTIES"
    version = table.version()

    refused = finlake("alter", "bronze.altered", "--set", "delta.enableChangeDataFeed=true", check=False)
    assert refused.returncode != 0 and "delta.enableChangeDataFeed is not one finlake writes" in refused.stderr
    missing = finlake("alter", "bronze.altered", "--unset", "owner", check=False)
    assert missing.returncode != 0 and "no property owner to unset" in missing.stderr, missing.stderr
    assert DeltaTable(str(table_dir)).version() == version

    before = set(DeltaTable(str(table_dir)).file_uris())
    finlake("import", "bronze.altered", write_all_types_batch(con, 1, tmp_path / "altered_1.parquet"))
    (added,) = set(DeltaTable(str(table_dir)).file_uris()) - before
    for uri, wanted in ((added, True), (next(iter(before)), False)):
        encodings = {e for (e,) in con.execute(
            f"SELECT DISTINCT encodings FROM parquet_metadata('{uri.removeprefix('file://')}')").fetchall()}
        assert ("DELTA_BINARY_PACKED" in encodings) == wanted, (uri, encodings)
    assert_same_rows(finlake.read("bronze.altered"), delta_rs_rows(table_dir), "finlake vs delta-rs")


def test_duckdb_only_types_map_per_contract(finlake, tmp_path):
    """DuckDB types with no Delta counterpart map per the contract when a table is
    declared with them (HUGEINT -> decimal(38,0), UBIGINT -> decimal(20,0),
    UUID -> string, TIMESTAMP -> UTC timestamp), and values loaded into them read back
    the same in finlake, delta-rs and DuckDB. The naive timestamp lies in New York's
    DST gap, so reading it in local time would show."""
    schema = "id INTEGER, h HUGEINT, u UBIGINT, g UUID, ts TIMESTAMP, tz TIMESTAMPTZ"
    finlake("create-table", "silver.wide", "--schema", schema)
    csv = tmp_path / "wide.csv"
    csv.write_text(
        "id,h,u,g,ts,tz\n"
        "1,-99999999999999999999999999999999999999,18446744073709551615,"
        "0b7a3c1e-1111-4222-8333-444455556666,2021-03-14 02:30:00,2021-03-14 02:30:00+05\n"
        "2,12345678901234567890123456789,0,,1969-12-31 23:59:59.5,\n"
    )
    finlake("import", "silver.wide", csv)
    table_dir = finlake.lake / "silver" / "wide"

    types, _ = delta_schema_types(table_dir)
    assert types == {
        "id": "integer",
        "h": "decimal(38,0)",
        "u": "decimal(20,0)",
        "g": "string",
        "ts": "timestamp",
        "tz": "timestamp",
    }

    def micros(*args) -> int:
        return (dt.datetime(*args, tzinfo=UTC) - dt.datetime(1970, 1, 1, tzinfo=UTC)) // dt.timedelta(microseconds=1)

    expected = pa.table(
        {
            "id": pa.array([1, 2], pa.int32()),
            "h": pa.array(
                [decimal.Decimal("-99999999999999999999999999999999999999"), decimal.Decimal("12345678901234567890123456789")],
                pa.decimal128(38, 0),
            ),
            "u": pa.array([decimal.Decimal("18446744073709551615"), decimal.Decimal(0)], pa.decimal128(20, 0)),
            "g": pa.array(["0b7a3c1e-1111-4222-8333-444455556666", None], pa.string()),
            "ts": pa.array([micros(2021, 3, 14, 2, 30), micros(1969, 12, 31, 23, 59, 59, 500000)], pa.timestamp("us", "UTC")),
            "tz": pa.array([micros(2021, 3, 13, 21, 30), None], pa.timestamp("us", "UTC")),
        }
    )
    ours = finlake.read("silver.wide")
    assert_same_rows(ours, expected, "finlake vs the CSV values")
    assert_same_rows(delta_rs_rows(table_dir), expected, "delta-rs vs the CSV values")
    assert_same_rows(duckdb_delta_scan(table_dir), expected, "DuckDB delta_scan vs the CSV values")


# --------------------------------------------------------------------------- delta-rs writes


def delta_rs_batch(k: int) -> pa.Table:
    """Four rows of batch k for the delta-rs-written table (UTC timestamps, so no timestampNtz)."""
    n = 4
    return pa.table(
        {
            "id": pa.array([k * 10 + i for i in range(n)], pa.int64()),
            "part": pa.array(["α", "b c/d", None, "α"], pa.string()),
            "bucket": pa.array([k % 2] * n, pa.int32()),
            "day": pa.array([dt.date(2024, 2, 28) + dt.timedelta(days=k)] * n, pa.date32()),
            "ts": pa.array(
                [dt.datetime(2024, 3, 10, 6, 59, 59, 999999, tzinfo=UTC) + dt.timedelta(hours=i) for i in range(n)],
                pa.timestamp("us", tz="UTC"),
            ),
            "amount": pa.array([decimal.Decimal(f"{k}.{i:02d}") if i != 2 else None for i in range(n)], pa.decimal128(10, 2)),
            "ratio": pa.array([0.1 * i for i in range(n)], pa.float32()),
            "flag": pa.array([i % 2 == 0 for i in range(n)], pa.bool_()),
            "raw": pa.array([bytes([i, 255, 0]) for i in range(n)], pa.binary()),
            "tags": pa.array([["x"] * i for i in range(n)], pa.list_(pa.string())),
            "info": pa.array(
                [{"x": i, "y": "ÿ" * i} for i in range(n)], pa.struct([("x", pa.int32()), ("y", pa.string())])
            ),
        }
    )


def test_delta_rs_written_table_reads_identically(finlake, tmp_path):
    """A table delta-rs writes (partitioned by a string and an int, appends, a delta-rs
    checkpoint, an overwrite, a final append) registers in finlake and reads, at every
    version, exactly as delta-rs reads it."""
    table_dir = tmp_path / "delta_rs_table"
    write_deltalake(str(table_dir), delta_rs_batch(0), partition_by=["part", "bucket"])
    write_deltalake(str(table_dir), delta_rs_batch(1), mode="append")
    write_deltalake(str(table_dir), delta_rs_batch(2), mode="append")
    DeltaTable(str(table_dir)).create_checkpoint()
    write_deltalake(str(table_dir), delta_rs_batch(3), mode="overwrite")
    write_deltalake(str(table_dir), delta_rs_batch(4), mode="append")
    latest = latest_version(table_dir)
    assert latest == 4

    finlake("register", "bronze.from_delta_rs", table_dir)
    for version in range(latest + 1):
        assert_same_rows(
            finlake.read("bronze.from_delta_rs", version),
            delta_rs_rows(table_dir, version),
            f"finlake vs delta-rs at v{version}",
        )
    assert finlake.read("bronze.from_delta_rs").num_rows == 8


def test_delta_rs_appends_to_finlake_table(finlake, tmp_path):
    """delta-rs appends to a partitioned table finlake created, finlake then appends
    after it: finlake sees delta-rs's rows and delta-rs sees finlake's (row hashes equal
    at every version)."""
    source = tmp_path / "seed.parquet"
    pq.write_table(
        pa.table(
            {
                "sym": pa.array(["AAPL", "MSFT", "ÄÖÜ"], pa.string()),
                "day": pa.array([dt.date(2024, 1, 2)] * 3, pa.date32()),
                "ts": pa.array([dt.datetime(2024, 1, 2, 21, 0, tzinfo=UTC)] * 3, pa.timestamp("us", "UTC")),
                "px": pa.array([185.64, 370.87, None], pa.float64()),
                "qty": pa.array([100, 200, 300], pa.int64()),
            }
        ),
        source,
    )
    finlake("import", "silver.trades", source, "--create", "--partition-by", "day")
    table_dir = finlake.lake / "silver" / "trades"
    schema = delta_rs_rows(table_dir).schema

    appended = pa.Table.from_pylist(
        [
            {"sym": "GOOG", "day": dt.date(2024, 1, 3), "ts": dt.datetime(2024, 1, 3, 0, 30, tzinfo=UTC), "px": 140.5, "qty": 7},
            {"sym": "東京", "day": None, "ts": None, "px": -0.25, "qty": None},
        ],
        schema=schema,
    )
    write_deltalake(str(table_dir), appended, mode="append")
    after_delta_rs = latest_version(table_dir)
    ours = finlake.read("silver.trades")
    assert ours.num_rows == 5
    assert_same_rows(ours, delta_rs_rows(table_dir), "finlake vs delta-rs after the delta-rs append")

    more = tmp_path / "more.parquet"
    pq.write_table(pa.Table.from_pylist([{"sym": "NVDA", "day": dt.date(2024, 1, 3), "ts": None, "px": 1.0, "qty": 1}], schema=schema), more)
    finlake("import", "silver.trades", more)
    assert latest_version(table_dir) == after_delta_rs + 1
    for version in range(latest_version(table_dir) + 1):
        assert_same_rows(
            finlake.read("silver.trades", version),
            delta_rs_rows(table_dir, version),
            f"finlake vs delta-rs at v{version}",
        )
