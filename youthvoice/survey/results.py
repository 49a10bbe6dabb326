"""The public results page /r/{slug}: what everyone answered (small groups hidden)
and what the unit decided to do. Closes the loop back to the young people."""

from __future__ import annotations

from litestar import Request, Response, get
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.config import Settings
from ..core.web import render
from . import counts


@get("/r/{slug:str}", include_in_schema=False)
async def results_page(slug: str, request: Request, db: AsyncSession, settings: Settings) -> Response:
    survey = await counts.public_survey(db, slug)
    res = await counts.results(db, survey, settings.min_cell)
    return render(request, "survey/results.html", youth=True, survey=survey, res=res, min_cell=settings.min_cell)


ROUTES = [results_page]
