"""Request and response models of the public routes (chalicelib/api/public.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.api.schemas.common import Currency, ResponseBody
from chalicelib.services.common.money import BASE_CURRENCY


class Health(ResponseBody):
    status: Literal["ok"]


class PhoneChannel(ResponseBody):
    number: str
    hours: str


class EmailChannel(ResponseBody):
    address: str
    response_hours: int


class ChatChannel(ResponseBody):
    available: bool = Field(description="Whether an agent is on chat right now.")
    hours: str


class HelpCenter(ResponseBody):
    url: str


class SupportContact(ResponseBody):
    phone: PhoneChannel
    email: EmailChannel
    chat: ChatChannel
    help_center: HelpCenter


class MerchantItem(ResponseBody):
    merchant_id: str
    name: str
    category: str
    currencies: list[Currency]


class MerchantList(ResponseBody):
    data: list[MerchantItem]


class FxRates(ResponseBody):
    base: Literal[BASE_CURRENCY]
    rates: dict[str, str] = Field(description=f"Decimal strings: units of each currency per 1 {BASE_CURRENCY}.")
    as_of: str
