"""Closed sets of option values as enums, so the CLI framework validates them and ``--help`` lists them."""

from __future__ import annotations

import enum
from collections.abc import Iterable


def choice(name: str, values: Iterable[str]) -> type[enum.Enum]:
    """A string enum whose members are ``values`` (typer shows them as ``[a|b|c]``)."""
    return enum.Enum(name, {value: value for value in values}, type=str)  # type: ignore[return-value]
