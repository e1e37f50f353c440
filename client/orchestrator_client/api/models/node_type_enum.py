from typing import Literal

NodeTypeEnum = Literal['DECISION', 'INPUT', 'PARALLEL', 'TASK', 'WAIT']

NODE_TYPE_ENUM_VALUES: set[NodeTypeEnum] = { 'DECISION', 'INPUT', 'PARALLEL', 'TASK', 'WAIT',  }

def check_node_type_enum(value: str) -> NodeTypeEnum:
    if value in NODE_TYPE_ENUM_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {NODE_TYPE_ENUM_VALUES!r}")
