"""The console signs people in through a real OpenID Connect provider over HTTP: oidc-provider-mock (authlib's
server classes under Flask) in a thread, with a thin WSGI layer that checks PKCE (S256) as Keycloak does - the mock
itself does not. The console runs in-process; its calls to the provider are real HTTP."""

from __future__ import annotations

import io
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import werkzeug.serving
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from oidc_provider_mock import User
from oidc_provider_mock import app as provider_app

from services.console.apis import Apis
from services.console.bootstrap import build
from services.console.security import SESSION_COOKIE
from tests.conftest import settings_for
from tests.console.conftest import csrf
from tests.console.fakes import URLS

OFFICIAL = User(sub="chu.tich", claims={"name": "Chủ tịch phường", "ward": "phu-son", "roles": ["ward_official"]})
NOBODY = User(sub="khach", claims={"name": "Khách"})  # no roles or ward: the realm's mappers missing


class PkceCheck:
    """Remembers each code's S256 challenge at the authorization endpoint; the token endpoint refuses a code
    whose verifier does not hash to it (RFC 7636 4.6), or an authorization request without S256."""

    def __init__(self, app) -> None:
        self.app = app
        self.challenges: dict[str, str] = {}

    def __call__(self, environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/oauth2/token":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            form = parse_qs(body.decode())
            if "code" in form:
                challenge = self.challenges.get(form["code"][0])
                verifier = form.get("code_verifier", [""])[0]
                if challenge is None or create_s256_code_challenge(verifier) != challenge:
                    start_response("400 Bad Request", [("Content-Type", "application/json")])
                    return [b'{"error": "invalid_grant", "error_description": "PKCE verification failed"}']
        if path == "/oauth2/authorize" and environ["REQUEST_METHOD"] == "POST":
            query = parse_qs(environ["QUERY_STRING"])
            if query.get("code_challenge_method") != ["S256"] or not query.get("code_challenge"):
                start_response("400 Bad Request", [("Content-Type", "text/plain")])
                return [b"PKCE S256 required"]
            challenge = query["code_challenge"][0]

            def remember(status, headers, exc_info=None):
                code = parse_qs(urlsplit(dict(headers).get("Location", "")).query).get("code")
                if code:
                    self.challenges[code[0]] = challenge
                return start_response(status, headers, exc_info)

            return self.app(environ, remember)
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    flask_app = provider_app(require_nonce=True, user_claims=[OFFICIAL, NOBODY],
                             access_token_max_age=timedelta(minutes=5))
    flask_app.wsgi_app = PkceCheck(flask_app.wsgi_app)
    server = werkzeug.serving.make_server("127.0.0.1", 0, flask_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture
async def oidc_console(console_db, services, provider) -> AsyncIterator[tuple[httpx.AsyncClient, object]]:
    # a confidential client (client_secret_basic): the mock's code grant takes no public client (auth method
    # "none", as Keycloak's ward-console client is); test_a_public_client_sends_no_secret covers that request
    settings = settings_for("console", console_db, None, console_oidc_issuer=provider,
                            console_oidc_client_id="ward-console", console_oidc_client_secret="console-secret",
                            console_oidc_name="Cổng dịch vụ công Hà Nội")
    app = build(settings, apis=Apis(URLS, transport=services.transport()))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://console.test") as client:
        client.headers["accept-language"] = "vi"
        yield client, app


async def _at_provider(authorize_url: str, sub: str) -> dict[str, str]:
    """The person signs in at the provider (the mock's form: choose the subject); answers the callback's query."""
    async with httpx.AsyncClient() as browser:
        r = await browser.post(authorize_url, data={"sub": sub})
    assert r.status_code == 302, r.text
    location = urlsplit(r.headers["location"])
    assert location.path == "/sign-in/oidc/callback"
    return {k: v[0] for k, v in parse_qs(location.query).items()}


async def _begin(client: httpx.AsyncClient) -> str:
    r = await client.get("/sign-in/oidc")
    assert r.status_code == 303
    return r.headers["location"]


async def test_sign_in_through_the_provider_with_pkce_then_refresh_and_sign_out(oidc_console, provider):
    client, app = oidc_console
    page = await client.get("/sign-in")
    assert "Đăng nhập bằng Cổng dịch vụ công Hà Nội" in page.text and 'href="/sign-in/oidc"' in page.text
    anonymous = client.cookies[SESSION_COOKIE]

    authorize = await _begin(client)
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(provider + "/oauth2/authorize?")
    assert query["code_challenge_method"] == ["S256"] and query["response_type"] == ["code"]
    assert query["client_id"] == ["ward-console"] and query["nonce"] and query["state"]
    assert query["redirect_uri"] == ["https://console.test/sign-in/oidc/callback"]
    # the state, nonce and verifier are in the server-side session only: the cookie is the same random id
    assert client.cookies[SESSION_COOKIE] == anonymous
    assert query["state"][0] not in str(client.cookies) and query["nonce"][0] not in str(client.cookies)

    back = await _at_provider(authorize, OFFICIAL.sub)
    r = await client.get("/sign-in/oidc/callback", params=back)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"
    assert client.cookies[SESSION_COOKIE] != anonymous  # a new session id once signed in
    sessions = app.state.sessions
    from services.console.pages import now
    session = await sessions.load(client.cookies[SESSION_COOKIE], now())
    assert session.signed_in and session.data["roles"] == ["ward_official"]
    assert (session.data["ward_id"], session.data["name"], session.data["via"]) == ("phu-son", "Chủ tịch phường",
                                                                                   "oidc")
    dashboard = await client.get("/dashboard")
    assert dashboard.status_code == 200 and "Chủ tịch phường" in dashboard.text

    # the code works once: the same callback again is refused (the state was spent with it)
    replay = await client.get("/sign-in/oidc/callback", params=back)
    assert replay.status_code == 400

    # refresh at the provider's token endpoint when the access token is about to expire
    fresh = await sessions.fresh(session, now() + timedelta(minutes=10))
    assert fresh is not None and fresh.data["access_token"] != session.data["access_token"]
    assert fresh.data["roles"] == ["ward_official"]

    # sign-out ends the session here and sends the browser to the provider's end-session endpoint
    r = await client.post("/sign-out", data={"csrf_token": csrf(dashboard.text)})
    assert r.status_code == 303
    end = urlsplit(r.headers["location"])
    assert f"{end.scheme}://{end.netloc}" == provider and end.path == "/oauth2/end_session"
    assert parse_qs(end.query)["post_logout_redirect_uri"] == ["https://console.test/sign-in"]
    assert (await client.get("/dashboard")).headers["location"] == "/sign-in"


async def test_a_wrong_state_or_a_replayed_code_is_refused(oidc_console):
    client, app = oidc_console
    authorize = await _begin(client)
    back = await _at_provider(authorize, OFFICIAL.sub)
    wrong = await client.get("/sign-in/oidc/callback", params={**back, "state": "someone-elses-state"})
    assert wrong.status_code == 400 and "Bắt đầu lại" in wrong.text
    # the pending sign-in was spent by the wrong attempt: the right state no longer works either
    assert (await client.get("/sign-in/oidc/callback", params=back)).status_code == 400
    assert (await client.get("/dashboard")).headers["location"] == "/sign-in"

    # a code already exchanged, presented with a new sign-in's state: the provider refuses it
    first = await _at_provider(await _begin(client), OFFICIAL.sub)
    assert (await client.get("/sign-in/oidc/callback", params=first)).status_code == 303
    await client.post("/sign-out", data={"csrf_token": csrf((await client.get("/dashboard")).text)})
    second = parse_qs(urlsplit(await _begin(client)).query)["state"][0]
    replay = await client.get("/sign-in/oidc/callback", params={**first, "state": second})
    assert replay.status_code == 400
    assert (await client.get("/dashboard")).headers["location"] == "/sign-in"


async def test_an_id_token_without_the_wards_claims_signs_nobody_in(oidc_console):
    client, _ = oidc_console
    back = await _at_provider(await _begin(client), NOBODY.sub)
    r = await client.get("/sign-in/oidc/callback", params=back)
    assert r.status_code == 400
    assert (await client.get("/dashboard")).headers["location"] == "/sign-in"


async def test_only_the_provider_when_configured_so(console_db, services, provider):
    settings = settings_for("console", console_db, None, console_oidc_issuer=provider,
                            console_oidc_client_id="ward-console", console_oidc_only=True)
    app = build(settings, apis=Apis(URLS, transport=services.transport()))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://console.test") as client:
        page = await client.get("/sign-in")
        assert 'href="/sign-in/oidc"' in page.text and 'name="password"' not in page.text
        r = await client.post("/sign-in", data={"csrf_token": csrf(page.text), "username": "a", "password": "b"})
        assert r.status_code == 303 and r.headers["location"] == "/sign-in/oidc"
        assert services.calls == []  # identity was not asked


async def test_a_public_client_sends_no_secret_and_the_pkce_verifier(console_db):
    """Keycloak's ward-console client is public: the code is exchanged with client_id and code_verifier only."""
    seen: list[httpx.Request] = []
    issuer = "https://id.city.test/realms/ward"

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/openid-configuration"):
            return httpx.Response(200, json={"issuer": issuer, "authorization_endpoint": issuer + "/auth",
                                             "token_endpoint": issuer + "/token", "jwks_uri": issuer + "/certs"})
        return httpx.Response(400, json={"error": "invalid_grant"})

    from services.console.oidc import Oidc, OidcRefused
    settings = settings_for("console", console_db, None, console_oidc_issuer=issuer,
                            console_oidc_client_id="ward-console")
    oidc = Oidc(settings, transport=httpx.MockTransport(answer))
    try:
        url, pending = await oidc.begin("http://127.0.0.1:8008/sign-in/oidc/callback")
        assert parse_qs(urlsplit(url).query)["code_challenge"] == [create_s256_code_challenge(pending["verifier"])]
        with pytest.raises(OidcRefused):
            await oidc.finish(pending, {"state": pending["state"], "code": "c-1"})
    finally:
        await oidc.close()
    token = parse_qs(seen[-1].content.decode())
    assert "authorization" not in seen[-1].headers
    assert token["client_id"] == ["ward-console"] and token["code_verifier"] == [pending["verifier"]]
    assert token["grant_type"] == ["authorization_code"] and "client_secret" not in token


def test_a_provider_error_in_the_callback_reaches_the_log_only_as_a_known_code():
    """The callback's query comes from the browser: an `error` value outside RFC 6749's codes is not logged."""
    import asyncio

    from services.console.oidc import Oidc, OidcRefused

    oidc = Oidc.__new__(Oidc)
    for sent, said in (("access_denied", "access_denied"), ("CCCD 001203004005", "an unknown error")):
        try:
            asyncio.run(oidc.finish({"state": "s"}, {"state": "s", "error": sent}))
        except OidcRefused as exc:
            assert str(exc) == f"the provider answered {said}"
        else:
            raise AssertionError("not refused")
