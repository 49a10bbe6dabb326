"""Analysis exports: a unit's exits, the effect-goal figures and each survey version's tables per
question, as tables read from the stored releases (analysis/read.py, analysis/crosstabs.py): the
same protected counts the dashboard and /r/ show, never rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from survey.models import Survey, SurveyVersion
from youthvoice.clock import today
from youthvoice.models import Unit
from youthvoice.periods import current_term, parse_period
from youthvoice.tables import Table, word

from . import calendar, crosstabs, read, wording


class NothingReleased(Exception):
    """The release an export would read does not exist (yet): a 409 naming the field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


async def exits(db: AsyncSession, unit: Unit, _, period: str | None = None) -> Table:
    """Exits of a unit as protected counts from the last release of the period (default: this term):
    how many left and how many for work or studies, overall and per gender and age band. No
    individual rows: those leave the service only through `youthvoice backup`."""
    period = period or current_term(today())
    pub = await read.goals_of(db, {unit.id}, period)
    if pub["pending"]:
        raise NothingReleased("period", f"no figures have been released for {period} yet; the next release is on "
                                        f"{pub['next']}")
    table = Table(title=f"{unit.slug}-exits-{period}",
                  header=[_("Group"), _("Exits (n)"), _("Work or studies"), _("Release")])
    rel = pub["release"] or {}
    stamp = f"{_(RELEASE_KINDS.get(rel.get('kind'), rel.get('kind')))} {rel.get('published')}" if rel else ""
    for g in pub["goals"]:
        if g["goal"] != "work_or_studies":
            continue
        table.rows.append([_("All"), g.get("n"), wording.achieved_cell(g, _), stamp])
        for dim, cells in (g.get("breakdowns") or {}).items():
            for value, cell in cells.items():
                table.rows.append([f"{_(BREAKDOWN_NAMES.get(dim, 'Gender'))}: {word(value, _)}", cell.get("n"),
                                   wording.achieved_cell(cell, _), stamp])
    return table


# ---------- effect goals ----------

BREAKDOWN_NAMES = {"age_band": "Age band", "newly_arrived": "Newly arrived", "disability": "Disability"}


def _figure_row(goal: str, group: str, f: dict, _, period: str | None = None) -> list[Any]:
    """A hidden small achieved count reads "fewer than 5" (share empty); a preliminary release's
    verdict says that it is preliminary and when the goal is judged."""
    ci = f.get("ci95") or [None, None]
    verdict = f.get("verdict")
    shown = (wording.preliminary_verdict(f, period, _) if wording.is_preliminary(f)
             else word(verdict, _) if verdict else "")
    return [goal, group, f.get("target"), f.get("n"), wording.achieved_cell(f, _), f.get("dont_know"),
            f.get("share"), ci[0], ci[1], f.get("p_null_share_le_target"), shown]


def effect_goal_table(pub: dict, label: str, period: str, _) -> Table:
    """The published figures (analysis/read.py goals_of) as rows: whole group, each gender, each
    breakdown and the parity share. Suppressed cells stay empty, exactly as on the dashboard."""
    header = [_("Goal"), _("Group"), _("Target"), _("Answers (n)"), _("Achieved"), _("Don't know"), _("Share"),
              _("95 % interval, low"), _("95 % interval, high"), _("p (null: share at most the target)"),
              _("Verdict")]
    rel = pub.get("release") or {}
    table = Table(title=f"effect-goals-{label}-{period}-{rel.get('kind', 'none')}-{rel.get('published', '')}",
                  header=header)
    for g in pub["goals"]:
        name = word(g["goal"], _)
        table.rows.append(_figure_row(name, _("All"), g, _, period))
        for gender, cell in (g.get("by_gender") or {}).items():
            table.rows.append(_figure_row(name, word(gender, _), cell, _))
        for dim, cells in (g.get("breakdowns") or {}).items():
            if dim != "gender":
                for value, cell in cells.items():
                    table.rows.append(_figure_row(name, f"{_(BREAKDOWN_NAMES.get(dim, dim))}: {word(value, _)}", cell, _))
        par = g.get("parity") or {}
        if par:
            table.rows.append(_figure_row(name, _("Share women (parity)"), {
                "target": "–".join(str(b) for b in par.get("band") or []), "n": _sum(par.get("women"), par.get("men")),
                "achieved": par.get("women"), "share": par.get("share_women"), "ci95": par.get("ci95"),
                "verdict": par.get("verdict")}, _))
    return table


