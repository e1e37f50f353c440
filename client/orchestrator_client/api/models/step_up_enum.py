from typing import Literal

StepUpEnum = Literal['password', 'totp']

STEP_UP_ENUM_VALUES: set[StepUpEnum] = { 'password', 'totp',  }

def check_step_up_enum(value: str) -> StepUpEnum:
    if value in STEP_UP_ENUM_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {STEP_UP_ENUM_VALUES!r}")
