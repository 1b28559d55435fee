"""Pure rules of a checkpoint's own data: the contact phone and the loan dates. No IO.

(Location rules are in ``geo``; the QR payload in ``qr``.)
"""

from __future__ import annotations

import re
from datetime import date

from inspection_api.errors import InvalidField

_SEPARATORS = re.compile(r"[\s\-()（）]+")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_SERVICE = re.compile(r"[48]00\d{7}")  # 400/800 service numbers
# Area codes: 010 and 02x have three digits, every other (03xx–09xx) four.
_AREA = r"0(?:10|2\d|[3-9]\d{2})"
_LANDLINE = re.compile(rf"({_AREA})(\d{{7,8}})")
_AREA_ONLY = re.compile(_AREA)
_LOCAL = re.compile(r"\d{7,8}")
_EXTENSION = re.compile(r"\d{1,6}")


def normalize_phone(value: str, field: str = "body.contact_phone") -> str:
    """One spelling of a Chinese phone number, or InvalidField naming ``field``.

    Accepted: a mobile (11 digits, 13x–19x), a landline with its area code (010, 02x or
    0xxx, then 7–8 digits; an extension after a third separator) or a 400/800 number; a
    +86/0086 prefix and spaces, hyphens or brackets anywhere. Results look like
    ``13912345678``, ``0311-87654321``, ``0311-87654321-123``, ``400-810-8888``. Empty
    stays empty (the contact phone is optional).
    """
    text = value.strip()
    if not text:
        return ""
    for prefix in ("+86", "0086"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    compact = _SEPARATORS.sub("", text)
    if _MOBILE.fullmatch(compact):
        return compact
    if _SERVICE.fullmatch(compact):
        return f"{compact[:3]}-{compact[3:6]}-{compact[6:]}"
    parts = [part for part in _SEPARATORS.split(text) if part]
    landline = None
    if len(parts) == 1 and (match := _LANDLINE.fullmatch(parts[0])):
        landline = f"{match[1]}-{match[2]}"
    elif len(parts) in (2, 3) and _AREA_ONLY.fullmatch(parts[0]) and _LOCAL.fullmatch(parts[1]):
        landline = f"{parts[0]}-{parts[1]}"
        if len(parts) == 3:
            landline = f"{landline}-{parts[2]}" if _EXTENSION.fullmatch(parts[2]) else None
    if landline is None and (match := _LANDLINE.fullmatch(compact)):
        landline = f"{match[1]}-{match[2]}"  # spaced in groups, e.g. "0311 8765 4321"
    if landline is None:
        raise InvalidField(
            field,
            "应为手机号（11 位）或带区号的座机号，例如 13912345678、0311-87654321",
            "must be a mobile number (11 digits) or a landline with area code, "
            "e.g. 13912345678, 0311-87654321",
        )
    return landline


def check_loan_dates(loan_date: date | None, maturity_date: date | None, field: str) -> None:
    """到期日 is never before 放款日期 (either may be unknown)."""
    if loan_date and maturity_date and maturity_date < loan_date:
        raise InvalidField(
            field,
            f"到期日（{maturity_date}）不能早于放款日期（{loan_date}）",
            f"maturity date {maturity_date} is before the loan date {loan_date}",
        )


def check_exit_date(exit_date: date, loan_date: date | None, today: date) -> None:
    """退出日期 has happened (today in Beijing at the latest) and is not before 放款日期 (the
    loan date itself is fine: a loan settled or discounted the day it was granted). It may
    be before the checkpoint was registered: a bank registers loans settled before."""
    if exit_date > today:
        raise InvalidField(
            "body.date",
            f"退出日期（{exit_date}）不能晚于今天（{today}）",
            f"the exit date {exit_date} is after today ({today}, Beijing)",
        )
    if loan_date and exit_date < loan_date:
        raise InvalidField(
            "body.date",
            f"退出日期（{exit_date}）不能早于放款日期（{loan_date}）",
            f"the exit date {exit_date} is before the loan date {loan_date}",
        )


def check_loan_date_before_exit(loan_date: date | None, exit_date: date | None) -> None:
    """An exit point's 放款日期 cannot move after its 退出日期."""
    if loan_date and exit_date and exit_date < loan_date:
        raise InvalidField(
            "body.loan_date",
            f"放款日期（{loan_date}）不能晚于退出日期（{exit_date}）",
            f"the loan date {loan_date} is after the exit date {exit_date}",
        )
