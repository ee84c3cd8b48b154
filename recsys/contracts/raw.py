"""What each landing source looks like: declared, not coded.

A :class:`SourceSpec` says which raw table a source fills, how file headers map to raw
columns, each column's Postgres type and which values are rejected on load.  The loader
(:mod:`recsys.ingest.loading`) and the OLTP extractor (:mod:`recsys.ingest.oltp`) read these
declarations; adding a column or a source is an edit here (and in ``sql/ddl_raw.sql``),
not new loading code.
"""

from __future__ import annotations

import datetime as dt
import typing
from dataclasses import dataclass

# Calendar-valid month-day pairs; 29 February is left to Postgres (leap years).
_MONTH_DAY = (
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)"
    r"|02-(?:0[1-9]|1\d|2[0-8]))"
)
#: Years the certain pattern admits: inside the accepted window (ACCEPTED_DATES) with a margin.
_DATE = rf"(?:19[7-9]\d|20\d\d)-{_MONTH_DAY}"
_TIME = r"(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,6})?)?"
_ZONE = r"(?:Z|[+-](?:0\d|1[0-4])(?::?[0-5]\d)?)"
#: Postgres accepts 'now', 'epoch', 'infinity' and locale formats as dates; the
#: landing contract is ISO 8601, so anything not starting like one is rejected.
_ISO_DATE_PREFIX = r"^\s*\d{4}-\d{1,2}-\d{1,2}"


#: Dates and times a raw value may hold: what pandas (nanoseconds) and the marts' date
#: arithmetic handle.  Postgres itself accepts year 294276, and a value it accepts but a
#: later stage cannot handle would fail every night (docs/reliability.md).
ACCEPTED_DATES = (dt.date(1970, 1, 1), dt.date(2100, 1, 1))
#: Bound on a raw number: price x quantity (bounded below) stays far inside the marts'
#: numeric(18,4), also summed over a day.
NUMBER_BOUND = 10_000_000
#: Longest value of a text column unless the column says otherwise.
TEXT_MAX_LENGTH = 1_000


@dataclass(frozen=True)
class RawType:
    """How values of one Postgres type are checked on load.

    Attributes
    ----------
    sql : str
        The type as written in ``ddl_raw.sql`` and in casts.
    label : str
        What a valid value is called in rejection reasons.
    certain : str or None
        RE2 pattern of values Postgres certainly accepts.  Rows whose values all match
        skip the SQL validation stage; a wrong pattern here would fail the whole load,
        so it is deliberately narrower than Postgres (tests check it against
        ``pg_input_is_valid``).  ``None`` for text, which accepts anything.
    shape : str
        Postgres regex a value must match on top of ``pg_input_is_valid``: it rejects
        inputs Postgres would accept but the contract does not ('now', 'NaN').
    bounds : (low, high) or None
        Inclusive range every value of the type must fall in (a column's ``value_range``
        narrows it): values the type can hold but a mart column or pandas cannot are
        rejected on load with a reason, instead of failing dbt later.
    max_length : int or None
        Longest text value (characters), for text columns.
    """

    sql: str
    label: str
    certain: str | None = None
    shape: str = ""
    bounds: tuple[typing.Any, typing.Any] | None = None
    max_length: int | None = None


