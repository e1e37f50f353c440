from typing import Literal

NodeStatusEnum = Literal['CANCELLED', 'COMPLETED', 'FAILED', 'PENDING', 'READY', 'RUNNING', 'SKIPPED', 'WAITING', 'WAITING_APPROVAL']

NODE_STATUS_ENUM_VALUES: set[NodeStatusEnum] = { 'CANCELLED', 'COMPLETED', 'FAILED', 'PENDING', 'READY', 'RUNNING', 'SKIPPED', 'WAITING', 'WAITING_APPROVAL',  }

def check_node_status_enum(value: str) -> NodeStatusEnum:
    if value in NODE_STATUS_ENUM_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {NODE_STATUS_ENUM_VALUES!r}")
