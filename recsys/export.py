"""CRM exports of the published recommendations: send files, holdout, catalogue feed, manifest.

``recsys export --campaign NAME`` writes, into ``<out>/<campaign>_<send date>/``:

``send_wide.<fmt>``
    one row per customer for email templates: ``customer_id, email_hash`` then
    ``product_id_<r>, title_<r>, price_<r>, product_url_<r>, image_url_<r>`` for r = 1..k;
``send_long.<fmt>``
    one row per customer and rank (same fields plus the reason);
``catalogue.<fmt>``
    the product feed Braze catalogs and Klaviyo feeds load: ``id`` first, then
    ``title, link, price, image_link, categories, inventory``;
``manifest.json``
    counts, the run and model exported, and the SHA-256 of every file.

Holdout: a customer is held out of a campaign when ``hash(campaign, customer) < share``
(:func:`holdout_bucket`), so membership is stable across runs and dates and close to the
share.  The whole audience, held-out flag included, is recorded in
``recs.campaign_audiences``; held-out customers are left out of the send files so uplift
can be measured later.  Files carry no timestamps: the same campaign and date give
byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from psycopg import sql

from recsys import publish, warehouse
from recsys.config import RecsConfig

log = logging.getLogger(__name__)

FORMATS = ("csv", "parquet", "jsonl")
ITEM_FIELDS = ("product_id", "title", "price", "product_url", "image_url")
CATALOGUE_COLUMNS = ("id", "title", "link", "price", "image_link", "categories", "inventory")
_CAMPAIGN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class Audience:
    """Who receives a campaign: every customer with a list, a segment, or an analyst's query."""

    segment: str | None = None
    sql_text: str | None = None

    def __post_init__(self) -> None:
        if self.segment and self.sql_text:
            raise ValueError("choose --segment or --audience-sql, not both")


def holdout_bucket(customer_ids, campaign: str) -> np.ndarray:
    """A customer's uniform [0, 1) position for a campaign: the first 8 bytes of
    SHA-256(``campaign:customer``).  Independent across campaigns, stable across runs."""
    values = [int.from_bytes(hashlib.sha256(f"{campaign}:{c}".encode()).digest()[:8], "big")
              for c in customer_ids]
    return np.asarray(values, dtype=np.float64) / 2.0 ** 64


def with_urls(rows: pd.DataFrame, config: RecsConfig, id_column: str = "product_id",
              url_columns: tuple[str, str] = ("product_url", "image_url")) -> pd.DataFrame:
    """Product and image URLs from the catalogue, or from the configured templates where missing."""
    quoted = rows[id_column].astype(str).map(lambda p: urllib.parse.quote(p, safe=""))
    link, image = url_columns
    links = quoted.map(lambda p: config.product_url_template.format(product_id=p))
    images = quoted.map(lambda p: config.image_url_template.format(product_id=p))
    return rows.assign(**{link: rows[link].where(rows[link].notna(), links),
                          image: rows[image].where(rows[image].notna(), images)})


def wide_layout(long: pd.DataFrame, k: int) -> pd.DataFrame:
    """One row per customer: ``customer_id, email_hash`` and the item fields of each rank 1..k."""
    base = long.drop_duplicates("customer_id")[["customer_id", "email_hash"]].set_index("customer_id")
    pivot = long.pivot(index="customer_id", columns="rank", values=list(ITEM_FIELDS))
    columns = [(field, rank) for rank in range(1, k + 1) for field in ITEM_FIELDS]
    pivot = pivot.reindex(columns=pd.MultiIndex.from_tuples(columns))
    pivot.columns = [f"{field}_{rank}" for field, rank in columns]
    return base.join(pivot).reset_index()


