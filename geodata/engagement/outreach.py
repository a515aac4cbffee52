"""Neighborhoods ranked by how many voices an in-person event would add."""

import numpy as np
import pandas as pd

from geodata.engagement.fields import NO_OFFLINE_BOOST, THINNING_BOOST
from geodata.engagement.rates import NeighborhoodEngagement

# --- outreach ------------------------------------------------------------------------------


def outreach(engagement: NeighborhoodEngagement, *, limit: int | None = None) -> pd.DataFrame:
    """Where an in-person event or a kiosk would add the most voices, best first.

    missing = city rate × the neighborhood's residents (or km² without population) − its pins:
    the pins it lacks to reach the city rate. Only neighborhoods below the city rate are listed.
    score = missing × 1.5 when nothing came from offline channels yet (Idea.OFFLINE_CHANNELS:
            phone, meetings, paper...: nobody has gone there in person)
                    × 1.25 when it is getting thinner (significantly fewer pins than the
                           previous period: `thinning`).
    Ties: the larger `missing`, then the name.
    """
    frame = engagement.frame.copy()
    reference = engagement.city_rate
    if not reference:
        return frame.iloc[0:0].assign(rank=[], missing=[], score=[], reason=[])
    exposure = (
        frame["population"].astype(float) / 1000
        if engagement.basis == "per_1000"
        else frame["area_km2"]
    )
    frame["missing"] = reference * exposure - frame["count"]
    # Every neighborhood with a rate, also one with too few pins to publish it (raw_ratio):
    # an area with next to no pins is what outreach is for.
    frame = frame[frame["raw_ratio"].notna() & (frame["missing"] > 0)].copy()
    no_offline = frame["offline_count"] == 0
    frame["score"] = (
        frame["missing"]
        * np.where(no_offline, NO_OFFLINE_BOOST, 1.0)
        * np.where(frame["thinning"], THINNING_BOOST, 1.0)
    )
    frame = frame.sort_values(["score", "missing", "name"], ascending=[False, False, True])
    if limit is not None:
        frame = frame.head(limit)
    frame["rank"] = np.arange(1, len(frame) + 1)
    frame["reason"] = [_reason(row, engagement) for row in frame.itertuples()]
    return frame


def _reason(row, engagement: NeighborhoodEngagement) -> str:
    unit = "residents" if engagement.basis == "per_1000" else "km²"
    now = f"{row.count} pins, too few for a rate" if row.too_few else f"now {row.ratio:.2f} of it"
    parts = [f"{row.missing:.1f} more pins would bring it to the city rate ({now}, for its {unit})"]
    if row.offline_count == 0:
        parts.append("nothing has come from offline channels yet")
    elif row.too_few:
        parts.append(f"{row.offline_count} of its pins came offline")
    else:
        parts.append(f"{row.offline_share:.0%} of its input came offline")
    if row.thinning:
        parts.append(
            f"fewer pins than the previous period ({row.count_current} against "
            f"{row.count_previous})"
        )
    return "; ".join(parts) + "."
