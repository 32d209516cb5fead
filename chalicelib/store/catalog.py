"""Reference data: merchants and FX rate sets (table `catalog`, one partition per kind)."""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, ListAttribute, MapAttribute, UnicodeAttribute

from chalicelib.store.base import BaseModel, StageTable

MERCHANT = "merchant"
FX_RATES = "fx_rates"
LATEST = "latest"


class CatalogItem(BaseModel):
    class Meta(metaclass=StageTable):
        table = "catalog"

    kind = UnicodeAttribute(hash_key=True)
    item_id = UnicodeAttribute(range_key=True)

    # merchant
    name_en = UnicodeAttribute(null=True)
    name_zh = UnicodeAttribute(null=True)
    category = UnicodeAttribute(null=True)
    currencies = ListAttribute(of=UnicodeAttribute, null=True)
    active = BooleanAttribute(default=True)  # what users may pay: false while suspended
    # merchants administered by agents (section 14); the seeded ones have none of these
    status = UnicodeAttribute(null=True)  # "active" | "suspended" (none: active)
    webhook_url = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)

    # fx rate set: currency -> decimal string, units per 1 CNY
    rates = MapAttribute(null=True)
    as_of = UnicodeAttribute(null=True)


def list_merchants() -> list[CatalogItem]:
    """Every active merchant, by id (one Query on the merchant partition)."""
    return [item for item in CatalogItem.query(MERCHANT) if item.active]


def get_latest_rates() -> CatalogItem | None:
    try:
        return CatalogItem.get(FX_RATES, LATEST)
    except CatalogItem.DoesNotExist:
        return None


def put_merchant(merchant_id: str, *, name_en: str, name_zh: str, category: str, currencies: list[str]) -> None:
    CatalogItem(
        MERCHANT, merchant_id, name_en=name_en, name_zh=name_zh, category=category, currencies=currencies
    ).save()


def put_latest_rates(rates: dict[str, str], as_of: str) -> None:
    CatalogItem(FX_RATES, LATEST, rates=rates, as_of=as_of).save()
