"""CRM exports of the published recommendations: send files, holdout, catalogue feed, manifest.

``recsys export --campaign NAME`` writes, into ``<out>/<campaign>_<send date>/``:

``send_wide.<fmt>``
    one row per customer for email templates: ``customer_id, email_hash`` (HMAC-SHA256 of
    the address with the shop's key, ``RECSYS_PII__EMAIL_HASH_KEY``) then
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
share; a customer of the persistent global control group (``hash(salt, customer) <
control share``, the same for every campaign) is never sent anything (:func:`assign_arms`).
Only customers who consented to marketing e-mail and are not suppressed (``crm.crm_contacts``)
are in an audience at all.  The whole audience, arm included, is recorded in
``recs.campaign_audiences``; held-out customers are left out of the send files so uplift
can be measured later.  Files carry no timestamps: the same campaign and date give
byte-identical files.

The rows stream from a server-side cursor (read by a worker thread) in customer order and
are processed in chunks of whole customers, so memory does not grow with the audience;
:mod:`recsys.publishing.export_files` appends each chunk to the files with the bytes one write of the
whole table would give.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import itertools
import json
import logging
import re
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql

from recsys.pgio import frames
from recsys.pgio.copy_stream import copy_binary_stream
from recsys.pgio.read_ahead import read_ahead
from recsys.platform import warehouse
from recsys.platform.settings import RecsConfig
from recsys.platform.sqlfiles import SqlFiles
from recsys.publishing import export_files, runs

log = logging.getLogger(__name__)
_sql = SqlFiles(__name__)

ITEM_FIELDS = ("product_id", "title", "price", "product_url", "image_url")
LONG_COLUMNS = ("customer_id", "email_hash", "rank", *ITEM_FIELDS, "reason_code", "reason_ref")
CATALOGUE_COLUMNS = ("id", "title", "link", "price", "image_link", "categories", "inventory")
AUDIENCE_TABLE = sql.Identifier("recs", "campaign_audiences")
AUDIENCE_COLUMNS = (
    "campaign",
    "send_date",
    "customer_id",
    "run_id",
    "in_holdout",
    "holdout_bucket",
    "holdout_share",
    "arm",
    "control_bucket",
)
TREATMENT, HOLDOUT, GLOBAL_CONTROL = "treatment", "holdout", "global_control"
#: Default share and salt of the global control group (``RECSYS_CAMPAIGNS__GLOBAL_CONTROL_*``).
GLOBAL_CONTROL_SHARE, GLOBAL_CONTROL_SALT = 0.05, "global-control"
#: Rows per fetch from the server-side cursor; a chunk is cut at the last whole customer.
FETCH_ROWS = 50_000
_CAMPAIGN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_DONE = object()


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
    values = [int.from_bytes(hashlib.sha256(f"{campaign}:{c}".encode()).digest()[:8], "big") for c in customer_ids]
    return np.asarray(values, dtype=np.float64) / 2.0**64


def with_urls(
    rows: pd.DataFrame,
    config: RecsConfig,
    id_column: str = "product_id",
    url_columns: tuple[str, str] = ("product_url", "image_url"),
) -> pd.DataFrame:
    """Product and image URLs from the catalogue, or from the configured templates where missing."""
    codes, products = pd.factorize(rows[id_column].astype(str))
    link, image = url_columns
    filled = {}
    for column, template in ((link, config.product_url_template), (image, config.image_url_template)):
        default = np.array([_template_url(template, p) for p in products], dtype=object)[codes]
        filled[column] = rows[column].where(rows[column].notna(), pd.Series(default, index=rows.index))
    return rows.assign(**filled)


@functools.lru_cache(maxsize=1 << 18)
def _template_url(template: str, product_id: str) -> str:
    """A template URL; cached, as every chunk of an export lists the same products again."""
    return template.format(product_id=urllib.parse.quote(product_id, safe=""))


def wide_layout(long: pd.DataFrame, k: int) -> pd.DataFrame:
    """One row per customer: ``customer_id, email_hash`` and the item fields of each rank 1..k.

    Customers keep their order in ``long``.  The columns are typed as the pivot of the
    item fields (mixed types, so object values) reindexed to ranks 1..k gives them:
    text columns ``str``, prices ``object``, and a rank no customer has all-NaN floats.
    """
    codes, customers = pd.factorize(long["customer_id"])
    first = np.full(len(customers), len(long), np.int64)
    np.minimum.at(first, codes, np.arange(len(long)))
    ranks = long["rank"].to_numpy()
    columns = {"customer_id": customers, "email_hash": long["email_hash"].array.take(first)}
    values = {name: long[name].to_numpy(dtype=object) for name in ITEM_FIELDS}
    for rank in range(1, k + 1):
        rows = np.flatnonzero(ranks == rank)
        for name, column in values.items():
            filled = np.full(len(customers), np.nan, dtype=object if len(rows) else np.float64)
            filled[codes[rows]] = column[rows]
            columns[f"{name}_{rank}"] = filled
    return pd.DataFrame(columns)


def _rows_source(url: str, run_id: str | None) -> sql.Composable:
    if run_id is None:
        return sql.Identifier("recs", "user_recommendations")
    with warehouse.connect(url) as conn:
        row = conn.execute(_sql("export_run_table.sql"), {"run_id": run_id}).fetchone()
    if row is None or row[0] not in (runs.CURRENT, runs.PREVIOUS):
        raise LookupError(f"run {run_id!r} has no kept tables to export (status {row[0] if row else 'unknown'})")
    return runs.run_table("user_recommendations", run_id)


def audience_ids(url: str, sql_text: str, timeout_seconds: float = 60.0) -> list[str]:
    """The customer ids an analyst's audience query returns.

    ``url`` is the read-only BI role's: the query runs in a read-only transaction with a
    statement timeout, so it can neither write nor read beyond what BI reads (no server
    files, no raw or CRM data).
    """
    query = sql.SQL("select distinct customer_id::text from ({}) as audience").format(
        sql.SQL(sql_text.strip().rstrip(";"))
    )
    with warehouse.connect(url) as conn:
        conn.execute(_sql("export_audience_query.sql"))
        conn.execute(
            sql.SQL("set local statement_timeout = {}").format(sql.Literal(f"{int(timeout_seconds * 1000)}ms"))
        )
        # prepared: one statement only, a ';' cannot smuggle a second one in
        return [customer for (customer,) in conn.execute(query, prepare=True)]


def email_hashes(emails: pd.Series, key: str) -> pd.Series:
    """HMAC-SHA256 of each address with the shop's key (None without an address): CRM tools
    can match their own hashed lists, and nobody without the key can test guesses."""
    unique = {e: hmac.new(key.encode(), e.encode(), hashlib.sha256).hexdigest() for e in emails.dropna().unique()}
    return emails.map(unique, na_action="ignore").astype(object).where(emails.notna(), None)


def campaign_chunks(
    url: str,
    k: int,
    audience: Audience,
    run_id: str | None = None,
    *,
    email_hash_key: str,
    audience_url: str | None = None,
) -> Iterator[pd.DataFrame]:
    """Top-``k`` published rows of the audience, one run, in customer and rank order, with
    what a template shows of each product and the keyed hash of the customer's address,
    as frames of whole customers (about :data:`FETCH_ROWS` rows each).

    An audience query runs first, as the read-only role at ``audience_url``
    (:func:`audience_ids`).  Lists and products are read in one snapshot; a second run
    seen means the data changed.
    """
    condition: sql.Composable = sql.SQL("true")
    params: dict[str, object] = {"k": k, "segment": audience.segment}
    if audience.sql_text:
        if audience_url is None:
            raise ValueError("an audience query needs the read-only role's URL to run as")
        params["audience"] = audience_ids(audience_url, audience.sql_text)
        condition = sql.SQL("r.customer_id = any(%(audience)s::text[])")
    query = sql.SQL(_sql("export_campaign_rows.sql")).format(recs=_rows_source(url, run_id), audience=condition)
    with warehouse.connect(url) as conn:
        conn.execute(_sql("export_read_only.sql"))
        products = _arrow(conn.cursor(binary=True).execute(_sql("export_products.sql")).fetchall(), list(ITEM_FIELDS))
        with conn.cursor(name="campaign_rows", binary=True) as cursor:
            cursor.execute(query, params)
            carry: list[tuple] = []
            run_ids: set[str] = set()
            while batch := cursor.fetchmany(FETCH_ROWS):
                names = [c.name for c in cursor.description or ()]
                rows, carry = _whole_customers(carry + batch, names.index("customer_id"))
                if rows:
                    yield _hashed(_checked(_with_products(_arrow(rows, names), products), run_ids), email_hash_key)
            if carry:
                yield _hashed(_checked(_with_products(_arrow(carry, names), products), run_ids), email_hash_key)


def _hashed(rows: pd.DataFrame, key: str) -> pd.DataFrame:
    """The rows with the address replaced by its keyed hash (the address never reaches a file)."""
    return rows.assign(email=email_hashes(rows["email"], key)).rename(columns={"email": "email_hash"})


def _arrow(rows: list[tuple], names: list[str]) -> pa.Table:
    """Fetched rows as an Arrow table, column by column (types inferred as pandas would)."""
    columns = list(zip(*rows)) if rows else [()] * len(names)
    return pa.table({name: pa.array(values) for name, values in zip(names, columns)})


def _with_products(rows: pa.Table, products: pa.Table) -> pd.DataFrame:
    """``rows`` with the product fields after ``product_id`` (NULL for unknown products), as pandas."""
    ids = rows.column("product_id")
    at = pc.index_in(ids, products.column("product_id").cast(ids.type))
    fields = {name: products.column(name).take(at) for name in ITEM_FIELDS[1:]}
    names = rows.column_names
    split = names.index("product_id") + 1
    columns = [rows.column(n) for n in names[:split]] + list(fields.values()) + [rows.column(n) for n in names[split:]]
    return pa.table(columns, names=names[:split] + list(fields) + names[split:]).to_pandas()


def _whole_customers(rows: list[tuple], customer: int) -> tuple[list[tuple], list[tuple]]:
    """``rows`` split before the last customer's first row (their rows may go on)."""
    cut = len(rows)
    last = rows[-1][customer]
    while cut > 0 and rows[cut - 1][customer] == last:
        cut -= 1
    return rows[:cut], rows[cut:]


