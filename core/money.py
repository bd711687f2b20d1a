"""Money in an order's currency: its smallest unit, rounding half up to it, the tax contained in a
tax-inclusive amount, and how an amount is written for people (£1,234.50). Every amount the shopper sees
is rounded here, once, per line."""
from decimal import ROUND_HALF_UP, Decimal

# Currencies counted in whole units (no minor unit), and those with three decimals (stored to the cent
# here, as Stripe asks that their last digit be 0).
ZERO_DECIMAL = {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF",
                "XOF", "XPF"}
THREE_DECIMAL = {"BHD", "JOD", "KWD", "OMR", "TND"}
CENT = Decimal("0.01")
SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


def smallest_unit(currency: str) -> Decimal:
    return Decimal("1") if currency.upper() in ZERO_DECIMAL else CENT


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Half up to the currency's smallest unit (0.005 → 0.01; ¥0.5 → ¥1)."""
    return Decimal(amount).quantize(smallest_unit(currency), rounding=ROUND_HALF_UP)


def tax_included(gross: Decimal, rate: Decimal, currency: str) -> Decimal:
    """The tax inside a tax-inclusive amount at `rate` percent: gross × rate / (100 + rate), rounded."""
    if not gross or not rate:
        return round_money(Decimal("0"), currency)
    return round_money(gross * rate / (Decimal("100") + rate), currency)


def shares(parts, whole: Decimal, currency: str) -> list[Decimal]:
    """Split `whole` in proportion to `parts`, each rounded to the currency's unit; what rounding leaves
    over goes to the largest part, so the shares always add up to `whole` exactly."""
    parts = list(parts)
    total = sum(parts, Decimal("0"))
    if not whole or not total:
        return [round_money(Decimal("0"), currency)] * len(parts)
    result = [round_money(whole * p / total, currency) for p in parts]
    largest = max(range(len(parts)), key=lambda i: parts[i])
    result[largest] += whole - sum(result, Decimal("0"))
    return result


def format_money(amount, currency: str = "GBP") -> str:
    """20 → "£20.00", 1234.5 → "£1,234.50", 1500 JPY → "1,500 JPY" (to the currency's smallest unit); an
    unknown currency is written after the amount; a negative amount as −£5.00; None as ""."""
    if amount is None or amount == "":
        return ""
    code = (currency or "GBP").upper()
    value = Decimal(amount).quantize(smallest_unit(code))
    sign, value = ("−", -value) if value < 0 else ("", value)
    symbol = SYMBOLS.get(code)
    return f"{sign}{symbol}{value:,}" if symbol else f"{sign}{value:,} {code}"
