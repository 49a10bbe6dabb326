"""The public results page /r/{slug}: aggregated answers, small groups hidden,
free text never shown, and what the unit decided to do."""

import asyncio
import datetime as dt
import re

from sqlalchemy import text

from analysis.publish import publish_now
from tests.conftest import published_survey, run_db, survey_def
from tests.youthvoice.test_auth import csrf_of, login
from youthvoice.clock import today

FREE_TEXT = "Jag heter Kim och bor på Storgatan"


def _answer(client, slug, answers):
    r = client.post(f"/api/public/surveys/{slug}/responses", json={"answers": answers})
    assert r.status_code == 201, r.text


def _row(html: str, label: str) -> str:
    m = re.search(r"<tr><th scope=\"row\">" + re.escape(label) + r"</th>(.*?)</tr>", html, re.DOTALL)
    assert m, label
    return m.group(1)


def test_results_show_counts_hide_small_groups_and_never_free_text(client, world, settings):
    s = published_survey(client, world)
    slug = s["slug"]
    for _ in range(6):
        _answer(client, slug, {"found_useful": 5, "gender": "woman", "comment": FREE_TEXT})
    for _ in range(5):
        _answer(client, slug, {"found_useful": 4, "gender": "man"})
    _answer(client, slug, {"found_useful": None, "gender": "non_binary"})  # a single non-binary answer
    for _ in range(3):
        _answer(client, slug, {"closer_to_labour_market": 5, "age_band": "16-19"})
    html = client.get(f"/r/{slug}").text
    assert "Har det du gjort" not in html  # nothing is published before the first release
    asyncio.run(publish_now(settings))
    html = client.get(f"/r/{slug}").text
    assert FREE_TEXT not in html and "Storgatan" not in html
    # an open survey's release has no distribution of a background question
    assert "Har det du gjort" in html and "Vilket kön" not in html
    useful = html[html.index("Har det du gjort"):]
    numbers = [int(n) for n in re.findall(r"<td>(\d+)</td>", useful[:useful.index("</table>")])]
    assert numbers and all(0 <= n <= 8 for n in numbers)  # 6, 5 and 1 answers, adjusted by at most 2
    assert "dold" in useful[:useful.index("</table>")] or len(numbers) == 6
    # closer has only 3 answers: the whole question is hidden
    closer = html[html.index("Känner du dig närmare"):html.index("Har det du gjort")]
    assert "<td>" not in closer
    # once the survey has closed, its final release shows the background questions; small cells stay hidden
    run_db(settings, lambda db: _close(db, s["id"]))
    asyncio.run(publish_now(settings, today() + dt.timedelta(days=1)))
    html = client.get(f"/r/{slug}").text
    assert "Vilket kön" in html
    nb = _row(html[html.index("Vilket kön"):], "Icke-binär")
    assert "dold" in nb or "<td>0</td>" in nb  # 1 is published as 0 or 3, and 3 is below the smallest group
    final = html
    _answer_closed = client.post(f"/api/public/surveys/{slug}/responses", json={"answers": {"found_useful": 1}})
    assert _answer_closed.status_code == 404
    asyncio.run(publish_now(settings, today() + dt.timedelta(days=2)))
    assert client.get(f"/r/{slug}").text == final  # final figures are served unchanged


async def _close(db, survey_id):
    await db.execute(text(f"UPDATE survey SET status = 'closed' WHERE id = {survey_id}"))
    await db.commit()


def test_results_of_draft_or_unknown_survey_are_404(client, world):
    assert client.get("/r/nope").status_code == 404
    r = client.post("/api/surveys", json=survey_def(), headers=world.auth("fac_a"))
    assert client.get(f"/r/{r.json()['slug']}").status_code == 404


def test_staff_write_actions_shown_per_language(client, world):
    s = published_survey(client, world)
    assert "Vi har inte skrivit något än" in client.get(f"/r/{s['slug']}").text
    login(client, world.emails["pl_a"])
    page = client.get(f"/surveys/{s['id']}/actions")
    assert page.status_code == 200 and 'class="missing"' in page.text
    # without the CSRF token nothing is saved
    bad = client.post(f"/surveys/{s['id']}/actions", data={"actions_sv": "Hackat"})
    assert bad.status_code == 403
    r = client.post(f"/surveys/{s['id']}/actions", follow_redirects=False,
                    data={"_csrf": csrf_of(page.text), "actions_sv": "Vi ordnar fler praktikplatser.\nVi svarar i mars.",
                          "actions_en": "We will arrange more work placements."})
    assert r.status_code == 303
    sv = client.get(f"/r/{s['slug']}").text
    assert "<p>Vi ordnar fler praktikplatser.</p>" in sv and "<p>Vi svarar i mars.</p>" in sv
    assert "We will arrange more work placements." in client.get(f"/r/{s['slug']}?lang=en").text
    assert "Vi ordnar fler" in client.get(f"/r/{s['slug']}?lang=ar").text  # falls back to Swedish


def test_staff_of_other_unit_cannot_write_actions(client, world):
    s = published_survey(client, world)
    login(client, world.emails["fac_b"])
    assert client.get(f"/surveys/{s['id']}/actions").status_code == 404


def test_results_write_numbers_and_dates_the_way_each_language_does(client, world, settings):
    """Babel formats the page's numbers and dates (issue 20.4): Dari in Persian digits, Swedish dates
    in words, never the ISO form a young person does not read."""
    s = published_survey(client, world)
    for _ in range(10):  # a batch of B
        _answer(client, s["slug"], {"found_useful": 5, "gender": "woman"})
    asyncio.run(publish_now(settings))
    sv = client.get(f"/r/{s['slug']}?lang=sv").text
    year = str(today().year)
    assert re.search(rf"Senast \d{{1,2}} \w+ {year}, nästa gång \d{{1,2}} \w+ \d{{4}}", sv), "Swedish dates in words"
    assert today().isoformat() not in sv.split("<main", 1)[1]
    prs = client.get(f"/r/{s['slug']}?lang=prs").text.split("<main", 1)[1]
    counts = re.findall(r"<td>([^<]+)</td>", prs)
    assert counts and all(re.fullmatch(r"[۰-۹]+", c) for c in counts), counts
    assert not re.search(r"<td>[0-9]+</td>", prs)
