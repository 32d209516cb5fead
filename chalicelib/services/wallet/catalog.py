"""Merchants and FX rates as the app shows them."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.i18n.locale import pick
from chalicelib.services.common.money import BASE_CURRENCY
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


def merchant_name(item: catalog.CatalogItem, locale: str | None) -> str:
    """The merchant's name in `locale` (the English one when it has none in that language), else its id."""
    return pick({"en": item.name_en, "zh-CN": item.name_zh}, locale) or item.item_id


def _merchant(item: catalog.CatalogItem, locale: str) -> Merchant:
    return Merchant(item.item_id, merchant_name(item, locale), item.category or "other", list(item.currencies or []))
