from typing import Literal

AuditExportRetrieveFormat = Literal['csv', 'jsonl']

AUDIT_EXPORT_RETRIEVE_FORMAT_VALUES: set[AuditExportRetrieveFormat] = { 'csv', 'jsonl',  }

def check_audit_export_retrieve_format(value: str) -> AuditExportRetrieveFormat:
    if value in AUDIT_EXPORT_RETRIEVE_FORMAT_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {AUDIT_EXPORT_RETRIEVE_FORMAT_VALUES!r}")
