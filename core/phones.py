"""Phone numbers as people type them at a counter or on a form: one spelling per number, so "+44 7700
900123", "07700-900 123" and "447700900123" are found as the same phone."""
import re

from django.db.models import F, Value
from django.db.models.functions import Replace

PUNCTUATION = " -().+/"


def national_phone(number: str) -> str:
    """A phone number as dialled in the UK: digits only, +44 or 0044 written as 0 (a "(0)" after it
    dropped); another country's number keeps its +code. "+44 7700 900123", "+44 (0)7700 900123",
    "07700-900 123" and "447700900123" are all "07700900123"."""
    digits = re.sub(r"\D", "", number)
    if number.strip().startswith("+"):
        international = digits
    elif digits.startswith("00"):
        international = digits[2:]
    elif digits.startswith("44") and len(digits) == 12:
        international = digits
    else:
        return digits
    if international.startswith("44"):
        return "0" + international[2:].removeprefix("0")
    return "+" + international


def phone_digits(field: str):
    """A database expression: the phone stored in `field` without the spaces, dashes, brackets and + people
    type, so a search can narrow by its last digits before comparing national_phone() exactly."""
    digits = F(field)
    for mark in PUNCTUATION:
        digits = Replace(digits, Value(mark), Value(""))
    return digits
