"""Languages: gettext catalogues (Babel), and dates and money in the person's language.

Vietnamese is the default; English is available. The source strings are English (templates and ``messages.py``);
``locales/<lang>/LC_MESSAGES/messages.po`` are committed and compiled to ``.mo`` by ``make install`` (and the image
build): ``pybabel compile -d services/console/locales``. ``babel.cfg`` at the repository root says what
``pybabel extract`` reads.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations

from shared.clock import WARD_TZ

LOCALES = Path(__file__).parent / "locales"
LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
#: How a date is written: 13/08/2024 in Vietnamese (what people write on forms), CLDR's medium form in English.
DATE_PATTERNS = {"vi": "dd/MM/yyyy", "en": "medium"}


def load_translations() -> dict[str, NullTranslations]:
    """Each language's compiled catalogue. A missing ``.mo`` is an installation fault, said at start-up."""
    out: dict[str, NullTranslations] = {}
    for lang in LANGUAGES:
        mo = LOCALES / lang / "LC_MESSAGES" / "messages.mo"
        if not mo.exists():
            raise RuntimeError(f"{mo} is missing: compile the catalogues (`make install` does it)")
        with mo.open("rb") as fp:
            out[lang] = Translations(fp, domain="messages")
    return out


def choose_language(cookie: str | None, accept_language: str | None) -> str:
    """The language the person chose (cookie), else the first of ours their browser asks for, else Vietnamese."""
    if cookie in LANGUAGES:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return DEFAULT_LANGUAGE


def money(amount_vnd: int, lang: str) -> str:
    """35.250.000 ₫ in Vietnamese; ₫35,250,000 in English (Babel, CLDR)."""
    return format_currency(amount_vnd, "VND", locale="vi_VN" if lang == "vi" else "en")


def number(value: int, lang: str) -> str:
    return format_decimal(value, locale=lang)


def day(value: date | datetime | str | None, lang: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(WARD_TZ).date()
    return format_date(value, DATE_PATTERNS[lang], locale=lang)
