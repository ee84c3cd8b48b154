"""Simulated campaign responses with a planted true effect, to check the uplift estimator.

After a send, the shop goes on living (:func:`recsys.generator.events.continued_model`):
its customers buy as they would have anyway, in every arm.  On top of that, each customer
of a send has a planted response: a simulated email funnel (delivered, opened, clicked,
unsubscribed, bounced) and, with probability ``conversion_lift`` per assigned customer, an
order of products from their list after a click.  Both potential outcomes of every
customer are known, so the true effect of the send on its own audience is exact:
``truth`` is the mean difference between the outcome with and without the e-mail over
the customers of the treatment and holdout arms, the estimand of the holdout comparison
(intention to treat).  Only the treatment arm's responses happen: they are written as the
email tool's event export (Braze Currents or Klaviyo) and as purchase events.

Outcomes are defined exactly as ``marts.fct_campaign_recipients`` defines them: a
conversion is a purchase on a day from the send date to the end of the attribution window,
revenue the sum of those purchases' prices, pre-period revenue the same over the
``pre_period_days`` before the send.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from recsys.generator.calendar import epoch_day
from recsys.generator.catalog import make_catalog
from recsys.generator.customers import make_customers
from recsys.generator.events import EVENT_SCHEMA, EventModel, continued_model, day_events, event_model
from recsys.generator.spec import ShopSpec
from recsys.generator.writers import CsvGzWriter, write_csv_gz

#: Random stream of campaign responses (with the campaign's CRC and the send's epoch day).
CAMPAIGN_STREAM = 11
_DAY_S = 86_400


@dataclass(frozen=True)
class EmailFunnel:
    """How recipients react to a campaign e-mail (probabilities, each of the previous step)."""

    delivery: float = 0.97
    hard_bounce_share: float = 0.5
    open: float = 0.45
    click: float = 0.3
    unsubscribe: float = 0.004
    complaint: float = 0.001

    @property
    def click_rate(self) -> float:
        return self.delivery * self.open * self.click


@dataclass(frozen=True)
class CampaignEffect:
    """The planted effect: the probability that an assigned customer orders recommended
    products because of the e-mail (0: the campaign changes nothing), and the mean number
    of extra products in such an order (1 + Poisson)."""

    conversion_lift: float = 0.0
    extra_items: float = 0.4
    funnel: EmailFunnel = EmailFunnel()

    def __post_init__(self) -> None:
        if not 0.0 <= self.conversion_lift <= self.funnel.click_rate:
            raise ValueError(
                f"conversion_lift={self.conversion_lift}: an induced order follows a click, "
                f"so it lies in [0, {self.funnel.click_rate:.3f}] (the click rate)"
            )


@dataclass(frozen=True)
class Send:
    """A delivered send as the simulator needs it."""

    campaign: str
    send_date: dt.date
    tool: str  # braze or klaviyo
    tool_campaign_name: str
    attribution_days: int
    assignments: pd.DataFrame  # customer_id, arm (treatment, holdout, global_control)
    items: pd.DataFrame  # customer_id, rank, product_id
    effect: CampaignEffect


@dataclass(frozen=True)
class Responses:
    """What a send caused: the tool's event export, the induced purchases, each customer's
    outcomes (both potential outcomes) and the exact effect on the audience."""

    email_events: pd.DataFrame
    purchases: pa.Table
    recipients: pd.DataFrame
    truth: dict


def shop_model(spec: ShopSpec, end: dt.date) -> EventModel:
    """The shop of ``spec`` going on to ``end``."""
    catalog = make_catalog(spec)
    return continued_model(event_model(spec, catalog, make_customers(spec, catalog)), end)


def _days(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    for i in range((last - first).days + 1):
        yield first + dt.timedelta(days=i)


def organic_outcomes(
    model: EventModel, send_date: dt.date, attribution_days: int, pre_period_days: int
) -> pd.DataFrame:
    """Per customer who bought: ``converted0`` and ``revenue0`` (the window's purchases
    without any e-mail) and ``pre_period_revenue``."""
    first, last = send_date - dt.timedelta(days=pre_period_days), send_date + dt.timedelta(days=attribution_days - 1)
    frames = []
    for day in _days(max(first, model.spec.start), last):
        events = day_events(model, day).to_pandas()
        bought = events[(events["event_type"] == "purchase") & events["customer_id"].notna()]
        frames.append(bought.assign(in_window=day >= send_date)[["customer_id", "price", "in_window"]])
    bought = pd.concat(frames, ignore_index=True)
    window = bought[bought["in_window"]].groupby("customer_id")["price"].sum()
    pre = bought[~bought["in_window"]].groupby("customer_id")["price"].sum()
    out = pd.DataFrame({"revenue0": window, "pre_period_revenue": pre}).fillna(0.0)
    out["converted0"] = out.index.isin(window.index)
    return out.rename_axis("customer_id").reset_index()


def _with_other_orders(
    organic: pd.DataFrame, send: Send, sends: list[Send], responses: list[Responses], own: int, pre_period_days: int
) -> pd.DataFrame:
    """``organic`` plus the purchases the other sends induced, in this send's window or pre-period."""
    others = [r.purchases.to_pandas() for i, r in enumerate(responses) if i != own]
    bought = (
        pd.concat(others, ignore_index=True) if others else pd.DataFrame(columns=["customer_id", "event_ts", "price"])
    )
    if bought.empty:
        return organic
    day = pd.to_datetime(bought["event_ts"]).dt.date
    start, end = send.send_date, send.send_date + dt.timedelta(days=send.attribution_days)
    window = bought[(day >= start) & (day < end)].groupby("customer_id")["price"].sum()
    pre = (
        bought[(day < start) & (day >= start - dt.timedelta(days=pre_period_days))]
        .groupby("customer_id")["price"]
        .sum()
    )
    out = organic.set_index("customer_id").reindex(
        organic["customer_id"].tolist() + list(window.index.union(pre.index))
    )
    out = out[~out.index.duplicated()].fillna({"revenue0": 0.0, "pre_period_revenue": 0.0, "converted0": False})
    out["revenue0"] = out["revenue0"].add(window, fill_value=0.0)
    out["pre_period_revenue"] = out["pre_period_revenue"].add(pre, fill_value=0.0)
    out["converted0"] = out["converted0"].astype(bool) | out.index.isin(window.index)
    return out.rename_axis("customer_id").reset_index()


