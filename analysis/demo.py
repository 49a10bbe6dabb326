"""Demo data for the analysis domain: exits over the last 12 months and a volume goal."""

from __future__ import annotations

import random

from sqlalchemy import insert

from youthvoice.clock import today
from youthvoice.db import random_id

from .models import Exit, VolumeCount, VolumeGoal


def _last_months(n: int) -> list[int]:
    day = today()
    out = []
    for back in range(n):
        y, m = divmod(day.year * 12 + day.month - 1 - back, 12)
        out.append(y * 100 + m + 1)
    return out


async def load(db, ctx) -> None:
    rng = random.Random(2026)
    months = _last_months(12)
    rows = []
    for slug, per_month in (("enter-alingsas", (2, 6)), ("ung-i-tyreso", (0, 3))):
        unit = ctx.units.get(slug)
        if unit is None:
            continue
        for month in months:
            for _ in range(rng.randint(*per_month)):
                gender = rng.choices(["woman", "man", "non_binary", "undisclosed"], [46, 46, 3, 5])[0]
                outcome = rng.choices(["work", "studies", "other"], [40, 28, 32] if gender == "man" else [34, 36, 30])[0]
                rows.append(dict(id=random_id(), unit_id=unit.id, month=month, outcome=outcome, gender=gender,
                                 age_band=rng.choices(["16-19", "20-24", "undisclosed"], [45, 50, 5])[0]))
    if rows:
        await db.execute(insert(Exit), rows)
    unit = ctx.units.get("enter-alingsas")
    if unit is not None:
        trainee = VolumeGoal(agreement_id=unit.agreement_id, name="Traineejobb", target_per_year=4)
        contracts = VolumeGoal(agreement_id=unit.agreement_id, name="Utbildningskontrakt", target_per_year=5)
        db.add_all([trainee, contracts])
        await db.flush()
        for goal, n in ((trainee, 3), (contracts, 4)):
            for month in rng.sample(months, n):
                db.add(VolumeCount(goal_id=goal.id, unit_id=unit.id, month=month, count=1))
    await db.commit()
