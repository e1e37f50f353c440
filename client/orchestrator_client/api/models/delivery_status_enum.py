from typing import Literal

DeliveryStatusEnum = Literal['DELIVERING', 'FAILED', 'PENDING', 'QUEUED', 'SUCCEEDED']

DELIVERY_STATUS_ENUM_VALUES: set[DeliveryStatusEnum] = { 'DELIVERING', 'FAILED', 'PENDING', 'QUEUED', 'SUCCEEDED',  }

def check_delivery_status_enum(value: str) -> DeliveryStatusEnum:
    if value in DELIVERY_STATUS_ENUM_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {DELIVERY_STATUS_ENUM_VALUES!r}")
