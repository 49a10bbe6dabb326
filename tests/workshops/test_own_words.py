"""Issue 27.7: "Take back my own words" is the author's, not staff's. After the author took their
words back, the summary said "Ord ändrade av personal: Ja" and the feedback page "Personalen hjälpte
till med orden"; and the author saw staff's rewording only inside the collapsed history."""

from __future__ import annotations

import re

from tests.youthvoice.test_auth import form_token, login

from .helpers import join, vote, workshop, write

HELPED = "Personalen hjälpte till med orden"


def _summary_row(html: str, text: str) -> str:
    row = re.search(r"<tr><td dir=\"auto\">" + re.escape(text) + r"</td>.*?</tr>", html, re.DOTALL)
    assert row, f"{text!r} is not in the summary"
    return row.group(0)


def test_the_authors_take_back_is_not_counted_as_staffs_words(client, world):
    ws = workshop(client, world)
    code, wid = ws["code"], ws["id"]
    staff = world.auth("fac_a")
    amir, sara = join(client, code, nickname="Amir"), join(client, code, nickname="Sara")
    taken_back = write(client, code, amir, "Vi vill ha fler praktikplatser")
    kept = write(client, code, sara, "Busskort till alla")
    for sid, words in ((taken_back, "Vi vill ha fler praktikplatser i kommunen"), (kept, "Gratis busskort för unga")):
        assert client.put(f"/api/workshops/{wid}/statements/{sid}", json={"text": words}, headers=staff).status_code == 200
    assert client.post(f"/api/public/workshops/{code}/statements/{taken_back}/take-back", headers=amir).status_code == 200

    by_id = {s["id"]: s for s in client.get(f"/api/workshops/{wid}/statements", headers=staff).json()}
    assert [r["author_role"] for r in by_id[taken_back]["revisions"]] == ["participant", "staff", "participant"]
    assert by_id[taken_back]["edited_by_staff"] is False  # the author's own words, as they wrote them
    assert by_id[kept]["edited_by_staff"] is True

    client.post(f"/api/workshops/{wid}/review", headers=staff)
    for who in (amir, sara):
        for sid in (taken_back, kept):
            vote(client, code, who, sid, "approve")
    assert sorted(client.post(f"/api/workshops/{wid}/close", headers=staff).json()["released"]) == sorted([taken_back, kept])

    # The young people's feedback page: staff's help is named only where staff's words are in the text.
    page = client.get(f"/w/{code}").text
    own = page[page.index("Vi vill ha fler praktikplatser"):]
    own = own[:own.index("</li>")]
    assert HELPED not in own, "the author's own words are said to be staff's"
    helped = page[page.index("Gratis busskort för unga"):]
    assert HELPED in helped[:helped.index("</li>")]
    assert client.get(f"/api/public/workshops/{code}/feedback").status_code == 200

    # The steering group's summary.
    login(client, world.emails["fac_a"])
    summary = client.get(f"/workshops/{wid}/summary").text
    assert "<td>Nej</td>" in _summary_row(summary, "Vi vill ha fler praktikplatser")
    assert "<td>Ja</td>" in _summary_row(summary, "Gratis busskort för unga")


def test_a_participants_change_on_top_of_staffs_words_keeps_them_staffs(client, world):
    ws = workshop(client, world)
    code, wid = ws["code"], ws["id"]
    staff = world.auth("fac_a")
    amir = join(client, code)
    sid = write(client, code, amir, "Fler jobb")
    client.put(f"/api/workshops/{wid}/statements/{sid}", json={"text": "Fler sommarjobb för unga"}, headers=staff)
    r = client.put(f"/api/public/workshops/{code}/statements/{sid}", json={"text": "Fler sommarjobb för unga i Alingsås"},
                    headers=amir)
    assert r.status_code in (200, 201), r.text
    [st] = client.get(f"/api/workshops/{wid}/statements", headers=staff).json()
    assert st["edited_by_staff"] is True


def test_the_author_sees_staffs_rewording_outside_the_history(client, world):
    ws = workshop(client, world)
    code, wid = ws["code"], ws["id"]
    page = client.get(f"/w/{code}")
    client.post(f"/w/{code}/join", data={"_form": form_token(page.text), "nickname": "Sara"})
    page = client.get(f"/w/{code}")
    client.post(f"/w/{code}/statements", data={"_form": form_token(page.text), "text": "Vi vill ha fler sommarjobb"})
    page = client.get(f"/w/{code}")
    [sid] = re.findall(r'id="s-([0-9a-f]{32})"', page.text)
    assert f'id="staff-{sid}"' not in page.text
    client.put(f"/api/workshops/{wid}/statements/{sid}", json={"text": "Fler sommarjobb för unga"},
               headers=world.auth("fac_a"))
    page = client.get(f"/w/{code}").text
    item = page[page.index(f'id="s-{sid}"'):]
    item = item[:item.index("</li>")]
    note = item[item.index(f'id="staff-{sid}"'):]
    note = note[:note.index("</div>")]
    assert "<details" not in note and "Personalen har föreslagit andra ord för det du skrev." in note
    assert "Vi vill ha fler sommarjobb" in note and "<ins>" in note
    assert "Ta tillbaka mina egna ord" in item
    # Taken back: the note goes, the history stays (with the author's revert marked as theirs).
    r = client.post(f"/w/{code}/statements/{sid}/take-back", data={"_form": form_token(page)})
    assert f'id="staff-{sid}"' not in r.text and f'id="hist-{sid}"' in r.text
    assert "Vi vill ha fler sommarjobb</blockquote>" in r.text
