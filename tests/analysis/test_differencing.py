"""No hidden count can be recovered by differencing, across every view the UI and API allow.

A synthetic data set with many small cells (three units, two years) is asked
for every period (years, terms, quarters) x every unit the user sees and "all
units" x every breakdown, by every user (colluding: their views are pooled).
Every published figure is one linear equation over the true atoms — the
counts per unit x quarter x gender x age band x newly arrived x disability x
achieved, built here from the data independently of the app's own audit. A
hidden cell (shown as suppressed although it holds someone) is recoverable by
differencing exactly when its vector lies in the span of the published ones.
Zero cells are shown as suppressed by the API (no n), so they are no equations.
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from tests.conftest import published_survey, raw_rows, run_db

pytestmark = pytest.mark.slow  # heavy: `make test-fast` leaves it out, `make test` runs it

YEARS = (2024, 2025)
PARTS = {"": (1, 2, 3, 4), "VT": (1, 2), "HT": (3, 4), "Q1": (1,), "Q2": (2,), "Q3": (3,), "Q4": (4,)}
GENDERS = ("woman", "man", "non_binary", "undisclosed")
AGES = ("16-19", "20-24", "undisclosed")
YN = ("yes", "no", "undisclosed")
SURVEY_DIMS = {"gender": GENDERS, "age_band": AGES, "newly_arrived": YN, "disability": YN}
EXIT_DIMS = {"gender": GENDERS, "age_band": AGES}
USERS = {"admin": ["unit-a", "unit-a2", "unit-b"], "pl_a": ["unit-a", "unit-a2"], "fac_a": ["unit-a"],
         "fac_b": ["unit-b"]}


def synthetic(seed: int = 7):
    """Survey answers and exits with many cells of 1-4."""
    rng = random.Random(seed)
    answers, exits = [], []
    for unit in ("unit-a", "unit-a2", "unit-b"):
        for year in YEARS:
            for month in range(1, 13):
                for _ in range(rng.choice([0, 1, 1, 2, 3, 4])):
                    answers.append(dict(
                        unit=unit, month=year * 100 + month,
                        gender=rng.choices(GENDERS, [40, 40, 8, 12])[0], age_band=rng.choice(AGES),
                        newly_arrived=rng.choices(YN, [25, 65, 10])[0], disability=rng.choices(YN, [20, 70, 10])[0],
                        closer=rng.choices([None, 0, 1, 2, 3, 4, 5], [8, 5, 5, 10, 15, 30, 27])[0],
                        useful=rng.choices([None, 0, 1, 2, 3, 4, 5], [8, 5, 5, 10, 15, 30, 27])[0]))
                for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
                    exits.append(dict(unit=unit, month=year * 100 + month,
                                      outcome=rng.choices(["work", "studies", "other"], [4, 3, 3])[0],
                                      gender=rng.choices(GENDERS, [45, 45, 4, 6])[0], age_band=rng.choice(AGES)))
    return answers, exits


def load(client, world, settings, answers, exits):
    from sqlalchemy import insert

    from analysis.models import Exit
    from survey.store import store_responses

    for unit, who in (("unit-a", "fac_a"), ("unit-a2", "pl_a"), ("unit-b", "fac_b")):
        published_survey(client, world, who=who, unit=unit)
    rows = raw_rows(settings, "SELECT s.id AS sid, v.id AS vid, u.slug AS unit, u.id AS uid FROM survey s "
                              "JOIN survey_version v ON v.survey_id = s.id JOIN unit u ON u.id = s.unit_id")
    by_unit = {r["unit"]: r for r in rows}

    async def go(db):
        await store_responses(db, [
            dict(survey_id=by_unit[a["unit"]]["sid"], version_id=by_unit[a["unit"]]["vid"],
                 unit_id=by_unit[a["unit"]]["uid"], month=a["month"], language="sv", answers={},
                 **{k: a[k] for k in ("gender", "age_band", "newly_arrived", "disability", "closer", "useful")})
            for a in answers])
        if exits:
            await db.execute(insert(Exit), [dict(unit_id=by_unit[e["unit"]]["uid"], month=e["month"],
                                                 outcome=e["outcome"], gender=e["gender"],
                                                 age_band=e["age_band"]) for e in exits])
        await db.commit()

    run_db(settings, go)


class Atoms:
    """The fully cross-classified atoms of one goal: unit x quarter x every breakdown x achieved."""

    def __init__(self, dims: dict[str, tuple[str, ...]], records: list[dict], year: int):
        self.names = list(dims)
        keys = list(itertools.product(("unit-a", "unit-a2", "unit-b"), (1, 2, 3, 4), *dims.values(), (0, 1)))
        index = {k: i for i, k in enumerate(keys)}
        cols = list(zip(*keys))
        self.unit, self.quarter, self.ach = np.array(cols[0]), np.array(cols[1]), np.array(cols[-1])
        self.cat = {d: np.array(cols[2 + i]) for i, d in enumerate(self.names)}
        # The true data as a vector of atom counts, so each figure's true value is v @ x.
        self.x = np.zeros(len(keys))
        for r in records:
            if r["month"] // 100 == year and r["_k"] is not None:
                self.x[index[(r["unit"], (r["month"] % 100 + 2) // 3, *(r[d] for d in self.names), r["_k"])]] += 1

    def vector(self, units, part, dim=None, cat=None, achieved_only=False) -> np.ndarray:
        mask = np.isin(self.unit, units) & np.isin(self.quarter, PARTS[part])
        if dim is not None:
            mask &= self.cat[dim] == cat
        if achieved_only:
            mask &= self.ach == 1
        return mask.astype(float)


@pytest.mark.parametrize("min_cell", [5])
def test_no_hidden_count_recoverable_by_differencing(client, world, settings, min_cell):
    answers, exits = synthetic()
    load(client, world, settings, answers, exits)
    records = {
        "closer": [{**a, "_k": None if a["closer"] is None else int(a["closer"] >= 4)} for a in answers],
        "useful": [{**a, "_k": None if a["useful"] is None else int(a["useful"] >= 4)} for a in answers],
        "work_or_studies": [{**e, "_k": int(e["outcome"] != "other")} for e in exits],
    }
    # (goal, year) -> list of (vector, value, hidden)
    eqs: dict[tuple[str, int], list] = {}
    atoms = {(g, y): Atoms(EXIT_DIMS if g == "work_or_studies" else SURVEY_DIMS, records[g], y)
             for g in records for y in YEARS}
    seen_hidden_nonzero = 0
    requests = 0
    for who, units in USERS.items():
        for unit in [*units, None]:
            view = units if unit is None else [unit]
            for year in YEARS:
                for part in PARTS:
                    period = f"{year}-{part}" if part else str(year)
                    q = f"?period={period}" + (f"&unit={unit}" if unit else "")
                    r = client.get("/api/stats/breakdowns" + q, headers=world.auth(who))
                    assert r.status_code == 200, r.text
                    requests += 1
                    for goal in r.json()["goals"]:
                        g = goal["goal"]
                        cells = [(None, None, goal)]
                        cells += [("gender", c, f) for c, f in goal["by_gender"].items()]
                        cells += [(d, c, f) for d, fs in goal["breakdowns"].items() for c, f in fs.items()]
                        for dim, cat, f in cells:
                            at = atoms[(g, year)]
                            vn = at.vector(view, part, dim, cat)
                            vk = at.vector(view, part, dim, cat, achieved_only=True)
                            n, k = int(vn @ at.x), int(vk @ at.x)
                            if f["verdict"] == "suppressed":
                                hidden = True
                                seen_hidden_nonzero += n > 0
                            else:
                                hidden = False
                                assert (f["n"], f["achieved"]) == (n, k), (who, unit, period, g, dim, cat)
                                assert n >= min_cell
                            eqs.setdefault((g, year), []).extend([(vn, n, hidden), (vk, k, hidden)])
                        p = goal["parity"]
                        if p["verdict"] != "suppressed":  # parity publishes women's and men's achieved counts
                            for cat, key in (("woman", "women"), ("man", "men")):
                                vk = atoms[(g, year)].vector(view, part, "gender", cat, achieved_only=True)
                                assert p[key] == int(vk @ atoms[(g, year)].x)
                                eqs[(g, year)].append((vk, p[key], False))
    assert requests == 2 * 7 * sum(len(u) + 1 for u in USERS.values())
    assert seen_hidden_nonzero > 50  # the data set really has small cells to protect
    leaks = []
    for (g, year), rows in eqs.items():
        published = np.array([v for v, _, hidden in rows if not hidden])
        # Null space of the published rows: a vector is derivable iff it is orthogonal to it.
        _, s, vt = np.linalg.svd(published, full_matrices=True)
        rank = int((s > 1e-9 * s.max()).sum())
        kernel = vt[rank:]
        for v, value, hidden in rows:
            if hidden and value > 0 and np.all(np.abs(kernel @ v) < 1e-8):
                leaks.append((g, year, value))
    assert not leaks, f"{len(leaks)} hidden cells can be worked out by differencing: {leaks[:5]}"


def test_term_minus_quarter_does_not_reveal_a_small_quarter(client, world, settings):
    """The classic case: 3 women answered in Q1 and 6 in Q2. Q1 is hidden, so the term
    and Q2 must not both show women's counts, or VT - Q2 = 3 gives them away."""
    answers = []
    for month, count in ((2, 3), (5, 6)):
        answers += [dict(unit="unit-a", month=202500 + month, gender="woman", age_band="16-19",
                         newly_arrived="no", disability="no", closer=5, useful=4) for _ in range(count)]
        answers += [dict(unit="unit-a", month=202500 + month, gender="man", age_band="16-19",
                         newly_arrived="no", disability="no", closer=5, useful=4) for _ in range(8)]
    load(client, world, settings, answers, [])

    def women(period):
        r = client.get(f"/api/stats/effect-goals?unit=unit-a&period={period}", headers=world.auth("fac_a"))
        return {g["goal"]: g for g in r.json()["goals"]}["closer"]["by_gender"]["woman"]

    assert women("2025-Q1")["verdict"] == "suppressed"
    vt, q2 = women("2025-VT"), women("2025-Q2")
    assert vt["verdict"] == "suppressed" or q2["verdict"] == "suppressed"
    # ...and the year minus its autumn term minus Q2 would give Q1 as well
    shown = {p for p in ("2025", "2025-HT", "2025-Q2") if women(p)["verdict"] != "suppressed"}
    assert shown != {"2025", "2025-HT", "2025-Q2"}
