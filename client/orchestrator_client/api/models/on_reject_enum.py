from typing import Literal

OnRejectEnum = Literal['fail', 'skip']

ON_REJECT_ENUM_VALUES: set[OnRejectEnum] = { 'fail', 'skip',  }

def check_on_reject_enum(value: str) -> OnRejectEnum:
    if value in ON_REJECT_ENUM_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {ON_REJECT_ENUM_VALUES!r}")
