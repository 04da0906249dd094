"""`finlake ingest postgres` against a real PostgreSQL started on loopback by
scripts/pg-start: full and incremental (watermark) offloads of the seeds' orders,
users and payments, exactly once across re-runs."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, run_finlake


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL server binaries missing (scripts/setup --test installs them)")
        pytest.skip("PostgreSQL server binaries missing")
    data = Path("/tmp") / f"finlake-pg-{os.getpid()}"
    shutil.rmtree(data, ignore_errors=True)
    conninfo = subprocess.run([str(REPO / "scripts" / "pg-start"), str(data), str(free_port())],
                              check=True, capture_output=True, text=True).stdout.strip()
    try:
        yield conninfo
    finally:
        subprocess.run([str(REPO / "scripts" / "pg-stop"), str(data)], capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


def psql(conninfo: str, sql: str) -> str:
    return subprocess.run(["psql", conninfo, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
                          check=True, capture_output=True, text=True).stdout


@pytest.fixture
def shop(postgres):
    psql(postgres, """
        DROP SCHEMA IF EXISTS shop CASCADE; CREATE SCHEMA shop;
        CREATE TABLE shop.users (id bigint PRIMARY KEY, name text, created_at timestamptz);
        CREATE TABLE shop.orders (id bigint PRIMARY KEY, user_id bigint, amount numeric(12,2),
                                  status text, updated_at timestamp);
        CREATE TABLE shop.payments (id serial PRIMARY KEY, order_id bigint, paid_on date, amount double precision);
        INSERT INTO shop.users VALUES (1, 'Ada', '2026-01-01 10:00:00+00'), (2, 'Grace', '2026-01-02 11:00:00+00');
        INSERT INTO shop.orders VALUES (10, 1, 99.95, 'new', '2026-01-03 09:00:00.000001'),
                                       (11, 2, 5.00, 'paid', '2026-01-03 09:00:00.000002');
        INSERT INTO shop.payments (order_id, paid_on, amount) VALUES (11, '2026-01-03', 5.0);
    """)
    return postgres


def lake_rows(lake, sql):
    out = run_finlake(lake, "sql", "--format", "csv", sql, check=True).stdout.strip().splitlines()
    return out[1:]


def test_full_copy_of_a_table(new_lake, shop):
    proc = run_finlake(new_lake, "ingest", "postgres", "--conninfo", shop, "--table", "shop.users",
                       "--into", "bronze.users", "--create", check=True)
    assert "2 rows" in proc.stdout
    assert lake_rows(new_lake, "SELECT id, name, created_at FROM bronze.users ORDER BY id") == [
        "1,Ada,2026-01-01 10:00:00+00", "2,Grace,2026-01-02 11:00:00+00"]
    psql(shop, "INSERT INTO shop.users VALUES (3, 'Linus', now())")
    run_finlake(new_lake, "ingest", "postgres", "--conninfo", shop, "--table", "shop.users", "--into", "bronze.users",
                check=True)
    assert lake_rows(new_lake, "SELECT count(*) FROM bronze.users") == ["3"]  # Replaced, not appended.


def test_incremental_by_timestamp_watermark_is_exactly_once(new_lake, shop):
    args = ["ingest", "postgres", "--conninfo", shop, "--table", "shop.orders", "--into", "bronze.orders",
            "--watermark", "updated_at"]
    run_finlake(new_lake, *args, "--create", check=True)
    proc = run_finlake(new_lake, *args, check=True)
    assert "nothing new" in proc.stdout, proc.stdout
    psql(shop, "UPDATE shop.orders SET status = 'paid', updated_at = '2026-01-04 08:00:00' WHERE id = 10;"
               "INSERT INTO shop.orders VALUES (12, 1, 1.50, 'new', '2026-01-04 08:00:00.5')")
    proc = run_finlake(new_lake, *args, check=True)
    assert "2 rows" in proc.stdout, proc.stdout
    # The lake keeps every version of a row (bronze); microsecond watermarks lose nothing.
    assert lake_rows(new_lake, "SELECT id, status, amount FROM bronze.orders ORDER BY updated_at") == [
        "10,new,99.95", "11,paid,5.0", "10,paid,99.95", "12,new,1.5"]


def test_incremental_by_query_with_integer_watermark(new_lake, shop):
    args = ["ingest", "postgres", "--conninfo", shop, "--query",
            "SELECT p.id, p.order_id, p.paid_on, p.amount FROM shop.payments p", "--into", "bronze.payments",
            "--watermark", "id"]
    run_finlake(new_lake, *args, "--create", check=True)
    psql(shop, "INSERT INTO shop.payments (order_id, paid_on, amount) VALUES (10, '2026-01-04', 99.95)")
    run_finlake(new_lake, *args, check=True)
    run_finlake(new_lake, *args, check=True)
    assert lake_rows(new_lake, "SELECT id, paid_on FROM bronze.payments ORDER BY id") == ["1,2026-01-03", "2,2026-01-04"]


def test_errors_name_the_source(new_lake, shop):
    proc = run_finlake(new_lake, "ingest", "postgres", "--conninfo", shop, "--table", "shop.nope",
                       "--into", "bronze.x", "--create", check=False)
    assert "shop.nope" in proc.stderr
    proc = run_finlake(new_lake, "ingest", "postgres", "--conninfo", shop, "--table", "shop.users",
                       "--into", "bronze.u", "--create", "--watermark", "name", check=False)
    assert "watermark column 'name'" in proc.stderr
    proc = run_finlake(new_lake, "ingest", "postgres", "--conninfo", "host=127.0.0.1 port=1 user=x password=hunter2",
                       "--table", "shop.users", "--into", "bronze.u", check=False)
    assert proc.returncode == 1 and "cannot connect" in proc.stderr and "hunter2" not in proc.stderr
