"""Shared-device mode: one tablet passed around the room. After each answer the
next person starts from a clean form and sees nothing of the previous answer."""

import re

from tests.conftest import published_survey, raw_rows
from tests.survey.formwalk import answer_all, screen_questions
from tests.survey.intake import waiting

SECRET_WORDS = "Min handledare var snäll"


def markup(page: str) -> str:
    """The page without its inline scripts (the form-keeping script's code says `e.checked`)."""
    return re.sub(r"<script\b.*?</script>", "", page, flags=re.S)


def test_thanks_page_links_to_fresh_start_and_shows_nothing_of_the_answer(client, world, settings):
    s = published_survey(client, world, shared_device=True)
    choose = {"q_found_useful": "5", "q_gender": "non_binary", "q_age_band": "20-24", "q_comment": SECRET_WORDS}
    thanks = answer_all(client, s["slug"], choose)
    assert thanks.status_code == 200 and "Tack för dina svar" in thanks.text
    assert thanks.headers["cache-control"] == "no-store"
    assert f'href="/s/{s["slug"]}"' in thanks.text and "Börja ett nytt svar" in thanks.text
    for trace in (SECRET_WORDS, "non_binary", "20-24", "Kvittonummer", 'type="hidden"', "checked"):
        assert trace not in markup(thanks.text), trace
    stored_id = raw_rows(settings, "select id from response_intake")[0]["id"]
    assert stored_id[:8] not in thanks.text
    fresh = client.get(f"/s/{s['slug']}")
    assert fresh.headers["cache-control"] == "no-store" and "set-cookie" not in fresh.headers
    assert screen_questions(fresh.text)[0] == ["closer_to_labour_market", "found_useful", "gender"]
    for trace in (SECRET_WORDS, "checked", 'name="q_'):
        if trace == 'name="q_':
            assert 'type="hidden" name="q_' not in fresh.text
        else:
            assert trace not in markup(fresh.text), trace
    # a second person answers on the same device: two separate answers
    answer_all(client, s["slug"], {"q_found_useful": "1"})
    assert sorted(r["useful"] for r in waiting(settings)) == [1, 5]


def test_personal_device_says_when_answers_join_the_results_and_every_youth_page_is_no_store(client, world,
                                                                                          settings):
    s = published_survey(client, world)
    thanks = answer_all(client, s["slug"], {"q_found_useful": "3"})
    assert "Dina svar läggs till i resultaten vid nästa uppdatering" in thanks.text
    assert "Börja ett nytt svar" not in thanks.text
    # no receipt: nothing on the page a facilitator watching the screen could match to a stored row
    stored_id = raw_rows(settings, "select id from response_intake")[0]["id"]
    assert "Kvittonummer" not in thanks.text and stored_id[:8] not in thanks.text
    for path in (f"/s/{s['slug']}", f"/s/{s['slug']}?lang=en"):
        assert client.get(path).headers["cache-control"] == "no-store"


def test_each_thanks_page_is_in_its_own_language_and_shows_no_id(client, world, settings):
    """The thank-you page is rendered once and reused (youthvoice/web.py `memo`): each young person
    sees it in the language they chose, and none shows anything of a stored answer."""
    s = published_survey(client, world)
    pages = []
    for lang in ("sv", "ar", "sv"):
        pages.append(answer_all(client, s["slug"], {"q_found_useful": "4"}, start=f"?lang={lang}"))
    ids = [r["id"] for r in raw_rows(settings, "select id from response_intake")]
    assert len(ids) == 3
    for p in pages:
        assert p.status_code == 200 and not any(i[:8] in p.text for i in ids)
    assert "تُضاف إجاباتك إلى النتائج في التحديث القادم" in pages[1].text
    assert all("Dina svar läggs till i resultaten" in p.text for p in (pages[0], pages[2]))
    assert 'dir="rtl"' in pages[1].text and 'dir="rtl"' not in pages[0].text
    assert "@@" not in "".join(p.text for p in pages)
