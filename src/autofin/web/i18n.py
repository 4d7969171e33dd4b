"""Text and number formatting of the web pages in ``en`` and ``zh-CN``.

**Messages.** Every visible text of the pages is a message key looked up in the YAML files of
``autofin/web/messages/`` (one file per area of the site: ``common.yaml``, ``dealer.yaml``, …). Each key
maps to ``{en: …, zh-CN: …}``; both languages are required, a key defined in two files is an error, and
both are checked when the catalogue loads (so a missing translation fails the tests, not a customer's
page). Messages may carry ``{name}`` placeholders, filled by :meth:`Messages.text`.

**Numbers, money and dates** are formatted by Babel with the CLDR conventions of the locale
(``zh_CN`` / ``en``): grouping, decimal sign, currency symbol. Money stays :class:`~decimal.Decimal` to
the end; rates arrive as annual decimals (``0.0599``) and are shown as percents.

**Language choice** (:func:`negotiate`): ``?lang=`` in the URL, else the ``lang`` cookie (set by the
language switch), else the browser's ``Accept-Language``; anything else is English.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from typing import Final, Literal, cast

import yaml
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent

from autofin.errors import ValidationError

Lang = Literal["en", "zh-CN"]
LANGS: Final[tuple[Lang, ...]] = ("en", "zh-CN")
#: Babel locale of each language.
LOCALES: Final[Mapping[Lang, str]] = {"en": "en", "zh-CN": "zh_CN"}
#: Name of the cookie that keeps the chosen language.
LANG_COOKIE: Final = "lang"


def as_lang(value: str | None) -> Lang | None:
    """``value`` as a supported language (``zh``, ``zh-cn``, ``zh-Hans`` → ``zh-CN``), or ``None``."""
    if not value:
        return None
    tag = value.strip().lower()
    if tag == "zh" or tag.startswith("zh-") or tag.startswith("zh_"):
        return "zh-CN"
    if tag == "en" or tag.startswith("en-") or tag.startswith("en_"):
        return "en"
    return None


def negotiate(query: str | None, cookie: str | None, accept_language: str | None) -> Lang:
    """The page language: the query's, else the cookie's, else the preferred of ``Accept-Language``."""
    from autofin.api.routes import preferred_lang

    return as_lang(query) or as_lang(cookie) or preferred_lang(accept_language)


class Messages:
    """The message catalogue: key → text per language (see the module docstring)."""

    def __init__(self, texts: Mapping[str, Mapping[Lang, str]]) -> None:
        self.texts = texts

    @classmethod
    def from_yaml(cls, files: Mapping[str, str]) -> Messages:
        """Merge the YAML documents ``files`` (file name → text); errors name the file and key."""
        texts: dict[str, dict[Lang, str]] = {}
        where: dict[str, str] = {}
        for name in sorted(files):
            data = yaml.safe_load(files[name]) or {}
            if not isinstance(data, dict):
                raise ValidationError(name, type(data).__name__, "must map message keys to texts")
            for key, value in data.items():
                field = f"{name}:{key}"
                if key in texts:
                    raise ValidationError(field, key, f"is already defined in {where[key]}")
                if not isinstance(value, dict) or set(value) != set(LANGS):
                    raise ValidationError(field, value, "must give exactly the texts en and zh-CN")
                if not all(isinstance(value[lang], str) and value[lang] for lang in LANGS):
                    raise ValidationError(field, value, "texts must be non-empty strings")
                texts[str(key)] = {lang: cast(str, value[lang]) for lang in LANGS}
                where[str(key)] = name
        return cls(texts)

    def text(self, key: str, lang: Lang, /, **values: object) -> str:
        """The text of ``key`` in ``lang`` with ``values`` filled in; an unknown key raises ``KeyError``
        (a page must not show a key to a customer; the page tests render every page)."""
        template = self.texts[key][lang]
        return template.format(**values) if values else template


@functools.cache
def messages() -> Messages:
    """The catalogue of the installed package's ``messages/*.yaml`` (read once)."""
    folder = resources.files("autofin.web") / "messages"
    files = {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    }
    return Messages.from_yaml(files)


def money(amount: Decimal | str | None, currency: str, lang: Lang) -> str:
    """``amount`` (major units) in ``currency`` as the locale writes it (``¥179,800.00``,
    ``CN¥179,800.00`` in English); ``—`` when absent."""
    if amount is None or amount == "":
        return "—"
    return format_currency(Decimal(amount), currency, locale=LOCALES[lang])


def number(value: Decimal | float | int | str | None, lang: Lang, digits: int = 0) -> str:
    """A plain number with the locale's grouping and ``digits`` decimals."""
    if value is None or value == "":
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(Decimal(str(value)), format=pattern, locale=LOCALES[lang])


def percent(rate: Decimal | float | str | None, lang: Lang, digits: int = 2) -> str:
    """An annual decimal rate as a percent with ``digits`` decimals (``0.0599`` → ``5.99%``)."""
    if rate is None or rate == "":
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "") + "%"
    return format_percent(Decimal(str(rate)), format=pattern, locale=LOCALES[lang])


def day(value: date | datetime | str | None, lang: Lang) -> str:
    """A date (or the date and time of a timestamp) in the locale's medium format."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        return format_datetime(value, format="medium", locale=LOCALES[lang])
    return format_date(value, format="medium", locale=LOCALES[lang])
