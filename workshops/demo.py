"""Demo workshops: one closed with released statements and answers, one open to try on a phone."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from youthvoice.clock import today

from . import close, feedback, service, statements
from .models import Participant
from .schemas import Composition, WorkshopDef

THEMES = ["Jobb", "Skola och studier", "Fritid", "Bemötande", "Pengar och resor"]


async def _participants(db: AsyncSession, ws, n: int) -> list[Participant]:
    for i in range(n):
        await service.join(db, ws, None)
    return list((await db.execute(select(Participant).where(Participant.workshop_id == ws.id))).scalars())


async def load(db: AsyncSession, ctx) -> None:
    unit = ctx.units["enter-alingsas"]
    leader = ctx.users.get("processledare@demo.youthvoice.se")
    facilitator = ctx.users.get("handledare@demo.youthvoice.se")
    day = today()
    last_month = (day.replace(day=1) - dt.timedelta(days=1)).replace(day=12)

    closed = await service.create_workshop(db, unit, WorkshopDef(
        unit=unit.slug, title="Din röst är viktig – vad behöver unga i Alingsås?", date=last_month,
        place="Stadsbiblioteket, studierummet", neutral_place=True, themes=THEMES,
        composition=Composition(women=3, men=3, non_binary=1, age_16_19=4, age_20_24=3, newly_arrived=2,
                                disability=1)), facilitator)
    people = await _participants(db, closed, 7)
    texts = [
        ("Det är svårt att få praktik om man inte känner någon.", "Jobb"),
        ("Vi vill kunna träffa samma handläggare varje gång.", "Bemötande"),
        ("Busskortet kostar för mycket när man söker jobb.", "Pengar och resor"),
        ("Mer hjälp med CV på enkel svenska.", "Jobb"),
        ("Skolan borde börja klockan tio.", "Skola och studier"),
    ]
    written = []
    for i, (text, theme) in enumerate(texts):
        written.append(await statements.add_statement(db, closed, text, "participant", author=people[i],
                                                      themes=[theme]))
    # The facilitator suggested clearer words for one; the group kept them.
    await statements.revise(db, closed, written[3], "Mer hjälp att skriva CV, på enkel svenska.", "staff")
    await close.start_review(db, closed, facilitator)
    for st in written[:4]:
        for p in people[:5]:
            await statements.cast_vote(db, closed, st, p, "approve")
    await statements.cast_vote(db, closed, written[4], people[0], "approve")
    await statements.cast_vote(db, closed, written[4], people[1], "object")
    released = await close.close(db, closed, unit, facilitator)
    answers = [
        ("done", "Vi har fått tio nya praktikplatser via kommunens företagsnätverk. Fråga din coach."),
        ("considering", "Vi ser över hur vi delar upp ärenden, så att du oftare möter samma person. Besked i mars."),
        ("not_possible", "Vi kan inte ge busskort till alla, men du kan få resor betalda till intervjuer. Fråga oss."),
        ("received", "Tack! Vi tar upp det på nästa möte i styrgruppen."),
    ]
    for sid, (status, text) in zip(released, answers):
        await feedback.respond(db, sid, {unit.id}, status, text, leader)

    open_ws = await service.create_workshop(db, unit, WorkshopDef(
        unit=unit.slug, title="Prova: workshop för unga", date=day, place="Ungdomens hus, stora rummet",
        neutral_place=True, themes=THEMES), facilitator)
    [p] = await _participants(db, open_ws, 1)
    await statements.add_statement(db, open_ws, "Jag vill ha mer hjälp att hitta sommarjobb.", "participant",
                                   author=p, themes=["Jobb"])
    await statements.add_statement(db, open_ws, "Det behövs fler ställen att vara på på kvällen.", "staff",
                                   themes=["Fritid"])
