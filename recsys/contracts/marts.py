"""Values of mart columns that Python code also needs (CLI choices, campaign audiences).

The marts enforce them with check constraints (``dbt/models/marts/_marts__models.yml``);
``tests/test_contracts.py`` checks that the constraint and this list agree.
"""

from __future__ import annotations

import typing
from typing import Literal

#: ``marts.dim_customers.rfm_segment``: the named RFM classes, in the order dbt assigns them.
RfmSegment = Literal["new", "champions", "loyal", "at_risk", "hibernating", "promising", "prospect"]
RFM_SEGMENTS: tuple[str, ...] = typing.get_args(RfmSegment)