def _rng(send: Send, seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, CAMPAIGN_STREAM, zlib.crc32(send.campaign.encode()), epoch_day(send.send_date)])


def simulate_send(
    send: Send, organic: pd.DataFrame, prices: dict[str, float], emails: dict[str, str], seed: int
) -> Responses:
    """The responses of one send (deterministic in ``seed``, the campaign and the date)."""
    rng = _rng(send, seed)
    people = send.assignments.sort_values("customer_id").reset_index(drop=True)
    n, funnel = len(people), send.effect.funnel
    delivered = rng.random(n) < funnel.delivery
    opened = delivered & (rng.random(n) < funnel.open)
    clicked = opened & (rng.random(n) < funnel.click)
    unsubscribed = delivered & (rng.random(n) < funnel.unsubscribe)
    complained = delivered & ~unsubscribed & (rng.random(n) < funnel.complaint)
    hard = ~delivered & (rng.random(n) < funnel.hard_bounce_share)
    induced = clicked & (rng.random(n) < send.effect.conversion_lift / funnel.click_rate)
    extra = 1 + rng.poisson(send.effect.extra_items, n)
    open_s = (rng.exponential(8 * 3600, n)).clip(0, send.attribution_days * _DAY_S - 7200).astype(int)
    click_s = open_s + rng.integers(60, 1800, n)
    buy_s = click_s + rng.integers(300, 3600, n)
    base = int(dt.datetime.combine(send.send_date, dt.time(9), dt.UTC).timestamp())
    # the order: products of the customer's list, better ranks more likely
    lists = send.items.sort_values(["customer_id", "rank"]).groupby("customer_id")["product_id"].apply(list)
    orders: list[tuple] = []
    induced_revenue = np.zeros(n)
    for i in np.flatnonzero(induced):
        customer = people.at[i, "customer_id"]
        products = lists.get(customer, [])
        if not products:
            continue
        weights = 1.0 / np.arange(1, len(products) + 1)
        picks = rng.choice(len(products), min(extra[i], len(products)), replace=False, p=weights / weights.sum())
        for j, pick in enumerate(sorted(picks)):
            orders.append((customer, products[pick], base + int(buy_s[i]) + j, prices.get(products[pick], 0.0), i))
            induced_revenue[i] += prices.get(products[pick], 0.0)
    outcomes = people.merge(organic, on="customer_id", how="left").fillna(
        {"revenue0": 0.0, "pre_period_revenue": 0.0, "converted0": False}
    )
    bought = induced_revenue > 0
    treated = (people["arm"] == "treatment").to_numpy()
    outcomes = outcomes.assign(
        converted1=outcomes["converted0"].astype(bool) | bought,
        revenue1=outcomes["revenue0"] + induced_revenue,
    )
    outcomes["converted"] = np.where(treated, outcomes["converted1"], outcomes["converted0"].astype(bool))
    outcomes["revenue"] = np.where(treated, outcomes["revenue1"], outcomes["revenue0"])
    study = outcomes["arm"].isin(("treatment", "holdout")).to_numpy()
    truth = {
        "campaign": send.campaign,
        "send_date": send.send_date,
        "conversion_lift": send.effect.conversion_lift,
        "conversion": float(
            (outcomes["converted1"].astype(float) - outcomes["converted0"].astype(float))[study].mean()
        ),
        "revenue_per_recipient": float(induced_revenue[study].mean()),
    }
    flags = {
        "delivered": delivered,
        "opened": opened,
        "clicked": clicked,
        "unsubscribed": unsubscribed,
        "complained": complained,
        "hard": hard,
    }
    email = _email_events(
        send,
        people[treated],
        {k: v[treated] for k, v in flags.items()},
        base,
        open_s[treated],
        click_s[treated],
        emails,
    )
    purchases = _purchases(send, [o for o in orders if treated[o[4]]])
    return Responses(email, purchases, outcomes, truth)


