"""The report for the steering group (/analysis/report, A4) and its PDF made by the service
(/analysis/report.pdf), through HTTP: G1-G6 always, periods in words, true minus signs, verdict and notes
apart, the intervals drawn; and the dashboard's chart legend."""

from __future__ import annotations

import asyncio
import datetime as dt
import html as htmllib
import io
import re

import pytest
from pypdf import PdfReader

from analysis.publish import publish_now
from tests.analysis.test_effect_goals_api import answer
from tests.conftest import published_survey, raw_rows
from tests.youthvoice.test_auth import login
from youthvoice.clock import today
from youthvoice.periods import current_term, period_words
from youthvoice.web import env, translator

SV = translator("sv")
CODES = ["G1", "G2", "G3", "G4", "G5", "G6"]


def _answers(client, world, n=24):
    s = published_survey(client, world)
    for i in range(n):
        answer(client, s["slug"], 5 if i % 4 else 2, 4 if i % 5 else 1, "woman" if i % 2 else "man")


def _term_end(day: dt.date) -> dt.date:
    """The first release day after the current term (its final figures)."""
    return dt.date(day.year + 1, 1, 2) if day.month > 6 else dt.date(day.year, 7, 2)


def _text(page: str) -> str:
    """What a reader sees: tags gone, entities decoded, blank runs folded; block ends as new lines."""
    body = page.split("<main", 1)[-1]
    body = re.sub(r"<(script|style)\b.*?</\1>", "", body, flags=re.DOTALL)
    body = re.sub(r"</(p|td|th|tr|h\d|li|caption|figcaption|strong)>", "\n", body)
    body = re.sub(r"<[^>]+>", " ", body)
    return re.sub(r"[ \t]+", " ", htmllib.unescape(body))


def _rows(page: str) -> dict[str, str]:
    """G1..G6 -> the text of that row of the goal table."""
    out = {}
    for code, row in re.findall(r'<tr class="goal-row" data-goal="(G\d)">(.*?)</tr>', page, flags=re.DOTALL):
        out[code] = _text(row)
    return out


@pytest.fixture
def open_term(client, world, settings):
    _answers(client, world)
    asyncio.run(publish_now(settings))  # today's preliminary totals: the term is open
    login(client, world.emails["pl_a"])
    return current_term(today())


@pytest.fixture
def closed_term(client, world, settings):
    _answers(client, world)
    period = current_term(today())
    asyncio.run(publish_now(settings, _term_end(today())))  # the term has closed: its final figures
    login(client, world.emails["pl_a"])
    return period


def test_period_words_in_every_staff_language():
    assert period_words("2026-VT", translator("sv")) == "vårterminen 2026, jan–jun"
    assert period_words("2026-HT", translator("sv")) == "höstterminen 2026, jul–dec"
    assert period_words("2026-Q3", translator("sv")) == "tredje kvartalet 2026, jul–sep"
    assert period_words("2026", translator("sv")) == "helåret 2026, jan–dec"
    assert period_words("2026-VT", translator("en")) == "spring term 2026, Jan–Jun"
    for lang in ("lattlast", "ar", "prs", "so", "ti", "uk"):
        words = {p: period_words(p, translator(lang)) for p in ("2026", "2026-VT", "2026-HT", "2026-Q1", "2026-Q4")}
        assert all("2026" in w for w in words.values()), (lang, words)
        assert len(set(words.values())) == 5, (lang, words)  # each period its own words
        assert words["2026-VT"] != period_words("2026-VT", translator("en")), lang  # translated, not English
    assert period_words("nonsense", SV) == "nonsense"


