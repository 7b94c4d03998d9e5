"""The ingest's fast paths for plain E.164 numbers and plain addresses give exactly what the full
`phonenumbers` / `email_validator` checks give, and leave every refusal (and its wording) to them."""

from __future__ import annotations

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email

from feedback.ingest import schemas

PHONES = ["+14155550100", "+442079460958", "+4915123456789", "+861381234567", "+61412345678",
          "+989121234567", "+5491123456789", "+78001234567", "+390612345678", "+14155", "+1415555010012",
          "+999123456", "+80012345678", "+33612345678", "+3361234567", "+12125550199"]
EMAILS = ["ana@example.com", "Ana.Lima@Example.COM", "a+b@mail.example.org", "postmaster@example.com",
          "x@localhost", "x@foo.test", "a..b@example.com", "é@example.com", "a@-bad.com",
          "\"q\"@example.com", "a@example.com.", "a@b.c", "o'neil@example.co.uk", "x@123.456"]


def _full_phone(value: str) -> str | None:
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@pytest.mark.parametrize("value", PHONES)
def test_e164_fast_path_agrees_with_phonenumbers(value: str) -> None:
    fast = schemas._valid_e164(value)
    assert fast is None or fast == _full_phone(value)
    schemas.normalise_phone.cache_clear()
    try:
        got: str | None = schemas.normalise_phone(value, None)
    except ValueError:
        got = None
    assert got == _full_phone(value)


@pytest.mark.parametrize("value", EMAILS)
def test_email_fast_path_agrees_with_email_validator(value: str) -> None:
    try:
        expected: str | None = validate_email(value, check_deliverability=False).normalized
        wording = None
    except EmailNotValidError as exc:
        expected, wording = None, str(exc)
    schemas.normalise_email.cache_clear()
    try:
        got: str | None = schemas.normalise_email(value)
    except ValueError as exc:
        got = None
        assert wording is not None and wording in str(exc)  # the full check's own words
    assert got == expected
