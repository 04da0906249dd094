"""finlake reads every table of the shared Delta corpus, at every version, like the oracles.

The corpus (``<repo>/../shared/delta-tables``) is described by MANIFEST.md; the reference
replay in EXPECTED_COUNTS.txt lists, per table and version, the live files, the row count
and how many live files are absent on disk (``MISSING=k``, log-only tables).

* Tables finlake must refuse (unsupported reader features, broken logs) are listed in
  REFUSED with the reason; registering them must fail with an error naming the rule.
* Every other table is registered once (one session lake, namespace ``corpus``) and
  read at every listed version with ``sql --format parquet``; the rows must equal the
  oracle's row for row (row hashes, see conftest.canonical_rows):
  DAT ``expected/`` parquet where DAT ships one for that version, else delta-rs
  (``DeltaTable(path, version=v)``), else (delta-rs cannot read it) DuckDB's delta
  extension for the latest version, else only the row count is checked.
* Versions whose live files are missing must fail with an error naming a missing file;
  versions whose log was cleaned up (UNREBUILDABLE) must fail with an error.
"""

from __future__ import annotations

import json
import re
import subprocess
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from conftest import (
    CORPUS_DIR,
    assert_error,
    assert_same_rows,
    describe_run,
    duckdb_delta_scan,
    read_parquet_dir,
    run_finlake,
    table_name_for,
)

NAMESPACE = "corpus"

# Tables finlake must refuse: relpath -> (text the error must contain, why).
REFUSED: dict[str, tuple[str, str]] = {
    "delta-rs/table-with-dv-small": ("deletionVectors", "reader feature deletionVectors (3/7)"),
    "delta-golden/dv-partitioned-with-checkpoint": ("deletionVectors", "reader feature deletionVectors (3/7)"),
    "delta-rs/table_with_column_mapping": ("column mapping", "column mapping, name mode (reader 2)"),
    "delta-golden/table-with-columnmapping-mode-name": ("column mapping", "column mapping, name mode (reader 2)"),
    "delta-rs/simple_table_features": ("reader version", "reader version 5 with unknown feature 'blahabl'"),
    "delta-golden/deltalog-invalid-protocol-version": ("reader version", "reader version 99"),
    "delta-rs/checkpoint-v2-table": ("v2Checkpoint", "reader feature v2Checkpoint"),
    "delta-golden/versions-not-contiguous": ("not contiguous", "commit 1 is missing below the latest version"),
    "delta-golden/deltalog-state-reconstruction-without-metadata": ("metaData", "no metaData action in the log"),
    "delta-golden/deltalog-state-reconstruction-without-protocol": ("protocol", "no protocol action in the log"),
}

# Versions whose commits were deleted with no checkpoint at or below them.
UNREBUILDABLE: dict[str, range] = {
    "delta-rs/checkpoints_vacuumed": range(0, 5),
    "dat/no_replay/delta": range(0, 2),
}

# 1.1M rows: compare aggregates (MANIFEST figures) instead of row hashes.
AGGREGATES: dict[str, tuple[str, dict[str, int]]] = {
    "delta-rs/COVID-19_NYT": (
        "count(*) AS n, sum(cases) AS cases, sum(deaths) AS deaths, count(DISTINCT state) AS states",
        {"n": 1_111_930, "cases": 3_549_814_734, "deaths": 77_892_677, "states": 55},
    ),
}

MISSING_FILE_WORDS = re.compile(r"missing|not found|no files found|does not exist|no such file", re.I)


# --------------------------------------------------------------------------- EXPECTED_COUNTS


@dataclass(frozen=True)
class VersionCount:
    """One ``vN ...`` line of EXPECTED_COUNTS.txt."""

    version: int
    rows: int | None
    files: int | None
    missing: int
    error: str | None


def parse_expected_counts(path: Path) -> dict[str, list[VersionCount]]:
    """``== <relpath>`` headers followed by ``vN key=value ...`` (or ``vN ERROR ...``) lines."""
    tables: dict[str, list[VersionCount]] = {}
    current: list[VersionCount] | None = None
    for line in path.read_text().splitlines():
        if line.startswith("== "):
            current = tables.setdefault(line[3:].strip(), [])
            continue
        match = re.match(r"\s+v(\d+)\s+(.*)$", line)
        if not match or current is None:
            continue
        version, rest = int(match.group(1)), match.group(2)
        if rest.startswith("ERROR"):
            current.append(VersionCount(version, None, None, 0, rest[len("ERROR") :].strip()))
            continue
        fields = dict(re.findall(r"(\w+)=(\S*)", rest))
        current.append(
            VersionCount(
                version,
                rows=int(fields["rows"]),
                files=int(fields["files"]),
                missing=int(fields.get("MISSING", 0)),
                error=None,
            )
        )
    return tables


