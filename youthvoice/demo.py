"""Demo data, shared part: agreements like Alingsås ENTER and Tyresö, their units and staff.
Each domain adds its part with a `demo.load(db, ctx)` of its own; the CLI calls them in order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .auth import hash_password
from .models import Agreement, Organisation, Unit, User

DEMO_USERS = [
    ("admin@demo.youthvoice.se", "admin", "demo-admin-2026", []),
    ("processledare@demo.youthvoice.se", "process_leader", "demo-process-2026", ["enter-alingsas"]),
    ("handledare@demo.youthvoice.se", "facilitator", "demo-handledare-2026", ["enter-alingsas"]),
    ("handledare.tyreso@demo.youthvoice.se", "facilitator", "demo-tyreso-2026", ["ung-i-tyreso"]),
]

@dataclass
class DemoContext:
    units: dict[str, Unit] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # what one domain's demo hands to the next


async def is_empty(db: AsyncSession) -> bool:
    return (await db.execute(select(func.count()).select_from(Unit))).scalar_one() == 0


async def load(db: AsyncSession) -> DemoContext:
    ctx = DemoContext()
    alingsas = Agreement(slug="alingsas-dua", name="Lokal överenskommelse Alingsås (DUA)")
    tyreso = Agreement(slug="tyreso-dua", name="Lokal överenskommelse Tyresö (DUA)")
    db.add_all([alingsas, tyreso])
    await db.flush()
    kommun = Organisation(agreement_id=alingsas.id, name="Alingsås kommun", kind="municipality")
    af = Organisation(agreement_id=alingsas.id, name="Arbetsförmedlingen", kind="employment_service")
    tkommun = Organisation(agreement_id=tyreso.id, name="Tyresö kommun", kind="municipality")
    db.add_all([kommun, af, tkommun])
    await db.flush()
    for slug, name, agr, org in [("enter-alingsas", "ENTER Alingsås", alingsas, kommun),
                                 ("ung-i-tyreso", "Ung i Tyresö", tyreso, tkommun)]:
        unit = Unit(slug=slug, name=name, agreement_id=agr.id, organisation_id=org.id)
        db.add(unit)
        ctx.units[slug] = unit
    await db.flush()
    for email, role, password, units in DEMO_USERS:
        user = User(email=email, role=role, password_hash=hash_password(password),
                    units=[ctx.units[u] for u in units])
        db.add(user)
        ctx.users[email] = user
    await db.flush()
    for unit in ctx.units.values():
        await db.refresh(unit, ["agreement"])

    return ctx
