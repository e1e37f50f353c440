from typing import Literal

ReportedStatusEnum = Literal['COMPLETED', 'FAILED']

REPORTED_STATUS_ENUM_VALUES: set[ReportedStatusEnum] = { 'COMPLETED', 'FAILED',  }

def check_reported_status_enum(value: str) -> ReportedStatusEnum:
    if value in REPORTED_STATUS_ENUM_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {REPORTED_STATUS_ENUM_VALUES!r}")
