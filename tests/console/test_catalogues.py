"""The catalogues and formats, without I/O."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from services.console import i18n
from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]


def test_every_string_of_the_console_is_translated_into_vietnamese(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([Path(sys.executable).parent / "pybabel", "-q", "extract", "-F", "babel.cfg", "-o", str(pot), "."],
                   cwd=ROOT, check=True)
    wanted = {m.id for m in read_po(pot.open("rb")) if m.id}
    vi = {m.id: m.string for m in read_po((i18n.LOCALES / "vi/LC_MESSAGES/messages.po").open("rb")) if m.id}
    assert wanted - set(vi) == set(), "run pybabel update (docs/console.md) and translate"
    assert [k for k in wanted if not vi[k]] == []
    assert "Đăng nhập" in i18n.load_translations()["vi"].gettext("Sign in")  # the .mo is compiled and current


def test_money_and_dates_are_written_as_in_vietnam_and_english_on_request():
    assert i18n.money(35_250_000, "vi") == "35.250.000\xa0₫"
    assert i18n.day(date(2024, 8, 13), "vi") == "13/08/2024"
    assert i18n.day("2024-08-12T18:30:00+00:00", "vi") == "13/08/2024"  # in the ward's time zone
    assert i18n.money(35_250_000, "en") == "₫35,250,000"


@pytest.mark.parametrize(("cookie", "accept", "expected"), [
    (None, None, "vi"), (None, "en-GB,en;q=0.8", "en"), ("vi", "en", "vi"), ("xx", "fr", "vi")])
def test_vietnamese_unless_the_person_or_their_browser_chose_english(cookie, accept, expected):
    assert i18n.choose_language(cookie, accept) == expected


def test_production_refuses_the_development_console_key():
    with pytest.raises(ValueError, match="CONSOLE_KEY"):
        ServiceSettings(service_name="console", environment="production",
                        database_url="postgresql://console:secret@db/ward")
