"""The Parquet layout of facts, shared by the export, the synthetic city and the engines:
`<root>/<fact>/month=YYYY-MM/part-<name>.parquet` (Hive partitioning), one Arrow schema per
fact derived from its declaration."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from caregrid.activity.facts import Fact, Kind

ARROW: dict[Kind, pa.DataType] = {
    Kind.TEXT: pa.string(),
    Kind.INT: pa.int32(),
    Kind.NUMBER: pa.float64(),
    Kind.DATE: pa.date32(),
    Kind.BOOL: pa.bool_(),
}


def schema(fact: Fact) -> pa.Schema:
    return pa.schema(
        [pa.field(f.name, ARROW[f.kind], nullable=not f.required) for f in fact.fields]
    )


def month_dir(root: Path, fact: Fact, month: str) -> Path:
    return root / fact.name / f"month={month}"


def write_month(root: Path, fact: Fact, month: str, table: pa.Table, part: str = "0") -> Path:
    """Write one month of a fact, replacing that part if it exists; the table must have the
    fact's schema (cast first). An unchanged part keeps its file (and its modification time,
    so incremental computation sees nothing new)."""
    folder = month_dir(root, fact, month)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"part-{part}.parquet"
    buffer = pa.BufferOutputStream()
    pq.write_table(table.cast(schema(fact)), buffer, compression="zstd")
    data = buffer.getvalue().to_pybytes()
    if not (path.exists() and path.read_bytes() == data):
        staged = path.with_suffix(".tmp")
        staged.write_bytes(data)
        staged.replace(path)
    return path


def months(root: Path, fact: Fact) -> list[str]:
    folder = root / fact.name
    if not folder.is_dir():
        return []
    return sorted(p.name.removeprefix("month=") for p in folder.glob("month=*") if p.is_dir())


def glob(root: Path, fact: Fact) -> str:
    """The pattern DuckDB and Spark read a fact's files with."""
    return str(root / fact.name / "month=*" / "*.parquet")
