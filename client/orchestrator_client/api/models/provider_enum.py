from typing import Literal

ProviderEnum = Literal['local', 'task_controller']

PROVIDER_ENUM_VALUES: set[ProviderEnum] = { 'local', 'task_controller',  }

def check_provider_enum(value: str) -> ProviderEnum:
    if value in PROVIDER_ENUM_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {PROVIDER_ENUM_VALUES!r}")
