"""Staff designer pages (/surveys/…), versions after the first answer, the JSON
update route, and printable one-time codes with QR codes."""

import re

from tests.conftest import published_survey, raw_rows, survey_def
from tests.survey.formwalk import answer_all
from tests.survey.intake import waiting
from tests.youthvoice.test_auth import csrf_of, login


def _new_survey(client, world, who="pl_a"):
    login(client, world.emails[who])
    page = client.get("/surveys")
    assert page.status_code == 200
    r = client.post("/surveys", data={"_csrf": csrf_of(page.text), "unit": "unit-a", "title_sv": "Hur var det?"},
                    follow_redirects=False)
    assert r.status_code == 303
    sid = int(r.headers["location"].rsplit("/", 1)[1])
    return sid, client.get(f"/surveys/{sid}").text


def _post(client, url, html, **data):
    return client.post(url, data={"_csrf": csrf_of(html), **data}, follow_redirects=False)


def test_create_from_template_and_edit_questions_of_every_kind(client, world, settings):
    sid, html = _new_survey(client, world)
    assert "Känner du dig närmare" in html and "Vilket kön har du?" in html
    # the title only has Swedish: every other language is named, in its own name
    assert re.search(r"Översättning saknas: <bdi[^>]*>Lätt svenska</bdi>, <bdi[^>]*>English</bdi>, <bdi[^>]*>العربية</bdi>", html)
    assert "style=" not in html
    r = client.post("/surveys", data={"unit": "unit-a", "title_sv": "x"}, follow_redirects=False)
    assert r.status_code == 403  # no CSRF token
    kinds = {"likert5": "Hur nöjd är du med fikat?", "yesno": "Vill du komma tillbaka?",
             "choice": "Vilken dag passar bäst?", "multi": "Vad vill du göra mer av?", "text": "Något mer om lokalen?"}
    for kind, text in kinds.items():
        form = client.get(f"/surveys/{sid}/questions/new?kind={kind}").text
        r = _post(client, f"/surveys/{sid}/questions", form, kind=kind, text_sv=text, text_en="In English",
                  options="Måndag | Monday\nTisdag | Tuesday | الثلاثاء" if kind in ("choice", "multi") else "")
        assert r.status_code == 303, r.text
    questions = raw_rows(settings, "select questions from survey_version")
    assert len(questions) == 1  # no answers yet: the version is edited in place
    stored = questions[0]["questions"]
    stored = stored if isinstance(stored, list) else __import__("json").loads(stored)
    added = {q["kind"]: q for q in stored[7:]}
    assert set(added) == set(kinds)
    assert added["choice"]["options"] == ["mandag", "tisdag"]
    assert added["choice"]["option_text"]["tisdag"] == {"sv": "Tisdag", "en": "Tuesday", "ar": "الثلاثاء"}
    # edit, reorder, delete
    key = added["yesno"]["key"]
    form = client.get(f"/surveys/{sid}/questions/{key}").text
    assert "Vill du komma tillbaka?" in form
    assert _post(client, f"/surveys/{sid}/questions/{key}", form, kind="yesno", text_sv="Kommer du tillbaka?",
                 text_ar="هل ستعود؟").status_code == 303
    page = client.get(f"/surveys/{sid}").text
    assert _post(client, f"/surveys/{sid}/questions/{key}/move", page, dir="up").status_code == 303
    assert _post(client, f"/surveys/{sid}/questions/{added['text']['key']}/delete", page).status_code == 303
    page = client.get(f"/surveys/{sid}").text
    order = re.findall(r"<strong>(.*?)</strong>", page)
    assert order.index("Kommer du tillbaka?") == order.index("Hur nöjd är du med fikat?") - 1
    assert "Något mer om lokalen?" not in page
    # a bad question names the field and changes nothing
    form = client.get(f"/surveys/{sid}/questions/new?kind=choice").text
    r = _post(client, f"/surveys/{sid}/questions", form, kind="choice", text_sv="Bara ett svar?", options="Ja")
    assert r.status_code == 422 and "options" in r.text
    assert "Bara ett svar?" not in client.get(f"/surveys/{sid}").text