def _checked(rows: pd.DataFrame, runs: set) -> pd.DataFrame:
    runs.update(rows["run_id"].unique())
    if len(runs) > 1:
        raise RuntimeError("the recommendations changed run while being read; export again")
    return rows


def product_fields(conn) -> pd.DataFrame:
    """What a send file shows of every product (:data:`ITEM_FIELDS`), URLs as stored."""
    return frames.query_frame(conn, _sql("export_products.sql"))


def read_catalogue(url: str, config: RecsConfig) -> pd.DataFrame:
    """The product feed (:data:`CATALOGUE_COLUMNS`), URLs filled from the templates."""
    with warehouse.connect(url) as conn:
        frame = frames.query_frame(conn, _sql("export_catalogue.sql"))
    return with_urls(frame, config, "id", ("link", "image_link"))[list(CATALOGUE_COLUMNS)]


def assign_arms(
    customer_ids,
    campaign: str,
    holdout_share: float,
    control_share: float = GLOBAL_CONTROL_SHARE,
    salt: str = GLOBAL_CONTROL_SALT,
) -> pd.DataFrame:
    """Each customer's arm: ``global_control`` when ``hash(salt, customer) < control_share``
    (the same customers for every campaign, never sent anything), else ``holdout`` when
    ``hash(campaign, customer) < holdout_share``, else ``treatment``.

    The two hashes are independent, so a campaign's holdout is the same share of the
    customers outside the global control, and both arms are deterministic and recorded.
    """
    ids = np.asarray(customer_ids, dtype=object)
    bucket, control = holdout_bucket(ids, campaign), holdout_bucket(ids, salt)
    arm = np.where(control < control_share, GLOBAL_CONTROL, np.where(bucket < holdout_share, HOLDOUT, TREATMENT))
    return pd.DataFrame(
        {
            "customer_id": ids,
            "holdout_bucket": bucket,
            "control_bucket": control,
            "arm": arm,
            "in_holdout": arm != TREATMENT,
        }
    )


