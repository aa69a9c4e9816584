"""Named RFM segments: which of eleven familiar groups each R, F, M score combination is in.

Each customer has a recency, frequency and monetary score from 1 to 5 (5 best; see
:func:`helpers.differentiate.value.build_customer_value`). A segment is a rule on those
scores; the first rule that matches names the customer. :data:`DEFAULT_RFM_SEGMENTS` is the
kit's map; ``differentiate.rfm_segments`` in the config replaces it (it must give a segment to
every one of the 125 combinations: the config check says which are left out).

The default map reads mostly recency against frequency, as the usual RFM segment grid does,
with spend deciding only who is a Champion and who is too valuable to lose:

=================== ====== ====== ====== ====================================================
segment             R      F      M      who they are, and what to do
=================== ====== ====== ====== ====================================================
Champions           4-5    4-5    4-5    bought lately, often and the most: reward them,
                                         ask them for reviews and referrals
Loyal               3-5    4-5    any    buy often and not long ago: offer more of the range
Potential loyalist  4-5    2-3    any    recent, a few purchases: a membership or a second
                                         category turns them into regulars
New                 5      1      any    first purchase just made: welcome them well
Promising           4      1      any    first purchase a while ago: a reason to come back
Need attention      3      2-3    any    average on both: a limited-time offer before they
                                         slip
About to sleep      3      1      any    one purchase, some time ago: reactivate cheaply
Can't lose them     1-2    4-5    4-5    were frequent, big buyers and have gone quiet:
                                         win them back personally
At risk             1-2    3-5    any    bought often, not for a long time: a win-back offer
Hibernating         2      1-2    any    few purchases, long ago: only low-cost contact
Lost                1      1-2    any    few purchases, longest ago: do not spend on them
=================== ====== ====== ====== ====================================================
"""

from __future__ import annotations

import itertools

import pandas as pd

from helpers.config import RFMSegmentRule, RunConfig

__all__ = ["DEFAULT_RFM_SEGMENTS", "rfm_segment_rules", "rfm_segment_cells"]

#: The kit's segment map, first match wins (see the module docstring).
DEFAULT_RFM_SEGMENTS = tuple(RFMSegmentRule(name=name, r=r, f=f, m=m) for name, r, f, m in (
    ("Champions", (4, 5), (4, 5), (4, 5)),
    ("Loyal", (3, 5), (4, 5), (1, 5)),
    ("Potential loyalist", (4, 5), (2, 3), (1, 5)),
    ("New", (5, 5), (1, 1), (1, 5)),
    ("Promising", (4, 4), (1, 1), (1, 5)),
    ("Need attention", (3, 3), (2, 3), (1, 5)),
    ("About to sleep", (3, 3), (1, 1), (1, 5)),
    ("Can't lose them", (1, 2), (4, 5), (4, 5)),
    ("At risk", (1, 2), (3, 5), (1, 5)),
    ("Hibernating", (2, 2), (1, 2), (1, 5)),
    ("Lost", (1, 1), (1, 2), (1, 5)),
))


def rfm_segment_rules(cfg: RunConfig) -> tuple[RFMSegmentRule, ...]:
    """The segment map of the run: ``differentiate.rfm_segments``, else the default."""
    return tuple(cfg.differentiate.rfm_segments or DEFAULT_RFM_SEGMENTS)


def rfm_segment_cells(rules: tuple[RFMSegmentRule, ...]) -> pd.DataFrame:
    """Every (R, F, M) score combination with the name of the first rule that matches it.

    Returns
    -------
    DataFrame
        r_score, f_score, m_score, rfm_segment: 125 rows; ``rfm_segment`` is None for a
        combination no rule covers (the config check refuses such a map).
    """
    rows = []
    for r, f, m in itertools.product(range(1, 6), repeat=3):
        name = next((rule.name for rule in rules
                     if rule.r[0] <= r <= rule.r[1] and rule.f[0] <= f <= rule.f[1]
                     and rule.m[0] <= m <= rule.m[1]), None)
        rows.append((r, f, m, name))
    return pd.DataFrame(rows, columns=["r_score", "f_score", "m_score", "rfm_segment"])
