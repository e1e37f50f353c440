from typing import Literal

OnFailureEnum = Literal['continue', 'fail']

ON_FAILURE_ENUM_VALUES: set[OnFailureEnum] = { 'continue', 'fail',  }

def check_on_failure_enum(value: str) -> OnFailureEnum:
    if value in ON_FAILURE_ENUM_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {ON_FAILURE_ENUM_VALUES!r}")
