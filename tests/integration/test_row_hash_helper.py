"""The row-hash comparison the interop tests rely on: equal iff same multiset of rows,
whatever physical types each reader picked."""

from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa
import pytest

from conftest import assert_same_rows, row_hashes

UTC = dt.timezone.utc


def test_equivalent_physical_types_hash_equal():
    """Column order/case, timestamp unit and zone (naive = UTC), float32 vs its float64
    widening, decimal scale, dictionary encoding, map entry order and row order do not
    change the hashes."""
    ts = dt.datetime(1969, 12, 31, 23, 59, 59, 123456)
    left = pa.table(
        {
            "TS": pa.array([ts, None], pa.timestamp("ns")),
            "f": pa.array([0.1, 2.5], pa.float32()),
            "d": pa.array([decimal.Decimal("10.000"), None], pa.decimal128(5, 3)),
            "s": pa.array(["ü", "ü"]).dictionary_encode(),
            "m": pa.array([[("b", 2), ("a", 1)], None], pa.map_(pa.string(), pa.int32())),
        }
    )
    right = pa.table(
        {
            "m": pa.array([None, [("a", 1), ("b", 2)]], pa.map_(pa.string(), pa.int64())),
            "s": pa.array(["ü", "ü"], pa.large_string()),
            "d": pa.array([None, decimal.Decimal("10")], pa.decimal128(38, 0)),
            "f": pa.array([2.5, float(pa.scalar(0.1, pa.float32()).as_py())], pa.float64()),
            "ts": pa.array([None, ts.replace(tzinfo=UTC)], pa.timestamp("us", tz="UTC")),
        }
    )
    assert row_hashes(left) == row_hashes(right)


@pytest.mark.parametrize(
    "right",
    [
        pa.table({"id": [1, 2, 2]}),  # a duplicated row
        pa.table({"id": [1, 3]}),  # a different value
        pa.table({"ID2": [1, 2]}),  # a different column
        pa.table({"id": pa.array([1, None], pa.int64())}),  # null vs value
        pa.table({"id": ["1", "2"]}),  # string vs number
    ],
    ids=["duplicate", "value", "column", "null", "type-class"],
)
def test_different_rows_hash_different(right):
    """Different multisets of rows give different hashes, and assert_same_rows fails."""
    left = pa.table({"id": [1, 2]})
    assert row_hashes(left) != row_hashes(right)
    with pytest.raises(pytest.fail.Exception):
        assert_same_rows(left, right)


def test_decimal_precision_is_kept():
    """38-digit decimals are not rounded by normalisation (Decimal's default context has 28 digits)."""
    a = pa.table({"d": pa.array([decimal.Decimal("99999999999999999999999999999999999996")], pa.decimal128(38, 0))})
    b = pa.table({"d": pa.array([decimal.Decimal("99999999999999999999999999999999999997")], pa.decimal128(38, 0))})
    assert row_hashes(a) != row_hashes(b)
