"""The facets' ratios ("0.6667"): a quotient of two exact numbers, rounded
half-even to four places; the same whatever the caller's decimal context."""

from __future__ import annotations

import decimal
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from ledger.aggregates.readout import ratio

AMOUNTS = st.one_of(
    st.integers(0, 10**15),
    st.decimals(min_value=0, max_value=Decimal(10**13), places=2, allow_nan=False),
)


def by_fraction(part: int | Decimal, whole: int | Decimal) -> str:
    """The reduced fraction's quotient at 28 digits, then four places."""
    if not whole:
        return "0"
    exact = Fraction(part) / Fraction(whole)
    with decimal.localcontext(decimal.Context(prec=28)):
        value = Decimal(exact.numerator) / Decimal(exact.denominator)
        return str(value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN))


@given(AMOUNTS, AMOUNTS)
def test_a_ratio_is_the_reduced_fractions_quotient_rounded_to_four_places(
    part: int | Decimal, whole: int | Decimal
) -> None:
    assert ratio(part, whole) == by_fraction(part, whole)


def test_ratios_at_the_edges_and_in_a_narrow_context() -> None:
    assert ratio(2, 3) == "0.6667"
    assert ratio(1, 8) == "0.1250"  # 0.125 exactly: four places
    assert ratio(Decimal("1"), Decimal("80000")) == "0.0000"  # 0.0000125: half-even, down
    assert ratio(Decimal("3"), Decimal("80000")) == "0.0000"  # 0.0000375 rounds to 0.0000
    assert ratio(0, 5) == "0.0000" and ratio(5, 0) == "0" and ratio(0, 0) == "0"
    with decimal.localcontext(decimal.Context(prec=3)):
        assert ratio(Decimal("123456.78"), Decimal("987654.32")) == "0.1250"