def test_open_term_report_shows_all_six_goals_and_says_when_parity_comes(client, open_term):
    page = client.get(f"/analysis/report?unit=unit-a&period={open_term}")
    assert page.status_code == 200
    rows = _rows(page.text)
    assert list(rows) == CODES  # G2, G4, G6 are there although the term is open
    for code in ("G2", "G4", "G6"):
        assert "Visas när terminen är slut." in rows[code], rows[code]
    text = _text(page.text)
    # The period in words, not its code
    assert f"Period: {period_words(open_term, SV)}" in text
    assert open_term not in text
    # "Efter kön" is not an empty heading: the sentence on when the groups come stands under it
    after = text.split("Efter kön", 1)[1].strip()
    assert after.startswith("Visas när terminen är slut."), after[:80]
    # One picture with a row per goal, an axis with labels
    chart = page.text.split('<svg class="cichart"', 1)[1].split("</svg>", 1)[0]
    assert re.findall(r'data-goal="(G\d)"', chart) == CODES
    assert chart.count('class="cibar-ci') >= 1 and chart.count("cibar-target") == 3
    assert "100 %" in chart and "Visas när terminen är slut." in chart


def test_verdict_and_notes_stand_apart(client, open_term):
    page = client.get(f"/analysis/report?unit=unit-a&period={open_term}").text
    verdicts = ("Det går inte att säga än", "Målet är nått", "Målet är inte nått")
    for row in re.findall(r'<tr class="goal-row" data-goal="G[35]">(.*?)</tr>', page, flags=re.DOTALL):
        cell = row.split("<td>")[-1]
        strong = re.search(r'<strong class="verdict-text">(.*?)</strong>', cell, flags=re.DOTALL)
        # a preliminary release judges nothing and says so, as a full sentence (docs/statistics.md 3a)
        preliminary = "Preliminära siffror: om målet nås avgörs när terminen är slut."
        assert strong and strong.group(1).strip() in (*verdicts, preliminary), cell
        after = cell.split("</strong>", 1)[1]
        # Every note (outlook, "don't know") is its own paragraph after the verdict
        assert re.sub(r"<p class=\"note\">.*?</p>", "", after, flags=re.DOTALL).strip() in ("</td>", ""), after
        assert "<p class=\"note\">" in after  # the closer and useful goals always carry the "don't know" note
    for v in verdicts:
        assert not re.search(re.escape(v) + r" [A-ZÅÄÖ]", _text(page)), v


def test_closed_term_report_has_parity_gender_tables_and_no_hyphen_for_minus(client, closed_term):
    page = client.get(f"/analysis/report?unit=unit-a&period={closed_term}").text
    rows = _rows(page)
    assert list(rows) == CODES
    for code in ("G2", "G4", "G6"):
        assert "40–60 %" in rows[code] and "Visas när" not in rows[code], rows[code]
    text = _text(page)
    assert "Slutliga siffror" in text
    assert text.count(SV("Women and girls")) >= 2  # the gender tables under "Efter kön"
    assert not re.search(r"(?<![\w–])-\d", text), re.search(r".{40}(?<![\w–])-\d.{20}", text)
    chart = page.split('<svg class="cichart"', 1)[1].split("</svg>", 1)[0]
    assert chart.count('class="cichart-band"') == 3  # the even-split band of G2, G4, G6


def test_negative_numbers_get_a_true_minus_sign():
    macros = env.get_template("analysis/_macros.html").make_module({"_": lambda s, **kw: s % kw if kw else s})
    assert str(macros.pct(-0.052)) == "\u22125" and str(macros.pct(0.3)) == "30"
    g = {"women_vs_men": {"difference": -0.12, "ci95": [-0.31, 0.08]}}
    said = str(macros.versus(g))
    assert "\u221212" in said and "\u221231" in said and "8)" in said and "-1" not in said and "-3" not in said


