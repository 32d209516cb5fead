"""`GET /console` and its files: served by the app with a strict policy, a fixed list of names."""

from __future__ import annotations

import json
import re

import pytest

from chalicelib.api import console
from tests.helpers.paths import PROJECT_DIR

STATIC = PROJECT_DIR / "chalicelib" / "static" / "console"


def _policy(response) -> dict[str, list[str]]:
    directives = [part.strip().split() for part in response.headers["Content-Security-Policy"].split(";")]
    return {name: values for name, *values in directives}


def test_the_page_is_html_with_a_strict_policy(client):
    page = client.get("/console", headers={"Host": "127.0.0.1:8000"})
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-cache"
    policy = _policy(page)
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["base-uri"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in page.headers["Content-Security-Policy"]
    # the API, and the chat bridge of the local stage on the API's port + 1 (contract, section 10)
    assert policy["connect-src"] == ["'self'", "ws://127.0.0.1:8001"]
    # KYC documents are shown inline from the bucket the download links point at
    assert policy["img-src"][:3] == ["'self'", "data:", "blob:"] and len(policy["img-src"]) == 4
    assert policy["img-src"][3].startswith(("https://", "http://"))


def test_the_page_loads_nothing_from_elsewhere_and_nothing_inline():
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "style=" not in html and not re.search(r"\son[a-z]+=", html)
    assert "http://" not in html and "https://" not in html and 'src="//' not in html and 'href="//' not in html
    for path in STATIC.glob("*.js"):
        text = path.read_text(encoding="utf-8")
        assert "innerHTML" not in text and "eval(" not in text and "new Function" not in text, path.name
        assert "http://" not in text and "https://" not in text, path.name
        assert "sessionStorage." not in text and "document.cookie" not in text, path.name
        assert "localStorage." not in text or path.name == "app.js", path.name  # app.js: the device id only


def test_each_file_is_served_with_its_type_and_the_same_headers(client):
    assert {path.name for path in STATIC.iterdir()} == {"index.html", *console.ASSETS}
    for name, (path, media_type) in console.ASSETS.items():
        response = client.get(f"/console/{name}")
        assert response.status_code == 200, name
        assert response.headers["Content-Type"] == media_type
        assert response.body == path.read_bytes()
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "script-src 'self';" in response.headers["Content-Security-Policy"]
    assert client.get("/console/app.js").headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert client.get("/console/console.css").headers["Content-Type"] == "text/css; charset=utf-8"


@pytest.mark.parametrize(
    "name", ["nope.js", "index.html", "..%2F..%2Fapp.py", "..%2Fdocs%2Fdocs.js", "%2Fetc%2Fpasswd"]
)
def test_unknown_names_and_paths_outside_are_not_found(client, name):
    response = client.get(f"/console/{name}")
    assert response.status_code == 404
    assert json.loads(response.body)["error"]["code"] == "not_found"


def test_deployed_stages_name_no_local_bridge(deployed_client):
    page = deployed_client.get("/console", headers={"Host": "abc.execute-api.ap-southeast-1.amazonaws.com"})
    assert page.status_code == 200
    assert "ws://" not in page.headers["Content-Security-Policy"]


def test_every_text_the_scripts_use_exists_in_both_languages():
    source = (STATIC / "i18n.js").read_text(encoding="utf-8")
    english, chinese = (set(re.findall(r'^  "([a-z_.0-9]+)":', block, re.M)) for block in source.split("const ZH")[:2])
    assert english == chinese
    used = set()
    for path in [*STATIC.glob("*.js"), STATIC / "index.html"]:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'\bt\("([a-z_.0-9]+)"', text))
        used |= set(re.findall(r'data-i18n(?:-placeholder|-aria)?="([a-z_.0-9]+)"', text))
    assert used <= english, used - english


def test_a_configured_chat_socket_is_the_one_the_policy_names(deployed_client, monkeypatch):
    monkeypatch.setenv("OKPAY_WS_URL", "wss://ws.okpay.example/api")
    page = deployed_client.get("/console")
    assert "connect-src 'self' wss://ws.okpay.example;" in page.headers["Content-Security-Policy"]


def test_without_signing_credentials_the_page_still_loads_without_inline_documents(client, monkeypatch):
    from chalicelib.services.kyc import documents

    def no_credentials():
        raise RuntimeError("Unable to locate credentials")

    monkeypatch.setattr(documents, "download_origin", no_credentials)
    page = client.get("/console")
    assert page.status_code == 200
    assert "img-src 'self' data: blob:;" in page.headers["Content-Security-Policy"]