def test_settings_preview_publish_and_close(client, world):
    sid, html = _new_survey(client, world)
    # The standard questions are complete in every language, so each needs the title before publishing.
    r = _post(client, f"/surveys/{sid}/settings", html, title_sv="Hur var det?", title_en="How was it?",
              title_ar="كيف كان؟", title_prs="چطور بود؟", title_so="Sidee ahayd?", title_ti="ከመይ ነይሩ?",
              title_uk="Як це було?", title_lattlast="Hur var det?", opens="2020-01-01", closes="2099-12-31",
              access="open", shared_device="1")
    assert r.status_code == 303
    html = client.get(f"/surveys/{sid}").text
    assert 'value="open" checked' in html and 'name="shared_device" value="1" checked' in html
    assert ">English</bdi>" not in html.split("</h1>")[0] and ">العربية</bdi>" not in html.split("</h1>")[0]
    bad = _post(client, f"/surveys/{sid}/settings", html, title_sv="x", opens="2020-05-01", closes="2020-01-01",
                access="open")
    assert bad.status_code == 422 and "closes" in bad.text
    preview = client.get(f"/surveys/{sid}/preview?lang=ar")
    assert preview.status_code == 200 and 'class="phone"' in preview.text and "هل تشعر" in preview.text
    assert 'name="_form"' not in preview.text  # a preview cannot be sent
    slug = re.search(r"/r/([\w-]+)", html).group(1)
    assert client.get(f"/s/{slug}").status_code == 404  # draft
    assert _post(client, f"/surveys/{sid}/publish", html).status_code == 303
    assert client.get(f"/s/{slug}").status_code == 200
    html = client.get(f"/surveys/{sid}").text
    assert _post(client, f"/surveys/{sid}/close", html).status_code == 303
    assert client.get(f"/s/{slug}").status_code == 404


def test_other_units_surveys_are_invisible(client, world):
    s = published_survey(client, world)
    login(client, world.emails["fac_b"])
    assert "Vad tyckte du?" not in client.get("/surveys").text
    for path in (f"/surveys/{s['id']}", f"/surveys/{s['id']}/preview", f"/surveys/{s['id']}/questions/gender"):
        assert client.get(path).status_code == 404


def test_changing_a_goal_question_after_answers_warns_and_makes_a_new_version(client, world, settings):
    s = published_survey(client, world, who="pl_a")
    answer_all(client, s["slug"], {"q_closer_to_labour_market": "4"})
    login(client, world.emails["pl_a"])
    form = client.get(f"/surveys/{s['id']}/questions/closer_to_labour_market").text
    assert "målfråga" in form
    data = {"kind": "likert5", "text_sv": "Är du närmare jobb eller studier nu?"}
    r = _post(client, f"/surveys/{s['id']}/questions/closer_to_labour_market", form, **data)
    assert r.status_code == 409 and "Det här börjar en ny serie" in r.text and "closer" in r.text
    assert raw_rows(settings, "select count(*) as n from survey_version")[0]["n"] == 1  # nothing saved yet
    r = _post(client, f"/surveys/{s['id']}/questions/closer_to_labour_market", r.text, **data, confirm="1")
    assert r.status_code == 303
    versions = raw_rows(settings, "select id, number from survey_version order by number")
    assert [v["number"] for v in versions] == [1, 2]
    page = client.get(f"/s/{s['slug']}").text
    assert "Är du närmare jobb eller studier nu?" in page
    answer_all(client, s["slug"], {"q_closer_to_labour_market": "2"})
    rows = sorted(({"closer": w["closer"], "version_id": w["version_id"]} for w in waiting(settings)),
                  key=lambda r: (r["closer"] is not None, r["closer"]))
    assert rows == [{"closer": 2, "version_id": versions[1]["id"]}, {"closer": 4, "version_id": versions[0]["id"]}]
    # a change to a non-goal question after answers: new version, no warning
    html = client.get(f"/surveys/{s['id']}").text
    assert _post(client, f"/surveys/{s['id']}/questions/comment/delete", html).status_code == 303
    assert raw_rows(settings, "select max(number) as n from survey_version")[0]["n"] == 3


def test_json_update_makes_new_version_only_after_answers(client, world, settings):
    s = published_survey(client, world)
    url = f"/api/surveys/{s['id']}"
    d = survey_def()
    d["questions"][6]["text"] = {"sv": "Något annat?"}
    r = client.put(url, json=d, headers=world.auth("fac_a"))
    assert r.status_code == 200 and r.json()["version"] == 1 and r.json()["new_series"] == []
    assert client.post(f"/api/public/surveys/{s['slug']}/responses",
                       json={"answers": {"found_useful": 5, "comment": "bra"}}).status_code == 201
    d["questions"][1]["text"] = {"sv": "Var det bra för dig?"}
    r = client.put(url, json=d, headers=world.auth("fac_a"))
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and r.json()["new_series"] == ["useful"]
    assert client.post(f"/api/public/surveys/{s['slug']}/responses",
                       json={"answers": {"found_useful": 1}}).status_code == 201
    numbers = {r["id"]: r["number"] for r in raw_rows(settings, "select id, number from survey_version")}
    rows = sorted(({"useful": w["useful"], "number": numbers[w["version_id"]]} for w in waiting(settings)),
                  key=lambda r: r["useful"])
    assert rows == [{"useful": 1, "number": 2}, {"useful": 5, "number": 1}]
    # the same definition again: no new version
    assert client.put(url, json=d, headers=world.auth("fac_a")).json()["version"] == 2
    # bad input names the field and writes nothing; other units see nothing
    assert "unit" in client.put(url, json=survey_def(unit="unit-a2"), headers=world.auth("pl_a")).text
    bad = {**d, "questions": [{**d["questions"][0], "kind": "choice"}]}
    r = client.put(url, json=bad, headers=world.auth("fac_a"))
    assert r.status_code == 422 and "questions" in r.text
    assert client.put(url, json=survey_def(unit="unit-b"), headers=world.auth("fac_b")).status_code == 404
    assert raw_rows(settings, "select count(*) as n from survey_version")[0]["n"] == 2