TEXT = RawType("text", "text", max_length=TEXT_MAX_LENGTH)
SMALLINT = RawType("smallint", "integer", certain=r"^[+-]?\d{1,4}$")
INTEGER = RawType("integer", "integer", certain=r"^[+-]?\d{1,9}$")
BIGINT = RawType("bigint", "integer", certain=r"^[+-]?\d{1,18}$")
NUMERIC = RawType(
    "numeric",
    "finite number",
    certain=r"^[+-]?\d{1,15}(?:\.\d{1,15})?$",
    shape=r"^\s*[+-]?\.?\d",
    bounds=(-NUMBER_BOUND, NUMBER_BOUND),
)
BOOLEAN = RawType("boolean", "boolean", certain=r"^(?i:true|false|t|f|yes|no|1|0)$")
DATE = RawType("date", "ISO 8601 date", certain=rf"^{_DATE}$", shape=_ISO_DATE_PREFIX, bounds=ACCEPTED_DATES)
TIMESTAMP = RawType(
    "timestamp", "ISO 8601 timestamp", certain=rf"^{_DATE}[ T]{_TIME}$", shape=_ISO_DATE_PREFIX, bounds=ACCEPTED_DATES
)
TIMESTAMPTZ = RawType(
    "timestamptz",
    "ISO 8601 timestamp",
    certain=rf"^{_DATE}[ T]{_TIME}{_ZONE}?$",
    shape=_ISO_DATE_PREFIX,
    bounds=ACCEPTED_DATES,
)


@dataclass(frozen=True)
class Column:
    """One raw column and the file header it comes from.

    Attributes
    ----------
    name : str
        Raw column name.
    type : RawType
        Postgres type of the raw column.
    header : str or None
        Header in landing files when it differs from ``name`` (the Online Retail
        layout); headers match case-insensitively, and the raw name is accepted too.
    required : bool
        A row without a value (empty or blank) is rejected.
    optional : bool
        Files may omit the column altogether (it loads as NULL).
    accepted : tuple of str
        When not empty, the only values accepted.
    value_range : (number, number) or None
        Inclusive bounds for a numeric column, narrower than its type's ``bounds``.
    max_length : int or None
        Longest text value, when the type's default does not fit the column.
    description : str
        What the column holds (the dbt source documentation is generated from it).
    """

    name: str
    type: RawType = TEXT
    header: str | None = None
    required: bool = False
    optional: bool = False
    accepted: tuple[str, ...] = ()
    value_range: tuple[int, int] | None = None
    max_length: int | None = None
    description: str = ""

    @property
    def file_header(self) -> str:
        return self.header or self.name

    @property
    def bounds(self) -> tuple[typing.Any, typing.Any] | None:
        """The range a value must fall in: the column's own, else its type's."""
        return self.value_range or self.type.bounds

    @property
    def length_limit(self) -> int | None:
        return self.max_length or self.type.max_length


@dataclass(frozen=True)
class SourceSpec:
    """A landing source: its raw table and its columns.

    Attributes
    ----------
    name : str
        Source name: the landing folder and ``raw.load_batches.source``.
    table : str
        Table in schema ``raw``.
    columns : tuple of Column
        Declared columns in raw-table order.
    attributes_column : str or None
        A ``jsonb`` column collecting every undeclared header column; without it
        undeclared columns are ignored.
    description : str
        What the table holds (dbt source documentation).
    """

    name: str
    table: str
    columns: tuple[Column, ...]
    attributes_column: str | None = None
    description: str = ""

    @property
    def header_mapping(self) -> dict[str, str]:
        """File header -> raw column, as declared."""
        return {c.file_header: c.name for c in self.columns}

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


EVENT_TYPES = ("view", "cart", "purchase", "rating")

EVENTS = SourceSpec(
    name="events",
    table="events",
    description="Behavioural events (view, cart, purchase, rating) of the shop's web site.",
    columns=(
        Column("event_id", description="Event id from the site (may repeat across batches when a source re-sends)."),
        Column("customer_id", description="Customer; null for anonymous visitors."),
        Column("session_id", description="Visit id."),
        Column("event_type", required=True, accepted=EVENT_TYPES, description="view, cart, purchase or rating."),
        Column("product_id", required=True, description="Product."),
        Column("event_ts", TIMESTAMPTZ, required=True, description="When the event happened."),
        Column("price", NUMERIC, description="Unit price shown or paid."),
        Column("rating", SMALLINT, optional=True, value_range=(1, 5), description="Stars 1-5, rating events only."),
    ),
)

