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


def test_is_valid_number_agrees_with_phonenumbers() -> None:
    """Every region's example number of every type, each non-geographic entity's, and random
    digits under busy calling codes (+1's 25 regions above all) and unassigned ones."""
    import random

    numbers = [n for region in phonenumbers.SUPPORTED_REGIONS for kind in range(12)
               if (n := phonenumbers.example_number_for_type(region, kind)) is not None]
    numbers += [n for cc in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS
                if (n := phonenumbers.example_number_for_non_geo_entity(cc)) is not None]
    rng = random.Random(11)
    codes = [*phonenumbers.COUNTRY_CODE_TO_REGION_CODE, *[1] * 40, 7, 44, 61, 262, 599, 999, 0]
    numbers += [phonenumbers.PhoneNumber(country_code=rng.choice(codes),
                                         national_number=rng.randrange(10 ** rng.randint(3, 12)))
                for _ in range(20000)]
    valid = [phonenumbers.is_valid_number(n) for n in numbers]
    assert sum(valid) > 1000  # the sample holds valid numbers of many regions, not only refusals
    assert [schemas.is_valid_number(n) for n in numbers] == valid
