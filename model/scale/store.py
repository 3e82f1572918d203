"""The output directory of a catalogue prediction: one Parquet file per partition, written atomically.

Layout (``dask.dataframe.read_parquet(DIR)`` and pyarrow datasets read the ``part-*`` files and
ignore names starting with ``_`` or ``.``)::

    part-00000.parquet   one row per galaxy, keyed by ``galaxy_id``; footer metadata ``photospec``
                         (JSON: job fingerprint, partition source, rows written, failures)
    _job.json            the job fingerprint (checkpoint hash, K, seed, steps, chunk, levels, split)
    _failures.csv        partition, path, error for everything that could not be processed

A part is written to ``.part-XXXXX.parquet.<random>.tmp`` and renamed with ``os.replace``, so a
reader (or a re-run) never sees half a file; the same partition always gives the same rows (its
galaxies are seeded by id), so a partition computed twice after a worker death overwrites
itself with identical content and no galaxy is ever duplicated.
"""

from __future__ import annotations

import csv
import json
import os
import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from model.errors import BadInputError
from model.scale.partitions import Failure, Partition

__all__ = ["JOB_FILE", "FAILURES_FILE", "write_part", "finished", "stored_failures", "init_out", "write_failures"]

JOB_FILE = "_job.json"
FAILURES_FILE = "_failures.csv"
META_KEY = b"photospec"


def part_path(out: Path, p: Partition) -> Path:
    return Path(out) / f"{p.name}.parquet"


def write_part(out, p: Partition, table: pd.DataFrame, job: dict, failures: list[Failure]) -> Path:
    """Write one partition's rows atomically (temp file in the same directory, then ``os.replace``)."""
    out = Path(out)
    final = part_path(out, p)
    tmp = out / f".{final.name}.{uuid.uuid4().hex[:8]}.tmp"
    t = pa.Table.from_pandas(table, preserve_index=False)
    meta = {"job": job, "partition": p.label, "index": p.index, "rows": len(table), "n_expected": p.n_expected,
            "failures": [[f.path, f.error] for f in failures]}
    # no pandas metadata and statistics for the key only: the footer of ~180 columns stays small
    t = t.replace_schema_metadata({META_KEY: json.dumps(meta).encode()})
    try:
        pq.write_table(t, tmp, compression="zstd", write_statistics=["galaxy_id"])
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()
    return final


def _meta(path: Path) -> dict | None:
    try:
        f = pq.ParquetFile(path)
        meta = json.loads((f.schema_arrow.metadata or {}).get(META_KEY, b"null"))
        if not isinstance(meta, dict) or meta.get("rows") != f.metadata.num_rows:
            return None
        return meta
    except Exception:  # noqa: BLE001 — anything unreadable is simply not finished
        return None


def finished(out, p: Partition, job: dict) -> bool:
    """Whether the partition's file exists, is readable, belongs to this job and holds every galaxy."""
    m = _meta(part_path(out, p))
    return (m is not None and m.get("job") == job and m.get("partition") == p.label
            and m["rows"] + len(m.get("failures", [])) == p.n_expected)


def stored_failures(out, p: Partition) -> list[Failure]:
    """Per-file failures recorded inside a finished partition (e.g. one corrupt cutout)."""
    m = _meta(part_path(out, p)) or {}
    return [Failure(p.name, a, b) for a, b in m.get("failures", [])]


def init_out(out, job: dict) -> Path:
    """Create the output directory, or check that it holds the same job; remove stale temp files."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BadInputError(f"{out}: exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    jpath = out / JOB_FILE
    if jpath.exists():
        try:
            old = json.loads(jpath.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise BadInputError(f"{jpath}: unreadable ({exc}); remove it or choose another --out") from None
        diff = sorted(k for k in set(job) | set(old) if old.get(k) != job.get(k))
        if diff:
            raise BadInputError(f"{out}: holds predictions with a different {', '.join(diff)}; "
                                "choose another --out or remove it")
    elif any(out.glob("part-*.parquet")):
        raise BadInputError(f"{out}: holds part files but no {JOB_FILE}; choose another --out")
    else:
        tmp = jpath.with_name(jpath.name + ".tmp")
        tmp.write_text(json.dumps(job, indent=1))
        os.replace(tmp, jpath)
    for stale in out.glob(".part-*.tmp"):
        stale.unlink(missing_ok=True)
    return out


def write_failures(out, failures: list[Failure]) -> Path | None:
    """Rewrite ``_failures.csv`` (removed when there is nothing to report)."""
    path = Path(out) / FAILURES_FILE
    if not failures:
        path.unlink(missing_ok=True)
        return None
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["partition", "path", "error"])
        for f in sorted(failures, key=lambda f: (f.partition, f.path)):
            w.writerow([f.partition, f.path, f.error.replace("\n", " ")])
    os.replace(tmp, path)
    return path
