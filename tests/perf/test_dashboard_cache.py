"""The dashboard's aggregates are cached between requests (BENCHMARKS.md, P3): a new answer
must still show at once, on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.conftest import published_survey


def _closer_n(client, world) -> int:
    r = client.get("/api/stats/effect-goals?period=" + _year(), headers=world.auth("pl_a"))
    assert r.status_code == 200, r.text
    goal = next(g for g in r.json()["goals"] if g["goal"] == "closer")
    return goal.get("n", 0)


def _year() -> str:
    from youthvoice.core.clock import today

    return str(today().year)


def _answer(client, slug: str, gender: str) -> None:
    from youthvoice.survey.standard import standard_questions

    answers = {}
    for q in standard_questions():
        if q["kind"] == "likert5":
            answers[q["key"]] = 5
        elif q.get("role") == "gender":
            answers[q["key"]] = gender
    r = client.post(f"/api/public/surveys/{slug}/responses", json={"answers": answers})
    assert r.status_code == 201, r.text


def test_new_answers_show_at_once_despite_the_cache(client, world):
    slug = published_survey(client, world)["slug"]
    for i in range(12):
        _answer(client, slug, "woman" if i % 2 else "man")
    assert _closer_n(client, world) == 12
    assert _closer_n(client, world) == 12  # served from the cache
    _answer(client, slug, "woman")
    assert _closer_n(client, world) == 13
