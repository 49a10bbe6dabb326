"""The privacy notice is true for every cookie the service sets (issue 17.13): a journey through the
survey, a workshop room and the staff sign-in collects every Set-Cookie, and /integritet names each one,
in Swedish and in Arabic; it also states the anonymity guarantee (issue 16, docs/anonymity.md)."""

from __future__ import annotations

from http.cookies import SimpleCookie

from tests.conftest import published_survey
from tests.survey.formwalk import answer_all
from tests.workshops.helpers import workshop
from tests.youthvoice.test_auth import form_token, login


def _cookie_names(responses) -> set[str]:
    names: set[str] = set()
    for r in responses:
        for raw in r.headers.get_list("set-cookie"):
            names |= set(SimpleCookie(raw))
    return names


def test_every_cookie_the_service_sets_is_named_on_the_privacy_page(client, world):
    s = published_survey(client, world)
    ws = workshop(client, world)
    seen = []
    seen.append(client.get(f"/s/{s['slug']}?lang=en"))
    seen.append(answer_all(client, s["slug"], {"q_found_useful": "4"}))
    room = client.get(f"/w/{ws['code']}")
    seen += [room, client.post(f"/w/{ws['code']}/join", data={"_form": form_token(room.text), "nickname": "Sara"},
                               follow_redirects=False)]
    seen.append(login(client, world.emails["fac_a"]))
    names = _cookie_names(seen)
    assert {"lang", "yv_w", "yv_session"} <= names, names  # the journey reached every kind
    client.cookies.clear()
    for lang in ("sv", "ar"):
        page = client.get(f"/integritet?lang={lang}").text
        for name in names:
            assert name in page, (lang, name)
    sv = client.get("/integritet?lang=sv").text
    assert "Vi sparar bara ditt val av språk" not in sv  # the old, untrue sentence
    assert "Svaren släpps i grupper, på publiceringsdagar ungefär en gång i månaden" in sv
    assert "Den som gav dig lappen kan ta reda på om koden har använts" in sv