#: The UCI Online Retail layout, mapped to raw names.
ORDER_LINES = SourceSpec(
    name="order_lines",
    table="order_lines",
    description="Order lines in the Online Retail layout (InvoiceNo, StockCode, ...). Cancellations (InvoiceNo starting with C), returns (negative quantity), lines without customer and fee codes are kept: they are facts, handled in the models.",
    columns=(
        Column(
            "invoice_no",
            header="InvoiceNo",
            required=True,
            description="Invoice (basket); a leading C marks a cancellation.",
        ),
        Column("product_id", header="StockCode", required=True, description="StockCode."),
        Column("description", header="Description", description="Product name as written on the invoice."),
        Column(
            "quantity",
            INTEGER,
            header="Quantity",
            required=True,
            value_range=(-1_000_000, 1_000_000),
            description="Units; negative for returns and cancellations.",
        ),
        Column(
            "invoice_ts",
            TIMESTAMP,
            header="InvoiceDate",
            required=True,
            description="Invoice time (shop local time, treated as UTC).",
        ),
        Column("unit_price", NUMERIC, header="UnitPrice", description="Price per unit."),
        Column("customer_id", header="CustomerID", description="Customer; null for guests."),
        Column("country", header="Country", description="Customer's country."),
    ),
)

PRODUCTS = SourceSpec(
    name="products",
    table="products",
    description="Product catalogue snapshots; a product appears again in every batch that changes it.",
    columns=(
        Column("product_id", required=True, description="Product."),
        Column("title", description="Product name."),
        Column("category", description="Category."),
        Column("brand", description="Brand."),
        Column("price", NUMERIC, description="Current price."),
        Column("stock_level", INTEGER, description="Units in stock; null when unknown."),
        Column("created_at", TIMESTAMPTZ, optional=True, description="When the product was created."),
        Column("description", optional=True, max_length=10_000, description="Long description."),
        Column("image_url", optional=True, max_length=2_048, description="Image address."),
        Column("product_url", optional=True, max_length=2_048, description="Product page address."),
        Column("is_active", BOOLEAN, optional=True, description="Whether the product is sold."),
    ),
)

CUSTOMERS = SourceSpec(
    name="customers",
    table="customers",
    description="Customer snapshots; a customer appears again in every batch that changes them.",
    columns=(
        Column("customer_id", required=True, description="Customer."),
        Column("country", description="Country."),
        Column("signup_date", DATE, description="Date of registration."),
        Column("email", description="E-mail address (personal data: only its hash leaves staging)."),
        Column(
            "marketing_consent",
            BOOLEAN,
            optional=True,
            description="Consent to marketing e-mail; missing means no consent (campaigns never send without it).",
        ),
    ),
    attributes_column="attributes",  # any other columns of the file, as JSON
)

#: Why an address or a customer must no longer be mailed.
SUPPRESSION_REASONS = ("unsubscribe", "bounce", "complaint", "manual")

SUPPRESSIONS = SourceSpec(
    name="suppressions",
    table="suppressions",
    description="Who must not be mailed: unsubscribes, hard bounces, spam complaints and manual blocks (the email tool's suppression export or the shop's own list), by customer, by address or both.",
    columns=(
        Column("customer_id", description="Customer (the external id); empty when only the address is known."),
        Column("email", description="E-mail address (personal data); empty when only the customer is known."),
        Column(
            "reason",
            required=True,
            accepted=SUPPRESSION_REASONS,
            description="unsubscribe, bounce, complaint or manual.",
        ),
        Column("suppressed_at", TIMESTAMPTZ, required=True, description="When the suppression started."),
        Column("source", optional=True, description="Where it was recorded (braze, klaviyo, shop)."),
    ),
)

#: Braze Currents email event names (one Currents table each; the export names it in ``event_type``).
BRAZE_EMAIL_EVENTS = tuple(
    f"users.messages.email.{name}"
    for name in ("Send", "Delivery", "Open", "Click", "Bounce", "SoftBounce", "Unsubscribe", "MarkAsSpam")
)
#: Latest Unix time accepted (2100-01-01), as for every other timestamp of the contract.
_UNIX_TIME_MAX = 4_102_444_800

