from typing import Literal

ScopesEnum = Literal['approvals:decide', 'approvals:request', 'audit', 'webhooks', 'workflows', 'workspaces']

SCOPES_ENUM_VALUES: set[ScopesEnum] = { 'approvals:decide', 'approvals:request', 'audit', 'webhooks', 'workflows', 'workspaces',  }

def check_scopes_enum(value: str) -> ScopesEnum:
    if value in SCOPES_ENUM_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {SCOPES_ENUM_VALUES!r}")