def _sum(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b


# ---------- survey answers: protected tables per question ----------

RELEASE_KINDS = {"final": "Final", "preliminary": "Preliminary"}
BACKGROUND_NAMES = {"gender": "Gender", **BREAKDOWN_NAMES}


def final_release_day(period: str) -> dt.date:
    """The day a period's final figures are made: the first monthly release day after it ends
    (analysis/calendar.py)."""
    last = parse_period(period)[1]
    return calendar.first_weekday(last // 100 + (last % 100 == 12), last % 100 % 12 + 1)


def release_words(rel: dict, period: str, _) -> tuple[str, str]:
    """(which release the file reads, when the next comes), in the staff member's language."""
    kind = rel.get("kind") or ""
    which = f"{_(RELEASE_KINDS.get(kind, kind))} {rel.get('published') or ''}".strip()
    if kind == "final":
        return which, _("None: final figures do not change")
    return which, _("%(day)s; breakdowns by background in the final release on %(final)s",
                    day=rel.get("next") or "", final=final_release_day(period).isoformat())


def _question_text(q: dict, lang: str) -> str:
    text = q.get("text") or {}
    return f"{text.get(lang) or text.get('sv') or q['key']} [{q['key']}]"


def option_label(q: dict, name: str, lang: str, _) -> str:
    """An answer option as the survey shows it: its own text, else the catalogue's opt:<value>."""
    if q.get("kind") == "likert5":
        return _("Don't know") if name == "dk" else name
    if q.get("kind") == "yesno":
        return word(name, _)
    own = (q.get("option_text") or {}).get(name)
    if own:
        return own.get(lang) or own.get("sv") or name
    return category_label(name, _)


def category_label(name: str, _) -> str:
    """A background answer (woman, 16-19, yes, ...) in the words the survey itself uses (opt:<value>)."""
    msgid = f"opt:{name}"
    t = _(msgid)
    return t if t != msgid else word(name, _)


def question_tables(body: dict, rel: dict, survey: Survey, version: SurveyVersion, period: str, lang: str,
                    _) -> Table:
    """One version's released tables per question (analysis/crosstabs.py) as rows: for each closed
    question how many answered and each option's count, then (final releases only) the same per
    answer to each background question. Counts are the published ones; a hidden count is blank
    with the effect-goal export's "hidden (too few)" note. No row is a person."""
    which, upcoming = release_words(rel, period, _)
    table = Table(title=f"{survey.slug}-v{version.number}-{period}-{rel.get('kind', '')}-{rel.get('published', '')}",
                  header=[_("Question"), _("Answer"), _("Background question"), _("Background answer"),
                          _("Count"), _("Note"), _("Release"), _("Next release")])
    hidden = word("suppressed", _)
    by_key = {q["key"]: q for q in crosstabs.closed_questions(version.questions)}

    def add(qtext: str, answer: str, dim: str, cat: str, count: int | None) -> None:
        table.rows.append([qtext, answer, dim, cat, count, hidden if count is None else "", which, upcoming])

    for entry in body.get("questions") or []:
        q = by_key.get(entry["key"]) or {"key": entry["key"], "kind": entry.get("kind")}
        qtext = _question_text(q, lang)
        add(qtext, _("Answered (n)"), _("All"), "", entry.get("n"))
        for name, count in entry.get("cells") or []:
            add(qtext, option_label(q, name, lang, _), _("All"), "", count)
        for dim, groups in (entry.get("by") or {}).items():
            dim_name = _(BACKGROUND_NAMES.get(dim, dim))
            for cat, n, cells in groups:
                cat_name = category_label(cat, _)
                add(qtext, _("Answered (n)"), dim_name, cat_name, n)
                for name, count in cells:
                    add(qtext, option_label(q, name, lang, _), dim_name, cat_name, count)
    return table
