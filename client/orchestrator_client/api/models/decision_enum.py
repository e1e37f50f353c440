from typing import Literal

DecisionEnum = Literal['approve', 'reject']

DECISION_ENUM_VALUES: set[DecisionEnum] = { 'approve', 'reject',  }

def check_decision_enum(value: str) -> DecisionEnum:
    if value in DECISION_ENUM_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {DECISION_ENUM_VALUES!r}")
