"""How a document's number is written (Nghị định 30/2020/NĐ-CP, Phụ lục I).

One place for it: decisions, the appraisal report, the apology slip and every "Số:"
line print numbers below 10 with a leading zero ("01/QĐ-UBND", "05/BC-NN").
"""
from __future__ import annotations


def document_number(number: int) -> str:
    """1 -> "01", 9 -> "09", 10 -> "10", 125 -> "125"."""
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise ValueError(f"a document number is a whole number from 1, not {number!r}")
    return f"{number:02d}"
