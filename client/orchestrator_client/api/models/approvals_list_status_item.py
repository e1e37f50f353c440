from typing import Literal

ApprovalsListStatusItem = Literal['ALL', 'APPROVED', 'EXECUTED', 'EXPIRED', 'PENDING', 'REJECTED', 'WITHDRAWN']

APPROVALS_LIST_STATUS_ITEM_VALUES: set[ApprovalsListStatusItem] = { 'ALL', 'APPROVED', 'EXECUTED', 'EXPIRED', 'PENDING', 'REJECTED', 'WITHDRAWN',  }

def check_approvals_list_status_item(value: str) -> ApprovalsListStatusItem:
    if value in APPROVALS_LIST_STATUS_ITEM_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {APPROVALS_LIST_STATUS_ITEM_VALUES!r}")
