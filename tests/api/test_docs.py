"""`GET /docs`: Swagger UI on this API's document, served by the app from a vendored, pinned copy."""

from __future__ import annotations

from tests.helpers.browser import chromium_page
from tests.helpers.node_tools import TOOLS_DIR
from tests.helpers.paths import PROJECT_DIR

VENDORED = PROJECT_DIR / "chalicelib" / "static" / "swagger-ui"
PACKAGE = TOOLS_DIR / "node_modules" / "swagger-ui-dist"
SCREENSHOTS = PROJECT_DIR / "build" / "screenshots"


def test_the_vendored_files_are_the_pinned_package_byte_for_byte():
    import json

    pinned = json.loads((TOOLS_DIR / "package.json").read_text())["devDependencies"]["swagger-ui-dist"]
    assert json.loads((PACKAGE / "package.json").read_text())["version"] == pinned
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE"):
        assert (VENDORED / name).read_bytes() == (PACKAGE / name).read_bytes(), name


def test_the_page_and_its_files_are_served_with_a_strict_policy(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "default-src 'none'" in policy
    assert "https:" not in page.body.decode() and "//" not in page.body.decode().replace("<!doctype", "")
    for asset, media_type in (("swagger-ui-bundle.js", "text/javascript"), ("swagger-ui.css", "text/css")):
        response = client.get(f"/docs/{asset}")
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith(media_type)
        assert response.body == (VENDORED / asset).read_bytes()
    missing = client.get("/docs/..%2F..%2Fapp.py")
    assert missing.status_code == 404


def test_the_reference_renders_in_a_browser_from_this_origin_only(live_stage):
    outside, problems = [], []
    with chromium_page() as page:
        page.on(
            "request", lambda request: None if request.url.startswith(live_stage.base) else outside.append(request.url)
        )
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(f"{live_stage.base}/docs")
        page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
        assert "Okpay wallet API" in page.inner_text(".swagger-ui .info .title")
        page.wait_for_selector("#operations-transfers-post_transfers", timeout=30_000)
        page.click("#operations-transfers-post_transfers .opblock-summary")
        page.wait_for_selector("#operations-transfers-post_transfers .responses-table", timeout=30_000)
        responses = page.inner_text("#operations-transfers-post_transfers .responses-table")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)  # build/ is not committed: for a person to look at
        page.screenshot(path=str(SCREENSHOTS / "docs.png"), full_page=False)
    assert "202" in responses and "limit_exceeded" in responses
    assert outside == []  # no CDN, no validator badge, no fonts from elsewhere
    assert problems == []
