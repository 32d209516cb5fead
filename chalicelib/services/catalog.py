"""Merchants and FX rates as the app shows them."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.services.money import BASE_CURRENCY
from chalicelib.store import catalog


@dataclass(frozen=True)
class Merchant:
    merchant_id: str
    name: str
    category: str
    currencies: list[str]


@dataclass(frozen=True)
class RateSet:
    base: str
    rates: dict[str, str]  # decimal strings, units of the currency per 1 CNY
    as_of: str


def list_merchants(locale: str) -> list[Merchant]:
    return [_merchant(item, locale) for item in catalog.list_merchants()]


def current_rates() -> RateSet | None:
    item = catalog.get_latest_rates()
    if item is None:
        return None
    return RateSet(
        base=BASE_CURRENCY, rates={str(k): str(v) for k, v in item.rates.as_dict().items()}, as_of=item.as_of
    )


def _merchant(item: catalog.CatalogItem, locale: str) -> Merchant:
    name = item.name_zh if locale == "zh-CN" and item.name_zh else item.name_en
    return Merchant(item.item_id, name or item.item_id, item.category or "other", list(item.currencies or []))
