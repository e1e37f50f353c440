from typing import Literal

NodeRunStatusEnum = Literal['CANCELLED', 'COMPLETED', 'FAILED', 'RUNNING']

NODE_RUN_STATUS_ENUM_VALUES: set[NodeRunStatusEnum] = { 'CANCELLED', 'COMPLETED', 'FAILED', 'RUNNING',  }

def check_node_run_status_enum(value: str) -> NodeRunStatusEnum:
    if value in NODE_RUN_STATUS_ENUM_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {NODE_RUN_STATUS_ENUM_VALUES!r}")
