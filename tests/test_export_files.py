"""Export files written chunk by chunk have the bytes of one write of the whole table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from recsys.publishing import export_files

N = 1000
#: Uneven chunks: one row, a chunk whose "note" is all missing (null-typed alone), the rest.
CUTS = [0, 1, 300, 777, N]


def frame() -> pd.DataFrame:
    i = np.arange(N)
    return pd.DataFrame(
        {
            "customer_id": [f"c{j:04d}" for j in i],
            "note": [None if j < 300 or j % 7 == 0 else f'note, "{j}" é' for j in i],
            "price": np.where(i % 5 == 0, np.nan, i * 1.25),
            "rank": i % 10 + 1,
            "empty": [None] * N,
        }
    )


def whole(frame: pd.DataFrame, path, fmt: str, row_group: int) -> bytes:
    """The reference: one write of the whole table, as the exports always did."""
    if fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False, double_precision=15)
    elif fmt == "csv":
        pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), path)
    else:
        pq.write_table(
            pa.Table.from_pandas(frame, preserve_index=False),
            path,
            row_group_size=row_group,
            compression="zstd",
            write_statistics=False,
        )
    return path.read_bytes()


@pytest.mark.parametrize("fmt", export_files.FORMATS)
@pytest.mark.parametrize("rows", [N, 0])
def test_chunked_files_equal_one_write_of_the_whole_table(tmp_path, monkeypatch, fmt, rows):
    monkeypatch.setattr(export_files, "PARQUET_ROW_GROUP_ROWS", 256)  # row groups straddle the chunks
    data = frame().iloc[:rows]
    file = export_files.open_table(tmp_path / "chunked", fmt)
    for start, stop in zip(CUTS, CUTS[1:]):
        file.write(data.iloc[start:stop])
    path, written = file.close(data)
    assert written == rows and path.name == f"chunked.{fmt}"
    assert path.read_bytes() == whole(data, tmp_path / f"whole.{fmt}", fmt, 256)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [], "the Parquet spool is removed"


def test_unknown_formats_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown export format 'xlsx'"):
        export_files.open_table(tmp_path / "send", "xlsx")