def corpus_table_dirs(corpus: Path) -> set[str]:
    """Relative paths of the Delta tables on disk: ``dat/<name>/delta``, else ``<source>/<name>``."""
    found = set()
    for source in sorted(p for p in corpus.iterdir() if p.is_dir()):
        for table in sorted(p for p in source.iterdir() if p.is_dir()):
            rel = table.relative_to(corpus)
            found.add(str(rel / "delta") if source.name == "dat" else str(rel))
    return found


EXPECTED: dict[str, list[VersionCount]] = (
    parse_expected_counts(CORPUS_DIR / "EXPECTED_COUNTS.txt") if (CORPUS_DIR / "EXPECTED_COUNTS.txt").is_file() else {}
)
CORPUS_MISSING = pytest.param(None, None, id="corpus-missing")


def _version_cases() -> list:
    cases = [
        pytest.param(rel, count, id=f"{rel}@v{count.version}")
        for rel, counts in EXPECTED.items()
        if rel not in REFUSED
        for count in counts
    ]
    return cases or [CORPUS_MISSING]


def _refused_cases() -> list:
    return [pytest.param(rel, REFUSED[rel], id=rel) for rel in REFUSED] if EXPECTED else [CORPUS_MISSING]


def _unrebuildable_cases() -> list:
    cases = [pytest.param(rel, v, id=f"{rel}@v{v}") for rel, versions in UNREBUILDABLE.items() for v in versions]
    return cases if EXPECTED else [CORPUS_MISSING]


# --------------------------------------------------------------------------- the session lake


class CorpusLake:
    """One lake for the whole session; each corpus table is registered on first use."""

    def __init__(self, lake: Path, corpus: Path, out_dir: Path):
        self.lake, self.corpus, self.out_dir = lake, corpus, out_dir
        self._registrations: dict[str, subprocess.CompletedProcess] = {}

    def register(self, rel: str) -> subprocess.CompletedProcess:
        """The (cached) CompletedProcess of ``register corpus.<name> <table dir>``."""
        if rel not in self._registrations:
            self._registrations[rel] = run_finlake(self.lake, "register", self.qualified(rel), self.corpus / rel)
        return self._registrations[rel]

    def qualified(self, rel: str) -> str:
        return f"{NAMESPACE}.{table_name_for(rel)}"

    def registered(self, rel: str) -> str:
        """The table's qualified name; fails the test if registration failed."""
        proc = self.register(rel)
        assert proc.returncode == 0, f"registering a readable table failed\n{describe_run(proc)}"
        return self.qualified(rel)

    def read(self, rel: str, version: int) -> tuple[subprocess.CompletedProcess, pa.Table | None]:
        """``SELECT * ... AT (VERSION => v)`` as (CompletedProcess, table or None)."""
        out = self.out_dir / f"{table_name_for(rel)}_v{version}.parquet"
        query = f"SELECT * FROM {self.registered(rel)} AT (VERSION => {version})"
        proc = run_finlake(self.lake, "sql", "--format", "parquet", "-o", out, query)
        table = pq.read_table(out) if proc.returncode == 0 else None
        if out.exists():
            out.unlink()
        return proc, table


@pytest.fixture(scope="session")
def corpus_lake(tmp_path_factory, finlake_bin, corpus_dir) -> CorpusLake:
    lake = tmp_path_factory.mktemp("corpus") / "lake"
    run_finlake(lake, "init", check=True)
    run_finlake(lake, "create-namespace", NAMESPACE, check=True)
    return CorpusLake(lake, corpus_dir, tmp_path_factory.mktemp("corpus_out"))


# --------------------------------------------------------------------------- oracles


def dat_expected_dirs(table_dir: Path) -> dict[int, Path]:
    """DAT ``expected/<vN|latest>`` directories by the version they describe."""
    expected_root = table_dir.parent / "expected"
    found: dict[int, Path] = {}
    if not expected_root.is_dir():
        return found
    for entry in sorted(expected_root.iterdir()):
        meta = json.loads((entry / "table_version_metadata.json").read_text())
        # A vN directory wins over `latest` describing the same version.
        if entry.name != "latest" or meta["version"] not in found:
            found[int(meta["version"])] = entry / "table_content.parquet"
    return found


def oracle_rows(table_dir: Path, rel: str, version: int) -> tuple[str, pa.Table | None]:
    """(oracle name, expected rows) for one version; (reason, None) when no oracle reads it."""
    expected = dat_expected_dirs(table_dir) if rel.startswith("dat/") else {}
    if version in expected:
        return "DAT expected", read_parquet_dir(expected[version])
    try:
        return "delta-rs", DeltaTable(str(table_dir), version=version).to_pyarrow_table()
    except Exception as delta_rs_error:  # noqa: BLE001 - any oracle failure means "try the next one"
        reason = f"delta-rs cannot read it ({str(delta_rs_error).splitlines()[0][:200]})"
    if version == max(c.version for c in EXPECTED[rel]):
        try:
            return "DuckDB delta_scan", duckdb_delta_scan(table_dir)
        except Exception as duckdb_error:  # noqa: BLE001
            reason += f"; DuckDB cannot either ({str(duckdb_error).splitlines()[0][:200]})"
    return reason, None


