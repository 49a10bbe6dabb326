import re

from tests.conftest import PASSWORD


def form_token(html: str) -> str:
    return re.search(r'name="_form" value="([^"]+)"', html).group(1)


def csrf_of(html: str) -> str:
    return re.search(r'name="_csrf" value="([^"]+)"', html).group(1)


def login(client, email, password=PASSWORD):
    page = client.get("/login")
    return client.post("/login", data={"_form": form_token(page.text), "email": email, "password": password,
                                       "next": "/"}, follow_redirects=False)


def test_staff_page_sends_anonymous_visitor_to_login(client, world):
    r = client.get("/", follow_redirects=False)
    assert r.status_code in (302, 303, 307)
    assert r.headers["location"].startswith("/login")


def test_login_sets_strict_session_cookie_and_renews_id(client, world):
    r = login(client, world.emails["fac_a"])
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "yv_session=" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    first = client.cookies.get("yv_session")
    home = client.get("/")
    assert home.status_code == 200 and "fac_a@test.example" in home.text
    r = login(client, world.emails["fac_a"])
    second = client.cookies.get("yv_session")
    assert first and second and first != second
    # the old session id no longer works
    client.cookies.set("yv_session", first)
    assert client.get("/", follow_redirects=False).status_code in (302, 303, 307)


def test_wrong_password_and_empty_fields_name_the_problem(client, world):
    r = login(client, world.emails["fac_a"], "wrong password here")
    assert r.status_code == 400 and "yv_session" not in r.headers.get("set-cookie", "")
    r = login(client, "", "whatever")
    assert r.status_code == 400 and "email" in r.text.lower() or "e-post" in r.text.lower()
    r = login(client, world.emails["fac_a"], "")
    assert r.status_code == 400


def test_login_without_form_token_is_refused(client, world):
    r = client.post("/login", data={"email": world.emails["fac_a"], "password": PASSWORD})
    assert r.status_code == 403
    assert "yv_session" not in client.cookies


def test_logout_needs_csrf_and_ends_session(client, world):
    login(client, world.emails["fac_a"])
    home = client.get("/")
    r = client.post("/logout", data={"_csrf": "forged"}, follow_redirects=False)
    assert r.status_code == 403
    assert client.get("/").status_code == 200
    r = client.post("/logout", data={"_csrf": csrf_of(home.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/", follow_redirects=False).status_code in (302, 303, 307)


def test_api_needs_a_valid_token(client, world):
    assert client.get("/api/units").status_code == 401
    assert client.get("/api/units", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_units_are_scoped_by_role(client, world):
    def slugs(who):
        r = client.get("/api/units", headers=world.auth(who))
        assert r.status_code == 200
        return sorted(u["slug"] for u in r.json())

    assert slugs("admin") == ["unit-a", "unit-a2", "unit-b"]
    assert slugs("pl_a") == ["unit-a", "unit-a2"]  # the whole agreement
    assert slugs("fac_a") == ["unit-a"]
    assert slugs("fac_b") == ["unit-b"]
    r = client.get("/api/units", headers=world.auth("fac_a"))
    assert r.json()[0] == {"slug": "unit-a", "name": "UNIT-A", "agreement": "agr-a"}
