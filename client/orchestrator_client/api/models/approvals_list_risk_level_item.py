from typing import Literal

ApprovalsListRiskLevelItem = Literal['CRITICAL', 'HIGH', 'LOW', 'MEDIUM']

APPROVALS_LIST_RISK_LEVEL_ITEM_VALUES: set[ApprovalsListRiskLevelItem] = { 'CRITICAL', 'HIGH', 'LOW', 'MEDIUM',  }

def check_approvals_list_risk_level_item(value: str) -> ApprovalsListRiskLevelItem:
    if value in APPROVALS_LIST_RISK_LEVEL_ITEM_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {APPROVALS_LIST_RISK_LEVEL_ITEM_VALUES!r}")
