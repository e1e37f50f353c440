from typing import Literal

AuditActorTypeEnum = Literal['api_key', 'system', 'user']

AUDIT_ACTOR_TYPE_ENUM_VALUES: set[AuditActorTypeEnum] = { 'api_key', 'system', 'user',  }

def check_audit_actor_type_enum(value: str) -> AuditActorTypeEnum:
    if value in AUDIT_ACTOR_TYPE_ENUM_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {AUDIT_ACTOR_TYPE_ENUM_VALUES!r}")