def _email_events(send: Send, people: pd.DataFrame, flags: dict, base: int, open_s, click_s, emails) -> pd.DataFrame:
    """The treated customers' events in the tool's export shape."""
    rows = []
    for k, customer in enumerate(people["customer_id"]):
        email = emails.get(customer)
        events = [("send", base)] if send.tool == "braze" else []
        if flags["delivered"][k]:
            events.append(("delivery", base + 60))
        else:
            events.append(("bounce" if flags["hard"][k] else "soft_bounce", base + 60))
        if flags["opened"][k]:
            events.append(("open", base + int(open_s[k])))
        if flags["clicked"][k]:
            events.append(("click", base + int(click_s[k])))
        if flags["unsubscribed"][k]:
            events.append(("unsubscribe", base + int(open_s[k]) + 30))
        if flags["complained"][k]:
            events.append(("complaint", base + int(open_s[k]) + 40))
        rows += [(customer, email, kind, at) for kind, at in events]
    frame = pd.DataFrame(rows, columns=["customer_id", "email", "kind", "at"])
    ids = [f"{send.tool_campaign_name}-{c}-{kind}" for c, kind in zip(frame["customer_id"], frame["kind"])]
    if send.tool == "braze":
        names = {
            "send": "Send",
            "delivery": "Delivery",
            "open": "Open",
            "click": "Click",
            "bounce": "Bounce",
            "soft_bounce": "SoftBounce",
            "unsubscribe": "Unsubscribe",
            "complaint": "MarkAsSpam",
        }
        return pd.DataFrame(
            {
                "id": ids,
                "event_type": ["users.messages.email." + names[k] for k in frame["kind"]],
                "time": frame["at"].astype("int64"),
                "external_user_id": frame["customer_id"],
                "email_address": frame["email"],
                "campaign_name": send.tool_campaign_name,
                "send_id": send.tool_campaign_name,
                "url": _where(frame["kind"] == "click", "https://shop.example.com/"),
                "bounce_reason": _where(frame["kind"].isin(["bounce", "soft_bounce"]), "mailbox unavailable"),
            }
        )
    metrics = {
        "delivery": "Received Email",
        "open": "Opened Email",
        "click": "Clicked Email",
        "bounce": "Bounced Email",
        "soft_bounce": "Bounced Email",
        "unsubscribe": "Unsubscribed",
        "complaint": "Marked Email as Spam",
    }
    stamps = pd.to_datetime(frame["at"], unit="s", utc=True).dt.strftime("%Y-%m-%d %H:%M:%S+00:00")
    return pd.DataFrame(
        {
            "Event ID": ids,
            "Event": [metrics[k] for k in frame["kind"]],
            "Timestamp": stamps,
            "Email": frame["email"],
            "External ID": frame["customer_id"],
            "Campaign Name": send.tool_campaign_name,
            "URL": _where(frame["kind"] == "click", "https://shop.example.com/"),
            "Bounce Type": frame["kind"].map({"bounce": "hard", "soft_bounce": "soft"}),
        }
    )


