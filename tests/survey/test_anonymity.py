"""After young people answer through the phone pages, the raw database holds
nothing identifying or linkable: no IP, no user agent, no day or time, nothing
that joins a spent code or a form nonce to the answer it let in. Extends the
row-level checks in test_answering.py to every table and to the HTML path."""

import logging

from sqlalchemy import Date, DateTime

from tests.analysis.batches import release_all
from tests.conftest import published_survey, raw_rows
from tests.survey.formwalk import answer_all
from tests.survey.intake import waiting
from youthvoice.db import Base

IP = "198.51.100.23"
UA = "Mozilla/5.0 (Linux; Android 8) OldPhone/4.2"
YOUTH_TABLES = ("response_intake", "response", "response_count", "survey_code", "submission_nonce")


def _all_tables(settings) -> dict[str, list[dict]]:
    import youthvoice.app  # noqa: F401  (the composition root loads every domain's tables)

    return {name: raw_rows(settings, f'select * from "{name}"') for name in Base.metadata.tables}


def test_youth_tables_have_no_time_columns():
    import survey.models  # noqa: F401

    for name in YOUTH_TABLES:
        table = Base.metadata.tables[name]
        assert not [c.name for c in table.columns if isinstance(c.type, (Date, DateTime))], name
        assert not [fk for fk in table.foreign_keys if fk.column.table.name in YOUTH_TABLES], name


def test_raw_database_after_phone_answers_holds_nothing_identifying(client, world, settings, caplog):
    s = published_survey(client, world, access="code")
    codes = client.post(f"/api/surveys/{s['id']}/codes", json={"count": 3}, headers=world.auth("fac_a")).json()["codes"]
    client.headers.update({"User-Agent": UA, "X-Forwarded-For": IP, "X-Real-IP": IP})
    before = {name: len(rows) for name, rows in _all_tables(settings).items()}
    caplog.set_level(logging.INFO, logger="youthvoice.access")
    for code, comment in zip(codes[:2], ("Allt var bra", "Ring mig 0701234567")):
        r = answer_all(client, s["slug"], {"q_found_useful": "5", "q_gender": "woman", "q_comment": comment},
                       start=f"?code={code}")
        assert r.status_code == 200 and "set-cookie" not in r.headers
    intake = _all_tables(settings)
    # the intake holds the survey, its version and a sealed blob: no answer, month or text in clear
    assert all(set(r) == {"id", "survey_id", "version_id", "sealed"} for r in intake["response_intake"])
    assert "0701234567" not in repr(intake["response_intake"]) and "woman" not in repr(intake["response_intake"])
    opened = waiting(settings)
    # only the youth tables changed: no audit row, no session, nothing elsewhere
    changed = {name for name, rows in intake.items() if len(rows) != before[name]}
    # rate_count: the shared rate limits (keyed hashes of the address, per window; no time finer than
    # the window's start, deleted when the window is over)
    assert changed - {"rate_count"} == {"response_intake", "submission_nonce"}, changed
    assert all(r["last"] == r["window"] for r in intake["rate_count"]), intake["rate_count"]
    # then the release: the answers move into `response` and `response_count`; the intake is emptied
    release_all(settings)  # two answers: as an installation with B = 1 (batches: tests/analysis/test_calendar.py)
    after = _all_tables(settings)
    assert after["response_intake"] == [] and len(after["response"]) == 2
    assert {r["id"] for r in after["response"]}.isdisjoint(r["id"] for r in intake["response_intake"])
    # both states, waiting and released, hold nothing identifying
    for state in (intake, after):
        dump = repr({name: rows for name, rows in state.items() if name != "survey_code"})  # codes live there, unlinked
        assert IP not in repr(state["survey_code"]) and "OldPhone" not in repr(state["survey_code"])
        for leak in (IP, "OldPhone", "Android", "testclient", "0701234567", *codes, *(c.replace("-", "") for c in codes)):
            assert leak not in dump, leak
        responses = opened if state is intake else state["response"]
        assert len(responses) == 2
        assert {str(r["month"])[:2] for r in responses} == {"20"} and all(len(str(r["month"])) == 6 for r in responses)
        # the spent codes carry only a flag: which code unlocked which answer cannot be told
        spent = [c for c in state["survey_code"] if c["spent"]]
        assert len(spent) == 2 and set(spent[0]) == {"survey_id", "code", "spent", "pending"}
        # spent since the last release, until the release rewrites them
        assert all(c["pending"] for c in spent) == (state is intake)
        # the nonces that stop double submission are hashes with a month, nothing else
        nonces = state["submission_nonce"]
        assert len(nonces) == 2 and all(set(n) == {"nonce_hash", "month", "pending"} for n in nonces)
        response_values = {str(v) for r in responses for v in r.values()}
        assert not response_values & {n["nonce_hash"] for n in nonces}
    # the statistics' counts: two answers in one cell are one row saying 2, with nothing else
    counts = after["response_count"]
    assert [c["n"] for c in counts] == [2] and counts[0]["gender"] == "woman"
    # (the `_key` columns: running sums of the records' secret cell keys, analysis/cellkey.py)
    assert set(counts[0]) == {"survey_id", "version_id", "unit_id", "month", "gender", "age_band", "newly_arrived",
                              "disability", "n", "closer_k", "closer_n", "closer_dk", "useful_k", "useful_n",
                              "useful_dk", "n_key", "closer_k_key", "closer_n_key", "closer_dk_key", "useful_k_key",
                              "useful_n_key", "useful_dk_key"}
    # the access log writes nothing for a youth path: no moment, no IP, no user agent, no code
    log = "\n".join(rec.getMessage() for rec in caplog.records if rec.name == "youthvoice.access")
    assert f"/s/{s['slug']}" not in log
    for leak in (IP, "testclient", "OldPhone", *codes):
        assert leak not in log, leak


def test_form_state_is_not_stored_before_the_final_send(client, world, settings):
    s = published_survey(client, world)
    before = {name: len(rows) for name, rows in _all_tables(settings).items()}
    page = client.get(f"/s/{s['slug']}")
    from tests.survey.formwalk import post_screen

    post_screen(client, s["slug"], page.text, {"q_found_useful": "3", "q_gender": "man"})
    after = {name: len(rows) for name, rows in _all_tables(settings).items()}
    assert before == after
