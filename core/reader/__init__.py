"""The offline understanding as stages: normalise -> split -> extract -> ground -> resolve -> account -> clarify."""