def _where(mask: pd.Series, value: str) -> pd.Series:
    """``value`` where ``mask``, missing elsewhere."""
    return pd.Series(value, index=mask.index, dtype=object).where(mask, None)


def _purchases(send: Send, orders: list[tuple]) -> pa.Table:
    """Induced orders as purchase events of the events landing contract."""
    stamps = [dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for _, _, at, _, _ in orders]
    tag = f"{zlib.crc32(send.tool_campaign_name.encode()):08x}"
    return pa.table(
        {
            "event_id": pa.array([f"E{send.send_date:%Y%m%d}-C{tag}-{n}" for n in range(len(orders))], pa.string()),
            "customer_id": pa.array([o[0] for o in orders], pa.string()),
            "session_id": pa.array([f"S{send.send_date:%Y%m%d}-C{tag}-{o[4]}" for o in orders], pa.string()),
            "event_type": pa.array(["purchase"] * len(orders), pa.string()),
            "product_id": pa.array([o[1] for o in orders], pa.string()),
            "event_ts": pa.array(stamps, pa.string()),
            "price": pa.array([o[3] for o in orders], pa.float64()),
            "rating": pa.array([None] * len(orders), pa.int8()),
        },
        schema=EVENT_SCHEMA,
    )


def write_window(
    spec: ShopSpec, sends: list[Send], out: Path, *, pre_period_days: int = 90, seed: int | None = None
) -> tuple[list[Path], list[Responses]]:
    """Write the shop's days after its window up to the end of the last attribution window,
    and every send's responses, into the landing folder ``out``; the responses.

    Files: ``events/events_<end>.csv.gz`` (the shop's events of the new days, one delivery
    as the history file is), ``events/events_<end>_campaigns.csv.gz``
    (the induced orders), ``<tool>_events/<tool>_events_<end>.csv.gz``.  All carry dates in
    their names, so a run for the last day loads them all.
    """
    end = max(s.send_date + dt.timedelta(days=s.attribution_days - 1) for s in sends)
    model = shop_model(spec, end)
    catalog, customers = model.catalog, model.customers
    prices = dict(zip(catalog.product_id.to_pylist(), np.asarray(catalog.price, dtype=float)))
    emails = dict(zip(customers.customer_id.to_pylist(), customers.email.to_pylist()))
    with CsvGzWriter(out / "events" / f"events_{end}.csv.gz", EVENT_SCHEMA, quoting="none") as writer:
        for day in _days(spec.end + dt.timedelta(days=1), end):
            writer.write(day_events(model, day))
    paths = [writer.path]
    seed = spec.seed if seed is None else seed
    organic = [organic_outcomes(model, s.send_date, s.attribution_days, pre_period_days) for s in sends]
    first = [simulate_send(send, base, prices, emails, seed) for send, base in zip(sends, organic)]
    # a send's customers also buy what the other sends made them buy: the same in both of
    # its potential outcomes, so part of its baseline (the draws repeat: same seed, same orders)
    responses = [
        simulate_send(send, _with_other_orders(base, send, sends, first, i, pre_period_days), prices, emails, seed)
        for i, (send, base) in enumerate(zip(sends, organic))
    ]
    purchases = pa.concat_tables([r.purchases for r in responses]) if responses else None
    if purchases is not None:
        paths.append(write_csv_gz(out / "events" / f"events_{end}_campaigns.csv.gz", purchases, quoting="none"))
    for tool in sorted({s.tool for s in sends}):
        frame = pd.concat([r.email_events for s, r in zip(sends, responses) if s.tool == tool], ignore_index=True)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        paths.append(write_csv_gz(out / f"{tool}_events" / f"{tool}_events_{end}.csv.gz", table))
    return paths, responses