def test_printable_codes_with_qr(client, world, settings):
    s = published_survey(client, world, who="pl_a", access="code")
    login(client, world.emails["pl_a"])
    html = client.get(f"/surveys/{s['id']}").text
    r = _post(client, f"/surveys/{s['id']}/codes", html, count="12")
    assert r.status_code == 200
    codes = re.findall(r"<code>([A-Z0-9]{5}-[A-Z0-9]{5})</code>", r.text)
    assert len(codes) == 12 and r.text.count("<svg") == 12
    assert "style=" not in r.text and "<script" not in r.text
    assert raw_rows(settings, "select count(*) as n from survey_code where spent = false")[0]["n"] == 12
    # a printed code works on the phone page, through the address the QR code holds
    thanks = answer_all(client, s["slug"], {"q_found_useful": "4"}, start=f"?code={codes[0]}")
    assert "Tack för dina svar" in thanks.text
    again = answer_all(client, s["slug"], {"q_found_useful": "4"}, start=f"?code={codes[0]}")
    assert again.status_code == 409 and "Koden fungerar inte" in again.text and 'id="code"' in again.text
    assert raw_rows(settings, "select count(*) as n from response_intake")[0]["n"] == 1
    r = _post(client, f"/surveys/{s['id']}/codes", html, count="0")
    assert r.status_code == 422 and "count" in r.text


def test_qr_code_holds_the_survey_address_with_the_code():
    import segno

    from youthvoice.web import qr_svg

    url = "https://example.se/s/enkat-abc123?code=ACDE-FHJK"
    svg = qr_svg(url, scale=3)
    # the same matrix segno makes for that address: the QR opens exactly this URL
    expected = segno.make(url, error="m").svg_inline(scale=3, dark="#000", light="#fff", omitsize=True,
                                                     svgclass="qr", lineclass=None, title=url)
    assert svg == expected and svg.startswith("<svg") and "style" not in svg
    assert qr_svg(url.replace("FHJK", "FHJM")) != svg


def test_results_poster_has_qr_codes_to_survey_and_results(client, world):
    from youthvoice.web import qr_svg

    s = published_survey(client, world, who="pl_a")
    login(client, world.emails["pl_a"])
    r = client.get(f"/surveys/{s['id']}/poster")
    assert r.status_code == 200 and r.text.count("<svg") == 2
    assert qr_svg(f"http://testserver.local/r/{s['slug']}") in r.text
    assert qr_svg(f"http://testserver.local/s/{s['slug']}") in r.text
    assert "style=" not in r.text
    login(client, world.emails["fac_b"])
    assert client.get(f"/surveys/{s['id']}/poster").status_code == 404


def test_a_fixed_translation_is_a_new_version_but_not_a_new_series(client, world, settings):
    s = published_survey(client, world)
    assert client.post(f"/api/public/surveys/{s['slug']}/responses", json={"answers": {"found_useful": 4}}).status_code == 201
    d = survey_def()
    d["questions"][1]["text"]["en"] = "Was what you did with us useful for you?"
    r = client.put(f"/api/surveys/{s['id']}", json=d, headers=world.auth("fac_a"))
    assert r.json() == {"id": s["id"], "slug": s["slug"], "version": 2, "new_series": []}


def test_goal_question_is_deleted_only_after_asking_and_no_publish_without_every_title(client, world):
    sid, html = _new_survey(client, world)
    asked = _post(client, f"/surveys/{sid}/questions/found_useful/delete", html)
    assert asked.status_code == 409 and "Ta bort frågan?" in asked.text and 'name="confirm_delete"' in asked.text
    assert "found_useful" in client.get(f"/surveys/{sid}").text  # still there
    done = _post(client, f"/surveys/{sid}/questions/found_useful/delete", html, confirm_delete="1")
    assert done.status_code == 303
    assert "/questions/found_useful/" not in client.get(f"/surveys/{sid}").text
    # The title is only in Swedish: publishing is refused, naming the languages, in Swedish.
    refused = _post(client, f"/surveys/{sid}/publish", html)
    assert refused.status_code == 422 and "Skriv titeln på alla språk innan du publicerar:" in refused.text
    assert re.search(r"publicerar:[^<]*\ben\b[^<]*\bar\b", refused.text)
    slug = re.search(r"/r/([\w-]+)", html).group(1)
    assert client.get(f"/s/{slug}").status_code == 404