def split_audience(
    rows: pd.DataFrame,
    campaign: str,
    share: float,
    control_share: float = GLOBAL_CONTROL_SHARE,
    salt: str = GLOBAL_CONTROL_SALT,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(customers, sent rows)``: each customer with its buckets and arm, and the rows of
    the customers in the treatment arm."""
    codes, ids = pd.factorize(rows["customer_id"])
    customers = assign_arms(ids, campaign, share, control_share, salt)
    return customers, rows[~customers["in_holdout"].to_numpy()[codes]]


@dataclass
class _Shapes:
    """What decides the column types of a whole-table write: per column of the rows, one
    non-null value if any was seen, and the longest list sent.  :meth:`frames` gives tiny
    frames typed as the whole send files would be, for the Parquet schema."""

    samples: dict = field(default_factory=dict)
    names: list = field(default_factory=list)
    longest: int = 0

    def update(self, rows: pd.DataFrame, sent: pd.DataFrame) -> None:
        self.names = list(rows.columns)
        for name in self.names:
            if name not in self.samples and rows[name].notna().any():
                self.samples[name] = rows[name].dropna().iloc[0]
        if len(sent):
            self.longest = max(self.longest, int(sent["rank"].max()))

    def frames(self, config: RecsConfig, k: int) -> dict[str, pd.DataFrame]:
        tuples = [
            tuple(r if n == "rank" else self.samples.get(n) for n in self.names)
            for r in range(1, max(self.longest, 1) + 1)
        ]
        rows = pd.DataFrame(tuples, columns=self.names).iloc[: self.longest]
        long = with_urls(rows, config)[list(LONG_COLUMNS)]
        return {"send_long": long, "send_wide": wide_layout(long, k)}


def export_campaign(
    url: str,
    config: RecsConfig,
    campaign: str,
    out_dir: Path,
    *,
    k: int = 5,
    fmt: str = "csv",
    audience: Audience = Audience(),
    holdout_share: float | None = None,
    run_id: str | None = None,
    email_hash_key: str | None = None,
    audience_url: str | None = None,
    control_share: float = GLOBAL_CONTROL_SHARE,
    control_salt: str = GLOBAL_CONTROL_SALT,
) -> Path:
    """Write a campaign's send files, catalogue and manifest; record its audience.

    Returns the manifest path.  ``holdout_share`` defaults to ``config.holdout_share``.
    The audience is replaced in ``recs.campaign_audiences`` only once every file is written.
    ``url`` is the CRM role's; ``audience_url`` the read-only role's, for an audience query.

    Raises
    ------
    ValueError
        Without ``email_hash_key``: addresses are never hashed without the shop's key.
    """
    if not email_hash_key:
        raise ValueError(
            "exports hash e-mail addresses with the shop's key: set RECSYS_PII__EMAIL_HASH_KEY "
            "(a long random secret, the same for every export)"
        )
    share = config.holdout_share if holdout_share is None else holdout_share
    if not _CAMPAIGN.match(campaign):
        raise ValueError(f"campaign name {campaign!r}: letters, digits, '_', '.', '-' only (it names files)")
    if not 0 <= share < 1:
        raise ValueError(f"holdout share must be in [0, 1), got {share}")
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    export_files.check_format(fmt)
    with contextlib.closing(
        read_ahead(
            campaign_chunks(url, k, audience, run_id, email_hash_key=email_hash_key, audience_url=audience_url),
            depth=2,
            name="export-prefetch",
        )
    ) as chunks:
        first = next(chunks, None)
        if first is None:
            raise LookupError(
                "no published recommendations for this audience: publish a run first (recsys publish run)"
            )
        run, send_date = first["run_id"].iloc[0], first["context_date"].iloc[0]
        folder = Path(out_dir) / f"{campaign}_{send_date:%Y-%m-%d}"
        folder.mkdir(parents=True, exist_ok=True)
        fixed = {"campaign": campaign, "send_date": send_date, "run_id": run, "holdout_share": share}
        with warehouse.transaction(url) as conn:
            conn.execute(_sql("export_audience_clear.sql"), fixed)
            with copy_binary_stream(conn, AUDIENCE_TABLE, AUDIENCE_COLUMNS) as copy:
                counts, written = _write_send_files(
                    itertools.chain([first], chunks),
                    lambda customers: copy(customers.assign(**fixed)),
                    config,
                    campaign,
                    (share, control_share, control_salt),
                    k,
                    folder,
                    fmt,
                )
            catalogue = read_catalogue(url, config)
            written.append((export_files.write_table(catalogue, folder / "catalogue", fmt), len(catalogue)))
    manifest = {
        "campaign": campaign,
        "send_date": f"{send_date:%Y-%m-%d}",
        "run_id": run,
        "model_version": first["model_version"].iloc[0],
        "k": k,
        "format": fmt,
        "holdout_share": share,
        "global_control_share": control_share,
        "audience": {"segment": audience.segment, "sql": audience.sql_text},
        "counts": counts | {"products": len(catalogue)},
        "files": {
            path.name: {"rows": n, "bytes": path.stat().st_size, "sha256": export_files.sha256_of(path)}
            for path, n in written
        },
    }
    manifest_path = folder / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    log.info(
        "campaign %s for %s: %d customers, %d held out, files in %s",
        campaign,
        send_date,
        counts["audience"],
        counts["holdout"],
        folder,
    )
    return manifest_path


def _write_send_files(
    chunks: Iterator[pd.DataFrame],
    record: Callable[[pd.DataFrame], int],
    config: RecsConfig,
    campaign: str,
    shares: tuple[float, float, str],
    k: int,
    folder: Path,
    fmt: str,
):
    """Holdout, audience rows and both send layouts, chunk after chunk; the counts and files."""
    files = {name: export_files.open_table(folder / name, fmt) for name in ("send_wide", "send_long")}
    counts = {"audience": 0, "holdout": 0, "global_control": 0, "sent": 0}
    shapes = _Shapes()
    for rows in chunks:
        customers, sent = split_audience(rows, campaign, *shares)
        record(customers)
        long = with_urls(sent, config)[list(LONG_COLUMNS)]
        files["send_long"].write(long)
        files["send_wide"].write(wide_layout(long, k))
        shapes.update(rows, sent)
        arms = customers["arm"].value_counts()
        counts = {
            "audience": counts["audience"] + len(customers),
            "holdout": counts["holdout"] + int(arms.get(HOLDOUT, 0)),
            "global_control": counts["global_control"] + int(arms.get(GLOBAL_CONTROL, 0)),
            "sent": counts["sent"] + int(arms.get(TREATMENT, 0)),
        }
    typed = shapes.frames(config, k)
    return counts, [file.close(typed[name]) for name, file in files.items()]