def test_report_pdf_is_made_by_the_service_with_goals_verdicts_and_intervals(client, world, closed_term, settings):
    r = client.get(f"/analysis/report.pdf?unit=unit-a&period={closed_term}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert "attachment" in r.headers["content-disposition"] and ".pdf" in r.headers["content-disposition"]
    assert r.content.startswith(b"%PDF-")
    pdf = PdfReader(io.BytesIO(r.content))
    text = "\n".join(p.extract_text() for p in pdf.pages)
    for code in CODES:
        assert f"{code}." in text, code
    assert SV("Effect goals for the steering group") in text and period_words(closed_term, SV) in text
    assert "Lämna för arbete eller studier" in text or "G1. " in text
    assert any(SV(v) in text for v in ("The goal is met", "The goal is not met", "We cannot tell yet"))
    parity_words = [SV(m).split("(")[0].strip() for m in ("Even gender split (%(band)s)",
                                                            "Uneven gender split (outside %(band)s)")]
    assert any(w in text for w in parity_words) or text.count(SV("We cannot tell yet")) >= 2
    assert "Efter kön" in text and SV("Women and girls") in text
    # The intervals drawn: each published interval is a filled bar as wide as the interval on the 0-100 % track
    ops = b"".join(page.get_contents().get_data() for page in pdf.pages).decode("latin-1")
    widths = [float(w) for w in re.findall(r"[\d.]+ [\d.]+ ([\d.]+) -?[\d.]+ re f", ops)]
    track = (210 - 30 - 14) / 25.4 * 72  # the chart's 0-100 % in points: A4 less margins and the label column
    assert sum(abs(w - track) < 0.5 for w in widths) == 6  # the grey track of G1-G6
    body = client.get(f"/api/stats/effect-goals?unit=unit-a&period={closed_term}", headers=world.auth("pl_a")).json()
    intervals = [f["ci95"] for g in body["goals"] for f in (g, g.get("parity") or {})
                 if f.get("verdict") not in (None, "suppressed") and f.get("ci95")]
    assert len(intervals) >= 2
    for lo, hi in intervals:
        assert any(abs(w - track * (hi - lo)) < 0.5 for w in widths), (lo, hi, widths)
    assert not re.search(r"(?<![\w–])-\d", text)
    audited = raw_rows(settings, "SELECT action, subject FROM audit_entry WHERE action = 'export'")
    assert any("(pdf)" in a["subject"] and "unit-a" in a["subject"] for a in audited), audited


def test_report_pdf_open_term_says_when_parity_comes(client, open_term):
    r = client.get(f"/analysis/report.pdf?unit=unit-a&period={open_term}")
    assert r.status_code == 200
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(r.content)).pages)
    for code in CODES:
        assert f"{code}." in text
    assert text.count("Visas när terminen är slut.") >= 3 + 1  # G2, G4, G6 rows and under "Efter kön"
    assert f"Period: {period_words(open_term, SV)}" in text


def test_report_page_links_to_the_pdf(client, open_term):
    page = client.get(f"/analysis/report?unit=unit-a&period={open_term}").text
    assert f'href="/analysis/report.pdf?unit=unit-a&amp;period={open_term}"' in page


def test_report_pdf_keeps_the_report_scope(client, world, settings, open_term):
    assert client.get(f"/analysis/report.pdf?unit=unit-b&period={open_term}").status_code == 404
    assert client.get("/analysis/report.pdf?unit=unit-a&period=2026-X1").status_code in (400, 422)
    client.cookies.clear()
    r = client.get(f"/analysis/report.pdf?unit=unit-a&period={open_term}", follow_redirects=False)
    assert r.status_code in (302, 303, 401) and not r.content.startswith(b"%PDF")
    assert r.status_code == client.get(f"/analysis/report?unit=unit-a&period={open_term}",
                                       follow_redirects=False).status_code
    # A Tigrinya or Arabic reader gets the PDF in Swedish (fpdf2 does not shape those scripts), never boxes
    login(client, world.emails["pl_a"])
    r = client.get(f"/analysis/report.pdf?unit=unit-a&period={open_term}&lang=ar")
    assert r.status_code == 200 and SV("Effect goals for the steering group") in PdfReader(io.BytesIO(r.content)).pages[0].extract_text()


