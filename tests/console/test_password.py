"""/password: a person sets their password with the reset code an official gave; an official (second factor) sees
the enrolment once - a QR code as a data: image and the key as text - and confirms it with a first code, which
signs them in."""

from __future__ import annotations

from urllib.parse import unquote

from tests.console.conftest import csrf
from tests.console.fakes import CODE, RESET_CODE, TOTP_SECRET, USERNAME

NEW = "a brand new long password"


async def test_set_the_password_see_the_enrolment_and_confirm_it_with_a_first_code(console, services):
    page = await console.get("/password")
    assert page.status_code == 200 and 'name="reset_code"' in page.text
    token = csrf(page.text)
    form = {"csrf_token": token, "username": USERNAME, "reset_code": RESET_CODE, "new_password": NEW, "again": NEW}

    short = await console.post("/password", data={**form, "new_password": "short", "again": "short"})
    assert short.status_code == 422 and "12" in short.text
    differ = await console.post("/password", data={**form, "again": NEW + "!"})
    assert differ.status_code == 422
    wrong = await console.post("/password", data={**form, "reset_code": "not-the-code"})
    assert wrong.status_code == 422 and "mã đặt lại" in wrong.text.lower()
    assert ("identity", "/v1/password", None) in services.calls

    enrol = await console.post("/password", data=form)
    assert enrol.status_code == 200
    assert TOTP_SECRET in enrol.text  # the key as text
    qr = enrol.text.split('src="data:image/svg+xml', 1)[1].split('"', 1)[0]
    assert "<svg" in unquote(qr) and 'alt="' in enrol.text  # the QR code, an image with a text alternative
    assert "style=" not in enrol.text and "<script>" not in enrol.text  # the CSP: nothing inline
    assert 'action="/sign-in/code"' in enrol.text

    done = await console.post("/sign-in/code", data={"csrf_token": csrf(enrol.text), "code": CODE})
    assert done.status_code == 303 and done.headers["location"] == "/dashboard"
    assert services.password == NEW
    assert (await console.get("/dashboard")).status_code == 200


async def test_the_form_without_its_csrf_token_is_refused(console, services):
    await console.get("/password")
    r = await console.post("/password", data={"username": USERNAME, "reset_code": RESET_CODE, "new_password": NEW,
                                              "again": NEW})
    assert r.status_code == 403 and not any(p == "/v1/password" for _, p, _ in services.calls)
