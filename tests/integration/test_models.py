"""Declarative models: a user adds a gold model by adding a file to
<lake>/pipelines/; bad files get errors that name the file and the rule."""
from __future__ import annotations

import json

from conftest import assert_error, run_finlake

MY_MODEL = """/*---
output: gold.range_by_symbol
description: Each symbol's trading range
inputs: [silver.bars_1d]
keys: [symbol]
mode: full
---*/
SELECT symbol, min(low) AS low, max(high) AS high, count(*) AS sessions
FROM silver.bars_1d GROUP BY symbol
"""


def rows(lake, query):
    return json.loads(run_finlake(lake, "sql", "--format", "json", query, check=True).stdout)


def test_init_installs_the_default_models_and_a_user_model_runs(new_lake):
    pipelines = new_lake / "pipelines"
    assert sorted(p.name for p in pipelines.iterdir()) == [
        "gold_market_summary.sql", "gold_monthly_bars.sql", "gold_weekly_bars.sql", "quality.yaml"]
    (pipelines / "my_range.sql").write_text(MY_MODEL)
    listed = run_finlake(new_lake, "models", "list", check=True).stdout
    assert "gold.range_by_symbol" in listed and "gold.weekly_bars" in listed
    run_finlake(new_lake, "ingest", "generate", "--count", "3", "--start", "2024-06-24", "--end", "2024-07-12",
                "--as-of", "2024-07-12", check=True)
    out = run_finlake(new_lake, "models", "run", check=True).stdout
    assert "gold.range_by_symbol: read silver.bars_1d" in out
    assert [r["sessions"] for r in rows(new_lake, "SELECT sessions FROM gold.range_by_symbol ORDER BY symbol")] == [14] * 3
    # The week of July 4th (a holiday) has four sessions, from Monday 1st.
    week = rows(new_lake, "SELECT week_start::VARCHAR AS w, first_session::VARCHAR AS f, sessions FROM "
                          "gold.weekly_bars WHERE symbol = 'SYN0001' AND week_start = DATE '2024-07-01'")
    assert week == [{"w": "2024-07-01", "f": "2024-07-01", "sessions": 4}]
    again = run_finlake(new_lake, "models", "run", "gold.range_by_symbol", check=True).stdout
    assert again.strip() == "gold.range_by_symbol: nothing new"


def test_bad_model_files_are_named_with_the_rule(new_lake):
    pipelines = new_lake / "pipelines"
    (pipelines / "broken.sql").write_text("SELECT 1")
    assert_error(run_finlake(new_lake, "models", "run"), "broken.sql", "yaml header")
    (pipelines / "broken.sql").write_text(MY_MODEL.replace("mode: full", "mode: sometimes"))
    assert_error(run_finlake(new_lake, "models", "list"), "broken.sql", "mode 'sometimes'")
    (pipelines / "broken.sql").write_text(MY_MODEL.replace("keys: [symbol]", "keys: [symbol]\ncolour: blue"))
    assert_error(run_finlake(new_lake, "models", "list"), "broken.sql", "unknown header field 'colour'")
    (pipelines / "broken.sql").write_text(MY_MODEL.replace("inputs: [silver.bars_1d]", "inputs: [silver.symbols]"))
    run_finlake(new_lake, "ingest", "generate", "--count", "1", "--start", "2024-07-01", "--end", "2024-07-05",
                "--as-of", "2024-07-05", check=True)
    assert_error(run_finlake(new_lake, "models", "run"), "broken.sql", "silver.bars_1d", "inputs do not list")
    assert_error(run_finlake(new_lake, "models", "run", "gold.nope"), "no model 'gold.nope'")


def test_a_failing_blocking_check_stops_the_downstream_models_and_says_why(new_lake):
    (new_lake / "pipelines" / "quality.yaml").write_text(
        "silver.bars_1d:\n"
        "  - {check: unique, columns: [symbol, session_date], blocking: true}\n"
        "  - {check: accepted_range, column: close, max: 1, blocking: true, name: penny_stocks_only}\n")
    run_finlake(new_lake, "ingest", "generate", "--count", "2", "--start", "2024-07-01", "--end", "2024-07-12",
                "--as-of", "2024-07-12", check=True)
    proc = run_finlake(new_lake, "models", "run")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert "quality: silver.bars_1d: blocking penny_stocks_only fail:" in out
    assert "gold.daily_features: skipped: silver.bars_1d: blocking check penny_stocks_only failed" in out
    assert "gold.weekly_bars: skipped" in out and "gold.market_summary: skipped" in out
    results = rows(new_lake, "SELECT check_name, status, blocking FROM system.quality_results ORDER BY check_name")
    assert results == [{"check_name": "penny_stocks_only", "status": "fail", "blocking": True},
                       {"check_name": "unique(symbol, session_date)", "status": "pass", "blocking": True}]
    assert run_finlake(new_lake, "sql", "SELECT 1 FROM gold.daily_features").returncode != 0  # Never built.


def test_the_demo_builds_bronze_silver_and_gold_and_a_second_run_adds_nothing(tmp_path):
    lake = tmp_path / "demo"
    first = run_finlake(lake, "demo", check=True).stdout
    assert "gold.daily_features from silver.bars_1d (version 1): 5 symbols" in first
    counts = rows(lake, "SELECT (SELECT count(*) FROM silver.bars_1d) AS silver, "
                        "(SELECT count(*) FROM gold.daily_features) AS gold, "
                        "(SELECT count(*) FROM gold.weekly_bars WHERE symbol = 'SYN0001') AS weeks")
    assert counts[0]["silver"] == counts[0]["gold"] == 2510 and 100 <= counts[0]["weeks"] <= 106
    second = run_finlake(lake, "demo", check=True).stdout
    assert "silver.bars_1d from bronze.generator_raw (version 1): nothing new" in second
    assert "gold.weekly_bars: nothing new" in second


def test_a_copied_lake_is_independent_of_the_original(tmp_path):
    import shutil
    original, copy = tmp_path / "original", tmp_path / "copy"
    run_finlake(original, "init", check=True)
    run_finlake(original, "ingest", "generate", "--count", "1", "--start", "2024-07-01", "--end", "2024-07-05",
                "--as-of", "2024-07-05", check=True)
    shutil.copytree(original, copy)
    run_finlake(copy, "ingest", "generate", "--count", "2", "--start", "2024-07-08", "--end", "2024-07-12",
                "--as-of", "2024-07-12", check=True)
    tables = run_finlake(copy, "tables", check=True).stdout
    assert f"bronze.generator_raw\t{copy}/bronze/generator_raw" in tables
    count = "SELECT count(*) AS n FROM bronze.generator_raw"
    assert rows(original, count) == [{"n": 1}] and rows(copy, count) == [{"n": 3}]
