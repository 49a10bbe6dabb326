"""The newer fields of a published goal as the pages, the PDF report and the CSV show them
(docs/statistics.md 3, 3a and 6): the outlook's horizon in the words of the period ("när terminen
är slut", "nästa kvartal" ...), a preliminary release's missing verdict (verdict_reason
"preliminary") said plainly, and a shown cell whose achieved count is 1-4 ("färre än 5", never a
crash or an empty cell).

The published body is made by analysis.figures, exactly as analysis/release.py makes it, and put
where the pages read it (analysis.read.goals_of), so each case is rendered whatever the demo data
would have produced."""

from __future__ import annotations

import html as htmllib
import io
import re

import pytest
from pypdf import PdfReader

from analysis import figures, read
from tests.youthvoice.test_auth import login
from youthvoice.clock import today
from youthvoice.periods import current_term

MIN_CELL = 5
TARGET = 0.75
SUPPRESSED = {"target": TARGET, "verdict": "suppressed"}


def goal(name: str, achieved: int, n: int, release: str, period_kind: str, intake: int = 40) -> dict:
    """One goal object as analysis/release.py goal_object makes it (totals only)."""
    g = {"goal": name, **figures.goal(achieved, n, TARGET, MIN_CELL, release)}
    if g["verdict"] != "suppressed":
        g["dont_know"] = 0
        g["outlook"] = dict(figures.outlook(g["achieved"], g["n"], TARGET, intake, g["verdict"], release,
                                            period_kind))
    return g


def with_groups(g: dict, women: tuple[int, int], men: tuple[int, int]) -> dict:
    """A final release's breakdown by gender and its parity part."""
    by_gender = {"woman": dict(figures.goal(*women, TARGET, MIN_CELL)), "man": dict(figures.goal(*men, TARGET, MIN_CELL)),
                 "non_binary": SUPPRESSED, "undisclosed": SUPPRESSED}
    return {**g, "by_gender": by_gender, "breakdowns": {"gender": by_gender},
            "parity": dict(figures.parity(women[0], men[0], (0.4, 0.6), MIN_CELL)),
            "women_vs_men": {"difference": None, "ci95": None}}


def publish(monkeypatch, goals: list[dict], kind: str) -> None:
    nxt = "2027-01-01" if kind != "final" else None
    body = {"goals": goals, "response_rate": None, "pending": False, "next": nxt,
            "release": {"kind": kind, "published": "2026-12-01", "next": nxt}}

    async def goals_of(db, unit_ids, period):
        return body

    monkeypatch.setattr(read, "goals_of", goals_of)


def text_of(page: str) -> str:
    """What a reader sees: tags gone, entities decoded, white space collapsed."""
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", page)))


def pages(client, period: str) -> dict[str, str]:
    out = {}
    for name, path in (("dashboard", "/analysis"), ("report", "/analysis/report")):
        r = client.get(f"{path}?unit=unit-a&period={period}")
        assert r.status_code == 200, (name, r.text[-2000:])
        out[name] = text_of(r.text)
    return out


def csv_rows(client, period: str) -> list[list[str]]:
    r = client.get(f"/analysis/report.csv?unit=unit-a&period={period}")
    assert r.status_code == 200
    return [line.split(";") for line in r.content.decode("utf-8-sig").splitlines()]


def pdf_text(client, period: str) -> str:
    r = client.get(f"/analysis/report.pdf?unit=unit-a&period={period}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    pdf = PdfReader(io.BytesIO(r.content))
    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in pdf.pages))


@pytest.fixture
def staff(client, world):
    login(client, world.emails["pl_a"])
    return client


def test_preliminary_term_says_why_there_is_no_verdict_and_when_it_comes(staff, monkeypatch):
    term = current_term(today())
    closer = goal("closer", 29, 40, "preliminary", "term")
    assert closer["verdict_reason"] == "preliminary" and closer["outlook"]["horizon"] == "end_of_term"
    chance = round(closer["outlook"]["probability"] * 100)
    publish(monkeypatch, [goal("work_or_studies", 0, 0, "preliminary", "term"), closer,
                          goal("useful", 33, 40, "preliminary", "term")], "preliminary")
    for name, page in pages(staff, term).items():
        assert "Preliminära siffror: om målet nås avgörs när terminen är slut." in page, name
        # the outlook of a preliminary release is about this term's final figures, in words
        assert (f"är chansen ungefär {chance} % att de slutliga siffrorna avgör bedömningen när terminen är slut"
                in page), name
        # a preliminary release never reads as a bare "cannot tell yet", nor as a verdict
        assert "Det går inte att säga än" not in page, name
        assert not re.search(r"Målet är (inte )?nått(?! när hela)", page), name  # (the how-to-read text aside)
        assert "nästa termin" not in page, name
    rows = csv_rows(staff, term)
    closer_row = next(r for r in rows if r[0] == "Känner sig närmare arbete eller studier" and r[1] == "Alla")
    assert closer_row[-1] == "Preliminära siffror: om målet nås avgörs när terminen är slut."
    text = pdf_text(staff, term)
    assert "Preliminära siffror" in text and "när terminen är slut" in text