def missing_live_files(table_dir: Path, version: int) -> list[str]:
    """Relative paths of the live files of `version` that are absent on disk (per delta-rs's log replay)."""
    missing = []
    for uri in DeltaTable(str(table_dir), version=version).file_uris():
        path = Path(urllib.parse.unquote(urllib.parse.urlparse(uri).path)) if uri.startswith("file:") else Path(uri)
        if not path.exists():
            missing.append(str(path.relative_to(table_dir)) if path.is_relative_to(table_dir) else str(path))
    return missing


def names_file(stderr: str, table_dir: Path, rel_path: str) -> bool:
    """Whether stderr names the file, by absolute path or as a whole relative-path token."""
    if str(table_dir / rel_path) in stderr:
        return True
    return re.search(rf"(?<![\w/.%-]){re.escape(rel_path)}(?![\w/.%-])", stderr) is not None


# --------------------------------------------------------------------------- tests


def test_corpus_is_fully_covered(corpus_dir):
    """Every table directory in the corpus has an EXPECTED_COUNTS entry (so it is tested),
    and every table named in REFUSED / UNREBUILDABLE / AGGREGATES exists."""
    on_disk = corpus_table_dirs(corpus_dir)
    assert on_disk == set(EXPECTED), (
        f"not in EXPECTED_COUNTS: {sorted(on_disk - set(EXPECTED))}; "
        f"not on disk: {sorted(set(EXPECTED) - on_disk)}"
    )
    for listed in (REFUSED, UNREBUILDABLE, AGGREGATES):
        assert set(listed) <= on_disk, sorted(set(listed) - on_disk)


@pytest.mark.parametrize("rel, refusal", _refused_cases())
def test_refused_table(corpus_lake, rel, refusal):
    """Registering a table finlake cannot read fails (non-zero exit) with an error that
    names the unsupported feature or the broken rule."""
    needle, _why = refusal
    proc = corpus_lake.register(rel)
    assert_error(proc, needle)


@pytest.mark.parametrize("rel, count", _version_cases())
def test_read_version(corpus_lake, rel, count):
    """finlake's rows at this version equal the oracle's rows (row hashes) and the
    reference row count; log-only versions fail naming a missing data file."""
    table_dir = corpus_lake.corpus / rel
    assert count.error is None, f"EXPECTED_COUNTS says v{count.version} is broken ({count.error}): list it in REFUSED"

    if count.missing:
        proc, _ = corpus_lake.read(rel, count.version)
        assert_error(proc)
        missing = missing_live_files(table_dir, count.version)
        assert missing, "the oracle sees no missing file although EXPECTED_COUNTS lists MISSING"
        assert any(names_file(proc.stderr, table_dir, m) for m in missing), (
            f"{describe_run(proc)}\nstderr names none of the missing files {missing[:5]}"
        )
        assert MISSING_FILE_WORDS.search(proc.stderr), f"{describe_run(proc)}\nstderr does not say the file is missing"
        return

    if rel in AGGREGATES:
        select, expected = AGGREGATES[rel]
        name = corpus_lake.registered(rel)
        query = f"SELECT {select} FROM {name} AT (VERSION => {count.version})"
        proc = run_finlake(corpus_lake.lake, "sql", "--format", "json", query, check=True)
        (row,) = json.loads(proc.stdout)
        assert {k: int(v) for k, v in row.items()} == expected
        assert expected["n"] == count.rows
        return

    proc, table = corpus_lake.read(rel, count.version)
    assert proc.returncode == 0, describe_run(proc)
    assert table.num_rows == count.rows, f"{rel}@v{count.version}: {table.num_rows} rows, reference {count.rows}"
    oracle, expected = oracle_rows(table_dir, rel, count.version)
    if expected is None:
        # Only the reference count can be checked (done above).
        return
    assert_same_rows(table, expected, f"{rel}@v{count.version} vs {oracle}")


@pytest.mark.parametrize("rel, version", _unrebuildable_cases())
def test_unrebuildable_version_fails(corpus_lake, rel, version):
    """Time travel to a version whose commits were cleaned up (no checkpoint at or
    below it) fails with an error naming that version, instead of returning partial data."""
    proc, _ = corpus_lake.read(rel, version)
    assert_error(proc, f"version {version}")


def test_registered_names_are_valid_and_distinct(corpus_dir):
    """Names derived from corpus paths are valid finlake table names, one per table."""
    names = [table_name_for(rel) for rel in EXPECTED]
    assert all(re.fullmatch(r"[a-z0-9_]+", name) for name in names), names
    assert len(set(names)) == len(names)

