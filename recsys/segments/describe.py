"""Segments in words, from their members' mean profile against the whole customer base.

A marketer reads "B3 Garden & Home Decor, premium price" and a sentence with the figures
behind it, not a centroid vector.  Everything is relative to the base: a category names a
segment when its members give it a clearly larger share than customers overall, and the
recency, order and spend words appear only when the segment differs markedly.
"""

from __future__ import annotations

import pandas as pd

from recsys.segments.features import RFM_COLUMNS

#: A category or price band names a segment when its share is at least this many times the base's ...
MIN_LIFT = 1.25
#: ... and at least this share of the members' interest.
MIN_SHARE = 0.15
#: At most this many categories in a name.
MAX_CATEGORIES = 2
#: RFM words need a mean this far from the base's (ratio), e.g. twice as many orders.
RFM_RATIO = 1.6
#: Members averaging fewer orders than this are "browsing".
BROWSING_ORDERS = 0.2


def describe(member_profiles: pd.DataFrame, sizes: pd.Series, base: pd.DataFrame) -> pd.DataFrame:
    """``segment, name, description, customers`` per row of ``member_profiles``.

    Parameters
    ----------
    member_profiles : DataFrame
        Members' mean profile per segment code (columns of :class:`recsys.segments.features.Profiles`).
    sizes : Series
        Members per segment code.
    base : DataFrame
        Every customer's profile (the base the words compare with).
    """
    overall = base.mean()
    rows = []
    for code, profile in member_profiles.iterrows():
        categories = _notable(profile, overall, "category")
        band = _notable(profile, overall, "price_band")[:1]
        words = _rfm_words(profile, overall)
        name = " & ".join(label for label, _ in categories) or "All categories"
        name += f", {band[0][0]} price" if band else ", mixed prices"
        rows.append(
            {
                "segment": str(code),
                "name": name,
                "description": _sentence(categories, band, words, profile, overall),
                "customers": int(sizes.get(code, 0)),
                "_words": words,
            }
        )
    frame = pd.DataFrame(rows, columns=["segment", "name", "description", "customers", "_words"])
    duplicated = frame["name"].duplicated(keep=False)
    frame.loc[duplicated, "name"] = [
        f"{name}, {words[0][0]}" if words else name
        for name, words in zip(frame.loc[duplicated, "name"], frame.loc[duplicated, "_words"])
    ]
    return frame.drop(columns="_words").sort_values("segment", key=_code_order).reset_index(drop=True)


def _code_order(codes: pd.Series) -> pd.Series:
    return codes.str.extract(r"(\d+)$", expand=False).fillna("0").astype(int)


def _notable(profile: pd.Series, overall: pd.Series, dimension: str) -> list[tuple[str, float]]:
    """``(value, share)`` of the dimension's values the segment over-represents, largest share first."""
    prefix = f"{dimension}:"
    found = []
    for column in profile.index:
        if not column.startswith(prefix):
            continue
        share, base = float(profile[column]), float(overall.get(column, 0.0))
        if share >= MIN_SHARE and (base == 0 or share / base >= MIN_LIFT):
            found.append((column[len(prefix) :], share))
    found.sort(key=lambda item: -item[1])
    return found[: MAX_CATEGORIES if dimension == "category" else 1]


def _rfm_words(profile: pd.Series, overall: pd.Series) -> list[tuple[str, str]]:
    """``(word, figures)`` for what sets the segment apart on recency, orders and spend."""
    words = []
    recency, frequency, monetary = (float(profile[c]) for c in RFM_COLUMNS)
    base_recency, base_frequency, base_monetary = (float(overall[c]) for c in RFM_COLUMNS)
    figures = f"{recency:.0f} days since the last visit against {base_recency:.0f}"
    if base_recency > 0 and recency * RFM_RATIO <= base_recency:
        words.append(("recently active", figures))
    elif base_recency > 0 and recency >= base_recency * RFM_RATIO:
        words.append(("lapsed", figures))
    figures = f"{frequency:.1f} orders against {base_frequency:.1f}"
    if frequency < BROWSING_ORDERS:
        words.append(("mostly browsing", figures))
    elif base_frequency > 0 and frequency >= base_frequency * RFM_RATIO:
        words.append(("frequent buyers", figures))
    figures = f"spend {monetary:,.0f} against {base_monetary:,.0f}"
    if base_monetary > 0 and monetary >= base_monetary * RFM_RATIO:
        words.append(("high spend", figures))
    elif base_monetary > 0 and frequency >= BROWSING_ORDERS and monetary * RFM_RATIO <= base_monetary:
        words.append(("low spend", figures))
    return words


def _sentence(categories, band, words, profile: pd.Series, overall: pd.Series) -> str:
    if categories:
        parts = [f"{label} ({share:.0%})" for label, share in categories]
        interest = "Mostly " + " and ".join(parts)
    else:
        interest = "Interest spread over the categories like the base's"
    price = f"{band[0][0]} price band ({band[0][1]:.0%} of their interest)" if band else "prices spread like the base's"
    habits = "; ".join(f"{word} ({figures})" for word, figures in words) or (
        f"habits like the base's ({float(profile['frequency']):.1f} orders, "
        f"{float(profile['recency_days']):.0f} days since the last visit)"
    )
    return f"{interest}; {price}; {habits}."
