from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast






T = TypeVar("T", bound="ChainReport")



@_attrs_define
class ChainReport:
    """ 
        Attributes:
            chain (str):
            tenant_id (None | str):
            ok (bool):
            verified (int): Entries recomputed and found intact.
            first_bad_sequence (int | None):
            error (str):
            checkpoint_sequence (int | None): Last sequence removed by retention (a signed checkpoint).
            full (bool): Every remaining entry was walked (false: from the newest anchor).
            anchor_sequence (int | None): The sequence of the newest signed anchor of this chain (null: none yet).
            start_sequence (int | None): The first entry recomputed.
            last_sequence (int):
     """

    chain: str
    tenant_id: None | str
    ok: bool
    verified: int
    first_bad_sequence: int | None
    error: str
    checkpoint_sequence: int | None
    full: bool
    anchor_sequence: int | None
    start_sequence: int | None
    last_sequence: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        chain = self.chain

        tenant_id: None | str
        tenant_id = self.tenant_id

        ok = self.ok

        verified = self.verified

        first_bad_sequence: int | None
        first_bad_sequence = self.first_bad_sequence

        error = self.error

        checkpoint_sequence: int | None
        checkpoint_sequence = self.checkpoint_sequence

        full = self.full

        anchor_sequence: int | None
        anchor_sequence = self.anchor_sequence

        start_sequence: int | None
        start_sequence = self.start_sequence

        last_sequence = self.last_sequence


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "chain": chain,
            "tenant_id": tenant_id,
            "ok": ok,
            "verified": verified,
            "first_bad_sequence": first_bad_sequence,
            "error": error,
            "checkpoint_sequence": checkpoint_sequence,
            "full": full,
            "anchor_sequence": anchor_sequence,
            "start_sequence": start_sequence,
            "last_sequence": last_sequence,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        chain = d.pop("chain")

        def _parse_tenant_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        tenant_id = _parse_tenant_id(d.pop("tenant_id"))


        ok = d.pop("ok")

        verified = d.pop("verified")

        def _parse_first_bad_sequence(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        first_bad_sequence = _parse_first_bad_sequence(d.pop("first_bad_sequence"))


        error = d.pop("error")

        def _parse_checkpoint_sequence(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        checkpoint_sequence = _parse_checkpoint_sequence(d.pop("checkpoint_sequence"))


        full = d.pop("full")

        def _parse_anchor_sequence(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        anchor_sequence = _parse_anchor_sequence(d.pop("anchor_sequence"))


        def _parse_start_sequence(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        start_sequence = _parse_start_sequence(d.pop("start_sequence"))


        last_sequence = d.pop("last_sequence")

        chain_report = cls(
            chain=chain,
            tenant_id=tenant_id,
            ok=ok,
            verified=verified,
            first_bad_sequence=first_bad_sequence,
            error=error,
            checkpoint_sequence=checkpoint_sequence,
            full=full,
            anchor_sequence=anchor_sequence,
            start_sequence=start_sequence,
            last_sequence=last_sequence,
        )


        chain_report.additional_properties = d
        return chain_report

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
