from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.chain_report import ChainReport





T = TypeVar("T", bound="Verification")



@_attrs_define
class Verification:
    """ 
        Attributes:
            ok (bool):
            verified (int):
            first_bad_sequence (int | None):
            first_bad_chain (None | str):
            chains (list[ChainReport]):
     """

    ok: bool
    verified: int
    first_bad_sequence: int | None
    first_bad_chain: None | str
    chains: list[ChainReport]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.chain_report import ChainReport # noqa: PLC0415
        ok = self.ok

        verified = self.verified

        first_bad_sequence: int | None
        first_bad_sequence = self.first_bad_sequence

        first_bad_chain: None | str
        first_bad_chain = self.first_bad_chain

        chains = []
        for chains_item_data in self.chains:
            chains_item = chains_item_data.to_dict()
            chains.append(chains_item)




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "ok": ok,
            "verified": verified,
            "first_bad_sequence": first_bad_sequence,
            "first_bad_chain": first_bad_chain,
            "chains": chains,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.chain_report import ChainReport # noqa: PLC0415
        d = dict(src_dict)
        ok = d.pop("ok")

        verified = d.pop("verified")

        def _parse_first_bad_sequence(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        first_bad_sequence = _parse_first_bad_sequence(d.pop("first_bad_sequence"))


        def _parse_first_bad_chain(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        first_bad_chain = _parse_first_bad_chain(d.pop("first_bad_chain"))


        chains = []
        _chains = d.pop("chains")
        for chains_item_data in (_chains):
            chains_item = ChainReport.from_dict(chains_item_data)



            chains.append(chains_item)


        verification = cls(
            ok=ok,
            verified=verified,
            first_bad_sequence=first_bad_sequence,
            first_bad_chain=first_bad_chain,
            chains=chains,
        )


        verification.additional_properties = d
        return verification

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
