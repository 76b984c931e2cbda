"""NumPy arrays into the Arrow columns of a fact's schema (ids, codes, dates, numbers) with no
Python object per row, which is what lets the synthetic city write millions of rows a second."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from caregrid.activity.facts import fact
from caregrid.activity.parquet import schema
from caregrid.synth.draws import Array

# "0000".."9999" as four ASCII bytes packed in one 32-bit word each
_DIGITS = (
    np.array([list(f"{i:04d}".encode()) for i in range(10_000)], dtype=np.uint8)
    .view(np.uint32)
    .ravel()
)


def ids(prefix: str, numbers: Array, digits: int, valid: Array | None = None) -> pa.Array:
    """Fixed-width ids (`P00000001`) straight into an Arrow string buffer: no Python strings;
    the digits are written four at a time from a table."""
    n = len(numbers)
    rest = np.asarray(numbers, dtype=np.int64)
    if n and (rest.min() < 0 or rest.max() >= 10**digits):
        raise ValueError(f"an id of {prefix} does not fit {digits} digits")
    words = -(-digits // 4)
    packed = np.empty((n, words), dtype=np.uint32)
    for j in range(words - 1, -1, -1):
        quotient = rest // 10_000
        packed[:, j] = _DIGITS[(rest - quotient * 10_000).astype(np.int32)]
        rest = quotient
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    width = len(head) + digits
    buf = np.empty((n, width), dtype=np.uint8)
    buf[:, : len(head)] = head
    buf[:, len(head) :] = packed.view(np.uint8)[:, words * 4 - digits :]
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    if valid is None:
        return pa.Array.from_buffers(
            pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(buf)]
        )
    bitmap = pa.py_buffer(np.packbits(valid.astype(bool), bitorder="little"))
    nulls = int(n - np.count_nonzero(valid))
    return pa.Array.from_buffers(
        pa.string(), n, [bitmap, pa.py_buffer(offsets), pa.py_buffer(buf)], null_count=nulls
    )


def take(values: pa.Array, index: Array, valid: Array | None = None) -> pa.Array:
    """Codes by index (a dictionary lookup done in Arrow); null where not `valid`."""
    mask = None if valid is None else ~valid.astype(bool)
    return values.take(pa.array(index.astype(np.int32), pa.int32(), mask=mask))


def dates(days: Array) -> pa.Array:
    return pa.array(days.astype(np.int32), pa.int32()).view(pa.date32())


def numbers(values: Array, valid: Array | None = None) -> pa.Array:
    mask = None if valid is None else ~valid.astype(bool)
    return pa.array(values.astype(np.float64), pa.float64(), mask=mask)


def table(fact_name: str, columns: dict[str, pa.Array]) -> pa.Table:
    """The fact's rows; an optional field the city does not draw is empty."""
    declared, arrow = fact(fact_name), schema(fact(fact_name))
    n = len(next(iter(columns.values())))
    found = [
        columns[f.name]
        if f.name in columns or f.required
        else pa.nulls(n, arrow.field(f.name).type)
        for f in declared.fields
    ]
    return pa.Table.from_arrays(found, schema=arrow)


def choices(fact_name: str, field_name: str) -> list[str]:
    declared = fact(fact_name).field(field_name)
    if declared is None:
        raise KeyError(f"{fact_name} declares no {field_name}")
    return list(declared.choices)