def write_table(frame: pd.DataFrame, path: Path, fmt: str) -> Path:
    """``frame`` as CSV, Parquet or JSON lines; deterministic bytes for the same frame."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {FORMATS}")
    path = Path(path).with_suffix(f".{fmt}")
    if fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False, double_precision=15)
        return path
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if fmt == "csv":
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path, compression="zstd", write_statistics=False)
    return path


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _rows_source(url: str, run_id: str | None) -> sql.Composable:
    if run_id is None:
        return sql.Identifier("recs", "user_recommendations")
    with warehouse.connect(url) as conn:
        row = conn.execute(warehouse.read_sql("export_run_table.sql"), {"run_id": run_id}).fetchone()
    if row is None or row[0] not in (publish.CURRENT, publish.PREVIOUS):
        raise LookupError(f"run {run_id!r} has no kept tables to export (status {row[0] if row else 'unknown'})")
    return publish.run_table("user_recommendations", run_id)


def read_campaign_rows(url: str, k: int, audience: Audience, run_id: str | None = None) -> pd.DataFrame:
    """Top-``k`` published rows of the audience, one run, in customer and rank order.

    An audience query is the analyst's own SQL returning ``customer_id``; it runs as a
    subquery inside a read-only transaction, so it cannot change the warehouse.
    """
    condition = sql.SQL("true")
    if audience.sql_text:
        condition = sql.SQL("r.customer_id in (select customer_id::text from ({}) as audience)").format(
            sql.SQL(audience.sql_text.strip().rstrip(";")))
    query = sql.SQL(warehouse.read_sql("export_campaign_rows.sql")).format(recs=_rows_source(url, run_id),
                                                                           audience=condition)
    with warehouse.connect(url) as conn:
        conn.execute(warehouse.read_sql("export_read_only.sql"))
        cursor = conn.execute(query, {"k": k, "segment": audience.segment})
        rows = pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description])
    if rows["run_id"].nunique() > 1:
        raise RuntimeError("the recommendations changed run while being read; export again")
    return rows


def read_catalogue(url: str, config: RecsConfig) -> pd.DataFrame:
    """The product feed (:data:`CATALOGUE_COLUMNS`), URLs filled from the templates."""
    with warehouse.connect(url) as conn:
        cursor = conn.execute(warehouse.read_sql("export_catalogue.sql"))
        frame = pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description])
    return with_urls(frame, config, "id", ("link", "image_link"))[list(CATALOGUE_COLUMNS)]


def record_audience(url: str, campaign: str, send_date: dt.date, run_id: str, audience: pd.DataFrame,
                    share: float) -> None:
    """Replace the campaign's audience of ``send_date`` in ``recs.campaign_audiences`` (COPY)."""
    frame = audience.assign(campaign=campaign, send_date=send_date, run_id=run_id, holdout_share=share)
    columns = ("campaign", "send_date", "customer_id", "run_id", "in_holdout", "holdout_bucket", "holdout_share")
    with warehouse.transaction(url) as conn:
        conn.execute(warehouse.read_sql("export_audience_clear.sql"), {"campaign": campaign, "send_date": send_date})
        publish.copy_rows(conn, sql.Identifier("recs", "campaign_audiences"), columns, frame)


def export_campaign(url: str, config: RecsConfig, campaign: str, out_dir: Path, *, k: int = 5, fmt: str = "csv",
                    audience: Audience = Audience(), holdout_share: float | None = None,
                    run_id: str | None = None) -> Path:
    """Write a campaign's send files, catalogue and manifest; record its audience.

    Returns the manifest path.  ``holdout_share`` defaults to ``config.holdout_share``.
    """
    share = config.holdout_share if holdout_share is None else holdout_share
    if not _CAMPAIGN.match(campaign):
        raise ValueError(f"campaign name {campaign!r}: letters, digits, '_', '.', '-' only (it names files)")
    if not 0 <= share < 1:
        raise ValueError(f"holdout share must be in [0, 1), got {share}")
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    rows = read_campaign_rows(url, k, audience, run_id)
    if rows.empty:
        raise LookupError("no published recommendations for this audience: publish a run first (recsys publish run)")
    run, send_date = rows["run_id"].iloc[0], rows["context_date"].iloc[0]
    customers = rows.drop_duplicates("customer_id")[["customer_id"]].reset_index(drop=True)
    customers["holdout_bucket"] = holdout_bucket(customers["customer_id"], campaign)
    customers["in_holdout"] = customers["holdout_bucket"] < share
    record_audience(url, campaign, send_date, run, customers, share)
    sent = rows[rows["customer_id"].isin(customers.loc[~customers["in_holdout"], "customer_id"])]
    long = with_urls(sent, config)[["customer_id", "email_hash", "rank", *ITEM_FIELDS, "reason_code", "reason_ref"]]
    folder = Path(out_dir) / f"{campaign}_{send_date:%Y-%m-%d}"
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "send_wide": (wide_layout(long, k), folder / "send_wide"),
        "send_long": (long, folder / "send_long"),
        "catalogue": (read_catalogue(url, config), folder / "catalogue"),
    }
    written = {name: (write_table(frame, path, fmt), len(frame)) for name, (frame, path) in files.items()}
    manifest = {
        "campaign": campaign, "send_date": f"{send_date:%Y-%m-%d}", "run_id": run,
        "model_version": rows["model_version"].iloc[0], "k": k, "format": fmt, "holdout_share": share,
        "audience": {"segment": audience.segment, "sql": audience.sql_text},
        "counts": {"audience": len(customers), "holdout": int(customers["in_holdout"].sum()),
                   "sent": int((~customers["in_holdout"]).sum()), "products": len(files["catalogue"][0])},
        "files": {path.name: {"rows": n, "bytes": path.stat().st_size, "sha256": sha256_of(path)}
                  for path, n in written.values()},
    }
    manifest_path = folder / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    log.info("campaign %s for %s: %d customers, %d held out, files in %s", campaign, send_date,
             len(customers), manifest["counts"]["holdout"], folder)
    return manifest_path
