from typing import Literal

WorkspacesListStatus = Literal['FAILED', 'HIBERNATED', 'PENDING', 'PROVISIONING', 'READY', 'TERMINATED']

WORKSPACES_LIST_STATUS_VALUES: set[WorkspacesListStatus] = { 'FAILED', 'HIBERNATED', 'PENDING', 'PROVISIONING', 'READY', 'TERMINATED',  }

def check_workspaces_list_status(value: str) -> WorkspacesListStatus:
    if value in WORKSPACES_LIST_STATUS_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {WORKSPACES_LIST_STATUS_VALUES!r}")