@pytest.mark.parametrize("which, words", [("quarter", "kvartalet"), ("year", "året")])
def test_preliminary_quarter_and_year_speak_of_their_own_period(staff, monkeypatch, which, words):
    year = today().year
    period = f"{year}-Q{(today().month + 2) // 3}" if which == "quarter" else str(year)
    closer = goal("closer", 29, 40, "preliminary", which)
    assert closer["outlook"]["horizon"] == f"end_of_{which}"
    publish(monkeypatch, [closer], "preliminary")
    for name, page in pages(staff, period).items():
        assert f"Preliminära siffror: om målet nås avgörs när {words} är slut." in page, name
        assert f"de slutliga siffrorna avgör bedömningen när {words} är slut" in page, name
        assert "när terminen är slut" not in page, name


@pytest.mark.parametrize("which, words", [("term", "Om nästa termin ger lika många svar"),
                                          ("quarter", "Om nästa kvartal ger lika många svar"),
                                          ("year", "Om nästa år ger lika många svar")])
def test_final_undetermined_names_the_next_period(staff, monkeypatch, which, words):
    year = today().year - 1
    period = {"term": f"{year}-HT", "quarter": f"{year}-Q4", "year": str(year)}[which]
    closer = goal("closer", 29, 40, "final", which)
    assert closer["verdict"] == "undetermined" and closer["outlook"] == {**closer["outlook"], "kind": "next_release",
                                                                         "horizon": f"next_{which}"}
    chance = round(closer["outlook"]["probability"] * 100)
    publish(monkeypatch, [with_groups(closer, (14, 19), (15, 21))], "final")
    for name, page in pages(staff, period).items():
        assert f"{words} som den här perioden är chansen ungefär {chance} % att de avgör bedömningen." in page, name
        assert "Det går inte att säga än" in page and "Preliminära siffror" not in page, name
    assert words in pdf_text(staff, period)


def test_a_shown_cell_with_one_to_four_achieved_reads_fewer_than_five(staff, monkeypatch):
    period = f"{today().year - 1}-HT"
    useful = goal("useful", 3, 40, "final", "term")
    assert useful["achieved"] is None and useful["share"] is None and useful["achieved_below"] == MIN_CELL
    closer = with_groups(goal("closer", 24, 40, "final", "term"), (2, 18), (22, 22))
    assert closer["by_gender"]["woman"]["achieved_below"] == MIN_CELL
    publish(monkeypatch, [goal("work_or_studies", 4, 30, "final", "term"), closer, with_groups(useful, (1, 20), (2, 20))],
            "final")
    got = pages(staff, period)
    dash, report = got["dashboard"], got["report"]
    assert "Färre än 5 av 40 svarade 4 eller 5." in dash
    assert "Färre än 5 av 30 som slutade gick till arbete eller studier." in dash
    assert "None" not in dash and "None" not in report
    # the share column of the report and of the gender tables: "fewer than 5", never "– %" or empty
    assert report.count("färre än 5") >= 3 and "– %" not in report
    rows = csv_rows(staff, period)
    useful_row = next(r for r in rows if r[0] == "Tyckte att det var till nytta" and r[1] == "Alla")
    assert useful_row[3] == "40" and useful_row[4] == "färre än 5" and useful_row[6] == ""
    woman = next(r for r in rows if r[0] == "Känner sig närmare arbete eller studier" and r[1] == "Kvinna")
    assert woman[4] == "färre än 5"
    text = pdf_text(staff, period)
    assert "färre än 5" in text


def test_preliminary_that_will_not_settle_says_so_for_its_own_period(staff, monkeypatch):
    term = current_term(today())
    closer = goal("closer", 30, 40, "preliminary", "term", intake=1)  # hardly any answers still to come
    assert closer["outlook"]["kind"] == "will_not_settle_soon" and closer["outlook"]["horizon"] == "end_of_term"
    publish(monkeypatch, [closer], "preliminary")
    for name, page in pages(staff, term).items():
        assert "De slutliga siffrorna avgör troligen inte målet när terminen är slut" in page, name
        assert "chansen ungefär 0 %" not in page, name
    assert "avgör troligen inte målet när terminen är slut" in pdf_text(staff, term)


def test_exits_export_writes_fewer_than_five_not_an_empty_cell(client, world, monkeypatch):
    period = f"{today().year - 1}-HT"
    exits = goal("work_or_studies", 3, 30, "final", "term")
    assert exits["achieved"] is None
    publish(monkeypatch, [with_groups(exits, (2, 14), (1, 16))], "final")
    r = client.get(f"/api/exports/units/unit-a/exits.csv?period={period}", headers=world.auth("fac_a"))
    assert r.status_code == 200, r.text
    header, *data = [line.split(";") for line in r.content.decode("utf-8-sig").splitlines()]
    assert data[0][:3] == ["Alla", "30", "färre än 5"]
    woman = next(row for row in data if row[0].endswith("Kvinna"))
    assert woman[1:3] == ["14", "färre än 5"]