def test_dashboard_legend_tells_what_is_drawn_and_charts_do_not_shrink_their_labels(client, open_term):
    page = client.get(f"/analysis?unit=unit-a&period={open_term}").text
    assert "Strecket är målet" not in page
    legend = re.search(r'<p class="hint legend">(.*?)</p>', page, flags=re.DOTALL).group(1)
    # what the legend names is what each bar draws: an interval, a dot for the share, an orange target line
    assert "punkten" in legend and "orange" in legend
    bars = re.findall(r'<svg class="cibar".*?</svg>', page, flags=re.DOTALL)
    assert bars and all("<circle class=\"cibar-share\"" in b and "cibar-target" in b for b in bars)
    # No viewBox on the charts: their text is drawn at its CSS size (13 px), never scaled down
    for svg in re.findall(r"<svg class=\"(?:cibar|trend|cichart)\"[^>]*>", page):
        assert "viewBox" not in svg
    css = client.get("/static/style.css").text
    size = re.search(r"\.chart-label,[^{]*\{font-size:(\d+)px", css)
    assert size and int(size.group(1)) >= 12
    assert "period=" in page and period_words(open_term, SV) in page
    # The gender split tiles say when they come, in the words of the period
    assert page.count("Visas när terminen är slut.") == 3


def test_a_period_without_figures_says_so_on_the_page_and_in_the_pdf(client, world):
    login(client, world.emails["pl_a"])
    page = client.get("/analysis/report?unit=unit-a&period=2025-Q1")
    assert page.status_code == 200
    text = _text(page.text)
    assert SV("No figures are published for this period yet.") in text
    assert "Efter kön" not in text and "<table" not in page.text  # no empty table or heading
    assert "Period: första kvartalet 2025, jan–mar" in text
    r = client.get("/analysis/report.pdf?unit=unit-a&period=2025-Q1")
    body = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(r.content)).pages)
    assert r.status_code == 200 and SV("No figures are published for this period yet.") in body


def _goal(goal, target, k, n, lo, hi, verdict, closed):
    g = {"goal": goal, "target": target, "n": n, "achieved": k, "share": k / n, "ci95": [lo, hi], "verdict": verdict,
         "outlook": {"kind": "will_not_settle_soon"}, "dont_know": 0}
    if closed:
        g["parity"] = {"band": [0.4, 0.6], "verdict": "undetermined", "women": 14, "men": 12,
                       "share_women": 14 / 26, "ci95": [0.33, 0.73]}
        g["women_vs_men"] = {"difference": -0.08, "ci95": [-0.3, 0.15]}
    return g


@pytest.mark.parametrize("fonts", ["found", "none"])
def test_pdf_without_a_unicode_font_still_names_every_goal(monkeypatch, fonts):
    """On a machine with neither DejaVu nor Noto Sans the PDF falls back to Helvetica (Latin-1): still a
    valid PDF with G1-G6, the minus as a hyphen there being the one loss."""
    from analysis import pdf as report_pdf

    if fonts == "none":
        monkeypatch.setattr(report_pdf, "font_files", lambda: None)
    elif report_pdf.font_files() is None:
        pytest.skip("no DejaVu or Noto Sans on this machine")
    goals = [_goal("work_or_studies", 0.6, 30, 40, 0.58, 0.86, "undetermined", True),
             _goal("closer", 0.75, 50, 60, 0.71, 0.91, "undetermined", True),
             _goal("useful", 0.85, 58, 60, 0.88, 0.99, "met", True)]
    ctx = dict(goals=goals, release={"kind": "final", "published": "2026-07-01"}, next_release="2026-07-02",
               response_rate=None, has_code_survey=False, period="2026-VT", unit_name="ENTER Alingsås", min_cell=5,
               volume=[], today=dt.date(2026, 7, 2))
    body = report_pdf.report_pdf(ctx, SV)
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(body)).pages)
    for code in CODES:
        assert f"{code}." in text
    assert "vårterminen 2026" in text and "ENTER Alingsås" in text and SV("The goal is met") in text
    minus = "\u22128" if fonts == "found" else "-8"
    assert minus in text.replace("\u2212 ", "\u2212"), text
