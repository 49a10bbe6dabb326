def test_openapi_lists_contract_routes(client, world):
    r = client.get("/schema/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for p in ["/api/units", "/api/surveys", "/api/surveys/{survey_id}/publish", "/api/surveys/{survey_id}/codes",
              "/api/public/surveys/{slug}/responses", "/api/stats/effect-goals"]:
        assert p in paths, p


def test_strict_security_headers_on_pages(client, world):
    r = client.get("/login")
    h = r.headers
    assert "unsafe-inline" not in h["content-security-policy"]
    assert "frame-ancestors 'none'" in h["content-security-policy"]
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"
    assert h["cache-control"] == "no-store"


def test_language_switch_sets_only_lang_cookie_and_rtl(client, world):
    r = client.get("/login?lang=ar")
    assert 'dir="rtl"' in r.text and 'lang="ar"' in r.text
    assert r.headers["set-cookie"].startswith("lang=ar")
    r = client.get("/login")
    assert 'lang="ar"' in r.text  # remembered by the cookie
    r = client.get("/login?lang=xx")
    assert 'lang="ar"' in r.text


def test_unknown_page_is_404_not_500(client, world):
    assert client.get("/nope").status_code == 404
    assert client.get("/api/surveys/999999/publish").status_code in (404, 405)
