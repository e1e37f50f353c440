from typing import Literal

RiskLevel492Enum = Literal['CRITICAL', 'HIGH', 'LOW', 'MEDIUM']

RISK_LEVEL_492_ENUM_VALUES: set[RiskLevel492Enum] = { 'CRITICAL', 'HIGH', 'LOW', 'MEDIUM',  }

def check_risk_level_492_enum(value: str) -> RiskLevel492Enum:
    if value in RISK_LEVEL_492_ENUM_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {RISK_LEVEL_492_ENUM_VALUES!r}")
