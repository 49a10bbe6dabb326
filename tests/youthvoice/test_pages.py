"""Accessibility statement, privacy notice, records of processing; links and no-store on every page."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from litestar.testing import TestClient
from markupsafe import escape

from tests.conftest import published_survey, run_db
from tests.survey.formwalk import answer_all
from tests.youthvoice.test_auth import login
from youthvoice import i18n, pages
from youthvoice.app import PURPOSES, create_app
from youthvoice.db import Base

LANGS = ("sv", "en", "ar")


@pytest.fixture
def town(settings):
    """A client whose configuration names a real-looking municipality."""
    s = dataclasses.replace(settings, controller_name="Alingsås kommun", contact_email="tillganglighet@alingsas.example",
                            dpo_email="dso@alingsas.example")
    with TestClient(create_app(s)) as c:
        yield c


def links_to_both(html: str) -> bool:
    return 'href="/tillganglighet"' in html and 'href="/integritet"' in html


# ---------- accessibility statement ----------

@pytest.mark.parametrize("lang", LANGS)
def test_accessibility_statement_in_each_language(town, world, lang):
    r = town.get(f"/tillganglighet?lang={lang}")
    assert r.status_code == 200
    html = r.text
    assert f'<html lang="{lang}" dir="{i18n.direction(lang)}">' in html
    assert "WCAG 2.1" in html and "EN 301 549" in html
    assert 'href="https://www.digg.se/tdosanmalan"' in html
    assert 'href="mailto:tillganglighet@alingsas.example"' in html
    assert "Alingsås kommun" in html
    # every known gap from the checked-in file, in this language, with its success criterion
    gaps = pages.known_gaps()["gaps"]
    assert gaps, "known_gaps.toml lists the known gaps"
    for gap in gaps:
        if gap.get("unreviewed_languages") and not i18n.unreviewed_languages():
            continue
        assert str(escape(pages.gap_text(gap, lang))) in html and gap["wcag"] in html
    heading = {"sv": "Tillgänglighetsredogörelse", "en": "Accessibility statement", "ar": "بيان إمكانية الوصول"}[lang]
    assert f"<h1>{heading}</h1>" in html
    compliance = {"sv": "delvis förenlig", "en": "partially compliant", "ar": "متوافقة جزئيًا"}[lang]
    assert compliance in html


def test_every_known_gap_has_all_three_languages():
    for gap in pages.known_gaps()["gaps"]:
        assert re.fullmatch(r"\d\.\d\.\d+", gap["wcag"]), gap
        for lang in LANGS:
            assert gap.get(lang, "").strip(), (gap["wcag"], lang)


# ---------- privacy notice ----------

@pytest.mark.parametrize("lang", LANGS)
def test_privacy_notice_in_each_language(town, world, settings, lang):
    async def set_retention(db):
        from sqlalchemy import update

        from youthvoice.models import Unit

        await db.execute(update(Unit).where(Unit.slug == "unit-a").values(retention_months=24))
        await db.commit()

    run_db(settings, set_retention)
    r = town.get(f"/integritet?lang={lang}")
    assert r.status_code == 200
    html = r.text
    assert f'lang="{lang}"' in html
    assert "Alingsås kommun" in html and 'href="mailto:dso@alingsas.example"' in html
    assert 'href="https://www.imy.se/' in html
    months = {"sv": "24 månader", "en": "24 months", "ar": "24 شهرًا"}[lang]
    assert months in html and "UNIT-A" in html
    default = {"sv": "36 månader", "en": "36 months", "ar": "36 شهرًا"}[lang]
    assert default in html  # the other units keep the default
    words = {"sv": ("namn", "IP-adress", "Månaden", "allmänhetens intresse", "inte ditt samtycke"),
             "en": ("name", "IP address", "month", "public task", "not your consent"),
             "ar": ("اسمك", "عنوان IP", "الشهر", "مهمة البلدية العامة", "وليس موافقتك")}[lang]
    for w in words:
        assert w in html, w


def test_privacy_notice_is_linked_before_the_first_question(client, world):
    s = published_survey(client, world)
    html = client.get(f"/s/{s['slug']}").text
    first_question = html.index('name="q_')
    assert 0 <= html.index('href="/integritet"') < first_question


# ---------- records of processing ----------

def test_every_table_has_a_purpose_and_no_purpose_is_stale():
    tables = set(Base.metadata.tables)
    assert tables - set(PURPOSES) == set(), "add a purpose to PURPOSES in the models.py of the table's domain"
    assert set(PURPOSES) - tables == set(), "a purpose names a table that no longer exists"
    for name, (purpose, kept) in PURPOSES.items():
        assert purpose.strip() and kept.strip(), name


def test_table_purposes_are_translated():
    from youthvoice.i18n import translations

    for lang in ("sv", "ar"):
        t = translations(lang)
        for purpose, kept in PURPOSES.values():
            assert t.gettext(purpose) != purpose, (lang, purpose)
            assert t.gettext(kept) != kept, (lang, kept)


def test_records_page_lists_every_table_and_column_for_staff(town, world, settings):
    r = town.get("/records", follow_redirects=False)
    assert r.status_code in (302, 303, 307) and r.headers["location"].startswith("/login")
    login(town, world.emails["fac_a"])
    r = town.get("/records?lang=en")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    html = r.text
    assert "Alingsås kommun" in html and "dso@alingsas.example" in html
    assert "article 30" in html and "6.1 e" in html
    for table in Base.metadata.tables.values():
        assert f'id="t-{table.name}"' in html, table.name
        for column in table.columns:
            assert f"<code>{column.name}</code>" in html, (table.name, column.name)
    # the response table says, from the model itself, that there is no IP or time column
    response = Base.metadata.tables["response"]
    assert not {"ip", "ip_address", "user_agent", "created_at"} & set(response.columns.keys())
    assert "36 months" in html and "UNIT-A" in html  # retention from the units in the database
    assert "UNIT-B" not in html  # only the caller's units


# ---------- every page: links and no-store ----------

def youth_pages(client, world, settings) -> dict[str, str]:
    """Every kind of page a young person sees, by name -> html (after checking status and cache)."""
    s = published_survey(client, world)
    out: dict[str, object] = {
        "accessibility": client.get("/tillganglighet"),
        "privacy": client.get("/integritet"),
        "privacy-ar": client.get("/integritet?lang=ar"),
        "survey": client.get(f"/s/{s['slug']}"),
        "thanks": answer_all(client, s["slug"], {"q_found_useful": "4", "q_comment": "Bra"}),
        "not-found": client.get("/s/no-such-survey"),
    }
    if client.get(f"/r/{s['slug']}").status_code != 404:
        out["results"] = client.get(f"/r/{s['slug']}")
    w = client.post("/api/workshops", json={"unit": "unit-a", "title": "Vår röst", "date": "2026-10-01",
                                           "place": "Biblioteket", "neutral_place": True}, headers=world.auth("fac_a"))
    if w.status_code == 201:
        out["workshop-enter"] = client.get("/w")
        out["workshop-room"] = client.get(f"/w/{w.json()['code']}")
        out["unit-feedback"] = client.get("/u/unit-a")
    pages_ = {}
    for name, r in out.items():
        assert r.status_code in (200, 404), (name, r.status_code)
        assert r.headers["cache-control"] == "no-store", name
        pages_[name] = r.text
    return pages_


def test_every_youth_page_links_to_accessibility_and_privacy_and_is_not_cached(client, world, settings):
    found = youth_pages(client, world, settings)
    assert {"accessibility", "privacy", "survey", "thanks", "not-found"} <= set(found)
    for name, html in found.items():
        assert links_to_both(html), name


def test_every_full_page_template_has_the_footer_links():
    """New pages get the footer because they extend the layout; partials start with '_'."""
    root = Path(pages.__file__).resolve().parent.parent / "templates"
    base = (root / "base.html").read_text()
    assert links_to_both(base)
    for path in root.rglob("*.html"):
        if path.name.startswith("_") or path.name == "base.html":
            continue
        text = path.read_text()
        assert '{% extends "base.html" %}' in text or links_to_both(text), path.relative_to(root)


def test_staff_pages_and_files_are_not_cached(client, world, settings):
    login(client, world.emails["pl_a"])
    for path in ("/", "/analysis", "/exports", "/records", "/login", "/workshops"):
        r = client.get(path)
        if path == "/workshops" and r.status_code == 404:
            continue
        assert r.status_code == 200, path
        assert r.headers["cache-control"] == "no-store", path
    r = client.get("/api/exports/effect-goals.csv")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert client.get("/static/style.css").headers["cache-control"] != "no-store"


def test_staff_start_page_leads_to_exports_and_records(client, world):
    login(client, world.emails["fac_a"])
    html = client.get("/").text
    assert 'href="/exports"' in html and 'href="/records"' in html


def test_records_api_is_generated_from_the_model_and_scoped(client, world):
    assert client.get("/api/records").status_code == 401
    r = client.get("/api/records", headers=world.auth("fac_b"))
    assert r.status_code == 200
    body = r.json()
    assert [u["slug"] for u in body["units"]] == ["unit-b"]
    assert body["units"][0]["retention_months"] == 36
    tables = {t["name"]: t for t in body["tables"]}
    assert set(tables) == set(Base.metadata.tables)
    assert {c["name"] for c in tables["response"]["columns"]} == set(Base.metadata.tables["response"].columns.keys())
    assert all(t["purpose"] for t in tables.values())
    assert "/api/records" in client.get("/schema/openapi.json").json()["paths"]