BRAZE_EVENTS = SourceSpec(
    name="braze_events",
    table="braze_events",
    description="Braze Currents email events as CSV: the Currents fields of the email events, the event's Currents name in event_type. The campaign name is the send's tool campaign name (<campaign>_<send date>, written in its manifest).",
    columns=(
        Column("id", required=True, description="Currents event id."),
        Column(
            "event_type",
            required=True,
            accepted=BRAZE_EMAIL_EVENTS,
            description="Currents event name (users.messages.email.Send, Delivery, Open, Click, Bounce, SoftBounce, Unsubscribe, MarkAsSpam).",
        ),
        Column(
            "time",
            BIGINT,
            required=True,
            value_range=(0, _UNIX_TIME_MAX),
            description="Unix time of the event (seconds).",
        ),
        Column("external_user_id", description="The customer id the send file gave Braze (external_id)."),
        Column("email_address", description="Address of the message (personal data)."),
        Column("campaign_name", required=True, description="Tool campaign name of the send: <campaign>_<send date>."),
        Column("send_id", optional=True, description="Send identifier, when the campaign sets one."),
        Column("url", optional=True, max_length=2_048, description="Clicked link (Click events)."),
        Column("bounce_reason", optional=True, description="Why a message bounced (Bounce, SoftBounce)."),
    ),
)

#: Klaviyo's email metrics, by the names its metric exports give them.
KLAVIYO_EMAIL_METRICS = (
    "Received Email",
    "Opened Email",
    "Clicked Email",
    "Bounced Email",
    "Dropped Email",
    "Unsubscribed",
    "Marked Email as Spam",
)

KLAVIYO_EVENTS = SourceSpec(
    name="klaviyo_events",
    table="klaviyo_events",
    description="Klaviyo email metric events as its CSV exports write them (Event is the metric name). The campaign name is the send's tool campaign name (<campaign>_<send date>, written in its manifest).",
    columns=(
        Column("event_id", header="Event ID", required=True, description="Klaviyo event id."),
        Column(
            "metric",
            header="Event",
            required=True,
            accepted=KLAVIYO_EMAIL_METRICS,
            description="Metric name (Received Email, Opened Email, Clicked Email, Bounced Email, Dropped Email, Unsubscribed, Marked Email as Spam).",
        ),
        Column("event_ts", TIMESTAMPTZ, header="Timestamp", required=True, description="When the event happened."),
        Column("email", header="Email", description="Profile address (personal data)."),
        Column("external_id", header="External ID", optional=True, description="Profile external id (the customer)."),
        Column(
            "campaign_name",
            header="Campaign Name",
            required=True,
            description="Tool campaign name: <campaign>_<send date>.",
        ),
        Column("url", header="URL", optional=True, max_length=2_048, description="Clicked link (Clicked Email)."),
        Column("bounce_type", header="Bounce Type", optional=True, description="hard or soft (Bounced Email)."),
    ),
)

#: Columns every raw data table adds to its declared ones: (name, type, description).
BATCH_COLUMNS = (
    ("_batch_id", "bigint", "Load batch (raw.load_batches)."),
    ("_line_number", "bigint", "Line in the batch's file (header = 1), or row of a Parquet file."),
)
ATTRIBUTES_DESCRIPTION = "Any other columns of the source, as JSON."

#: Every source, in the order a landing load visits them (dimensions first).
SOURCES: dict[str, SourceSpec] = {
    s.name: s for s in (CUSTOMERS, PRODUCTS, EVENTS, ORDER_LINES, SUPPRESSIONS, BRAZE_EVENTS, KLAVIYO_EVENTS)
}


def get_source(name: str) -> SourceSpec:
    """The spec of source ``name``, with the valid names in the error."""
    try:
        return SOURCES[name]
    except KeyError:
        raise ValueError(f"unknown source {name!r}: expected one of {', '.join(SOURCES)}") from None
