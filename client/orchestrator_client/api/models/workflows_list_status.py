from typing import Literal

WorkflowsListStatus = Literal['CANCELLED', 'COMPLETED', 'FAILED', 'PENDING', 'RUNNING']

WORKFLOWS_LIST_STATUS_VALUES: set[WorkflowsListStatus] = { 'CANCELLED', 'COMPLETED', 'FAILED', 'PENDING', 'RUNNING',  }

def check_workflows_list_status(value: str) -> WorkflowsListStatus:
    if value in WORKFLOWS_LIST_STATUS_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {WORKFLOWS_LIST_STATUS_VALUES!r}")
