"""Checkpoint rules without IO: contact phone spellings, loan dates, and the signed QR
payload (round trip, tampering, other keys, label URLs)."""

from __future__ import annotations

import io
from datetime import date

import pytest
import zxingcpp
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from inspection_api.checkpoints import qr
from inspection_api.checkpoints.errors import QrInvalid
from inspection_api.checkpoints.rules import (
    check_exit_date,
    check_loan_date_before_exit,
    check_loan_dates,
    normalize_phone,
)
from inspection_api.errors import InvalidField

KEY = "unit-test-secret-" + "k" * 32


@pytest.mark.parametrize(
    ("given_", "stored"),
    [
        ("13912345678", "13912345678"),
        ("139 1234 5678", "13912345678"),
        ("+86 139-1234-5678", "13912345678"),
        ("008613912345678", "13912345678"),
        ("0311-87654321", "0311-87654321"),
        ("(0311) 8765432", "0311-8765432"),
        ("（0311）87654321", "0311-87654321"),
        ("031187654321", "0311-87654321"),
        ("0311 8765 4321", "0311-87654321"),
        ("010-12345678", "010-12345678"),
        ("02112345678", "021-12345678"),
        ("0311-87654321-123", "0311-87654321-123"),
        ("400 810 8888", "400-810-8888"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_phone_numbers_are_stored_in_one_spelling(given_: str, stored: str):
    assert normalize_phone(given_) == stored


@pytest.mark.parametrize(
    "bad",
    [
        "12345678901",
        "1391234567",
        "139123456789",
        "87654321",
        "0311-123",
        "hello",
        "0311-87654321-1234567",
    ],
)
def test_other_numbers_are_refused_naming_the_field(bad: str):
    with pytest.raises(InvalidField) as refused:
        normalize_phone(bad)
    error = refused.value.errors[0]
    assert error.field == "body.contact_phone"
    assert error.zh.startswith("应为手机号（11 位）或带区号的座机号")


def test_maturity_is_never_before_the_loan_date():
    check_loan_dates(date(2025, 1, 1), date(2025, 1, 1), "body.maturity_date")
    check_loan_dates(None, date(2020, 1, 1), "body.maturity_date")
    with pytest.raises(InvalidField) as refused:
        check_loan_dates(date(2025, 1, 2), date(2025, 1, 1), "body.maturity_date")
    assert refused.value.errors[0].zh == "到期日（2025-01-01）不能早于放款日期（2025-01-02）"


def test_exit_dates_are_today_or_earlier_and_not_before_the_loan():
    today, loan = date(2026, 12, 4), date(2025, 9, 1)
    check_exit_date(today, loan, today)  # today: accepted
    check_exit_date(loan, loan, today)  # the loan date itself: accepted
    check_exit_date(date(1990, 1, 1), None, today)  # no loan date: no lower bound known
    refusals = [
        (date(2026, 12, 5), "退出日期（2026-12-05）不能晚于今天（2026-12-04）"),
        (date(2099, 1, 1), "退出日期（2099-01-01）不能晚于今天（2026-12-04）"),
        (date(2025, 8, 31), "退出日期（2025-08-31）不能早于放款日期（2025-09-01）"),
        (date(1990, 1, 1), "退出日期（1990-01-01）不能早于放款日期（2025-09-01）"),
    ]
    for day, message in refusals:
        with pytest.raises(InvalidField) as refused:
            check_exit_date(day, loan, today)
        error = refused.value.errors[0]
        assert (error.field, error.zh) == ("body.date", message)


def test_an_exit_points_loan_date_cannot_move_after_its_exit():
    exit_on = date(2026, 5, 20)
    check_loan_date_before_exit(exit_on, exit_on)
    check_loan_date_before_exit(date(2027, 1, 1), None)  # not an exit point
    check_loan_date_before_exit(None, exit_on)
    with pytest.raises(InvalidField) as refused:
        check_loan_date_before_exit(date(2026, 5, 21), exit_on)
    error = refused.value.errors[0]
    assert (error.field, error.zh) == (
        "body.loan_date",
        "放款日期（2026-05-21）不能晚于退出日期（2026-05-20）",
    )


ids = st.integers(min_value=1, max_value=9_999_999_999)
generations = st.integers(min_value=1, max_value=9_999)


@given(checkpoint_id=ids, generation=generations)
def test_a_signed_payload_verifies_to_what_it_names(checkpoint_id: int, generation: int):
    payload = qr.sign(KEY, checkpoint_id, generation)
    assert payload.startswith(f"1.{checkpoint_id}.{generation}.")
    ref = qr.verify(KEY, payload)
    assert (ref.checkpoint_id, ref.generation) == (checkpoint_id, generation)
    url = qr.label_url("https://loancheck.bank.example", payload)
    assert qr.verify(KEY, url) == ref
    assert qr.verify(KEY, f"  {url}/  ") == ref  # what a scanner may add


@given(checkpoint_id=ids, generation=generations, data=st.data())
def test_any_changed_character_is_refused(checkpoint_id: int, generation: int, data: st.DataObject):
    payload = qr.sign(KEY, checkpoint_id, generation)
    index = data.draw(st.integers(min_value=0, max_value=len(payload) - 1))
    replacement = data.draw(
        st.sampled_from("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.")
    )
    forged = payload[:index] + replacement + payload[index + 1 :]
    if forged == payload:
        return
    with pytest.raises(QrInvalid):
        qr.verify(KEY, forged)


def test_other_keys_versions_and_shapes_are_refused():
    payload = qr.sign(KEY, 42, 3)
    _, checkpoint, generation, signature = payload.split(".")
    for text in [
        qr.sign("another-installation-" + "k" * 32, 42, 3),
        f"2.{checkpoint}.{generation}.{signature}",
        f"1.43.{generation}.{signature}",
        f"1.{checkpoint}.4.{signature}",
        payload + "x",
        "https://loancheck.bank.example/join/" + payload,
        "hello",
        "",
        "1" * 500,
    ]:
        with pytest.raises(QrInvalid):
            qr.verify(KEY, text)


def test_png_and_svg_encode_the_text():
    url = qr.label_url("https://loancheck.bank.example", qr.sign(KEY, 7, 1))
    image = Image.open(io.BytesIO(qr.qr_png(url)))
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [url]
    svg = qr.qr_svg(url)
    assert svg.startswith("<svg") and 'viewBox="0 0' in svg
