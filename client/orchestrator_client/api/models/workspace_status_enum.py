from typing import Literal

WorkspaceStatusEnum = Literal['FAILED', 'HIBERNATED', 'PENDING', 'PROVISIONING', 'READY', 'TERMINATED']

WORKSPACE_STATUS_ENUM_VALUES: set[WorkspaceStatusEnum] = { 'FAILED', 'HIBERNATED', 'PENDING', 'PROVISIONING', 'READY', 'TERMINATED',  }

def check_workspace_status_enum(value: str) -> WorkspaceStatusEnum:
    if value in WORKSPACE_STATUS_ENUM_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {WORKSPACE_STATUS_ENUM_VALUES!r}")
