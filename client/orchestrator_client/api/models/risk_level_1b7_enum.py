from typing import Literal

RiskLevel1B7Enum = Literal['CRITICAL', 'HIGH', 'LOW', 'MEDIUM']

RISK_LEVEL_1B7_ENUM_VALUES: set[RiskLevel1B7Enum] = { 'CRITICAL', 'HIGH', 'LOW', 'MEDIUM',  }

def check_risk_level_1b7_enum(value: str) -> RiskLevel1B7Enum:
    if value in RISK_LEVEL_1B7_ENUM_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {RISK_LEVEL_1B7_ENUM_VALUES!r}")
