"""Request and response models of the public routes (chalicelib/api/public.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from chalicelib.api.schemas.common import Currency, ResponseBody, Timestamp, examples, omittable
from chalicelib.services.common.money import BASE_CURRENCY

_OPEN = ConfigDict(extra="allow")  # the document's objects carry more than is listed here


class Health(ResponseBody):
    model_config = examples({"status": "ok"})

    status: Literal["ok"]


# --- this document -----------------------------------------------------------------------------------


class OpenApiInfo(ResponseBody):
    model_config = ConfigDict(
        **_OPEN,
        **examples(
            {
                "title": "Okpay wallet API",
                "version": "1.2",
                "description": "The HTTP contract of the Okpay wallet backend (contract v1.2).",
            }
        ),
    )

    title: str
    version: str = Field(description="The contract's version.")
    description: str = Field(description="Conventions every operation follows (Markdown).")


class OpenApiServer(ResponseBody):
    model_config = ConfigDict(
        **_OPEN, **examples({"url": "/api", "description": "This deployment: API Gateway's `api` stage."})
    )

    url: str = Field(description="Relative to where this document was fetched, or a URL template.")
    description: str


class OpenApiTag(ResponseBody):
    model_config = examples({"name": "identity", "description": "Registration, sign-in, …"})

    name: str
    description: str


_HEALTH_OPERATION = {
    "operationId": "get_health",
    "summary": "Liveness check",
    "description": 'Answers `200 {"status": "ok"}` while the API can take requests.',
    "tags": ["public"],
    "security": [],
    "responses": {
        "200": {
            "description": "Liveness check",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}},
        }
    },
}


class OpenApiResponse(ResponseBody):
    """A response of an operation: `headers` and `content` besides what is listed."""

    model_config = ConfigDict(**_OPEN, **examples(_HEALTH_OPERATION["responses"]["200"]))

    description: str


class OpenApiOperation(ResponseBody):
    """One method on one path: also `parameters`, `requestBody` and `security` where they apply."""

    model_config = ConfigDict(**_OPEN, **examples(_HEALTH_OPERATION))

    operationId: str
    summary: str
    description: str
    tags: list[str]
    responses: dict[str, OpenApiResponse] = Field(description="By status: the successes and every error status.")


class OpenApiPathItem(ResponseBody):
    """The methods of one path."""

    model_config = examples({"get": _HEALTH_OPERATION})

    get: OpenApiOperation = omittable()
    put: OpenApiOperation = omittable()
    post: OpenApiOperation = omittable()
    patch: OpenApiOperation = omittable()
    delete: OpenApiOperation = omittable()


class OpenApiSchema(ResponseBody):
    """A JSON Schema (2020-12) of a body or of a part of one."""

    model_config = ConfigDict(**_OPEN, **examples({"title": "Health", "type": "object", "required": ["status"]}))

    title: str = omittable()
    description: str = omittable()


class OpenApiNamed(ResponseBody):
    """A security scheme, parameter or header defined once and referenced by operations."""

    # No examples here: linters read a schema property named `headers` or `parameters` as the real thing.
    model_config = _OPEN

    description: str


class OpenApiComponents(ResponseBody):
    model_config = examples(
        {
            "schemas": {"Health": {"title": "Health", "type": "object", "required": ["status"]}},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "The `access_token` of a sign-in."}
            },
            "parameters": {"AcceptLanguage": {"name": "Accept-Language", "in": "header", "description": "zh-CN or en"}},
            "headers": {"X-Request-Id": {"description": "Id of this request."}},
        }
    )

    schemas: dict[str, OpenApiSchema] = Field(description="Every body's schema by name, and one per error code.")
    securitySchemes: dict[str, OpenApiNamed]
    parameters: dict[str, OpenApiNamed]
    headers: dict[str, OpenApiNamed]


class OpenApiDocument(ResponseBody):
    """An OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0), described to the level of its
    operations; the rest is as the specification says."""

    model_config = ConfigDict(
        **_OPEN,
        **examples(
            {
                "openapi": "3.1.0",
                "info": {
                    "title": "Okpay wallet API",
                    "version": "1.2",
                    "description": "The HTTP contract of the Okpay wallet backend (contract v1.2).",
                },
                "servers": [{"url": "/api", "description": "This deployment: API Gateway's `api` stage."}],
                "security": [{"bearer": []}],
                "tags": [{"name": "public", "description": "No sign-in needed."}],
                "paths": {"/health": {"get": _HEALTH_OPERATION}},
                "components": {
                    "schemas": {"Health": {"title": "Health", "type": "object", "required": ["status"]}},
                    "securitySchemes": {
                        "bearer": {"type": "http", "scheme": "bearer", "description": "The `access_token`."}
                    },
                    "parameters": {},
                    "headers": {},
                },
            }
        ),
    )

    openapi: Annotated[str, StringConstraints(pattern=r"^3\.1\.\d+$")] = Field(description="OpenAPI 3.1.")
    info: OpenApiInfo
    servers: list[OpenApiServer]
    security: list[dict[str, list[str]]] = Field(description="By default: an access token (`bearer`).")
    tags: list[OpenApiTag]
    paths: dict[str, OpenApiPathItem] = Field(description="Every operation the answering stage serves.")
    components: OpenApiComponents


# --- customer service --------------------------------------------------------------------------------


class PhoneChannel(ResponseBody):
    model_config = examples({"number": "+86 400 820 6729", "hours": "每天 09:00-21:00（北京时间）"})

    number: str = Field(description="The hotline, as dialled.")
    hours: str = Field(description="Opening hours, in the caller's language.")


class EmailChannel(ResponseBody):
    model_config = examples({"address": "support@okpay.local", "response_hours": 24})

    address: str = Field(description="Mail here becomes a support ticket.")
    response_hours: int = Field(description="The first answer comes within this many hours.")


class ChatChannel(ResponseBody):
    model_config = examples({"available": True, "hours": "每天 08:00-22:00（北京时间）"})

    available: bool = Field(description="Whether chat is staffed right now (Beijing time).")
    hours: str = Field(description="Opening hours, in the caller's language.")


class HelpCenter(ResponseBody):
    model_config = examples({"url": "https://help.okpay.local"})

    url: str


class SupportContact(ResponseBody):
    model_config = examples(
        {
            "phone": {"number": "+86 400 820 6729", "hours": "每天 09:00-21:00（北京时间）"},
            "email": {"address": "support@okpay.local", "response_hours": 24},
            "chat": {"available": True, "hours": "每天 08:00-22:00（北京时间）"},
            "help_center": {"url": "https://help.okpay.local"},
        },
        {
            "phone": {"number": "+86 400 820 6729", "hours": "Every day 09:00-21:00 (Beijing time)"},
            "email": {"address": "support@okpay.local", "response_hours": 24},
            "chat": {"available": False, "hours": "Every day 08:00-22:00 (Beijing time)"},
            "help_center": {"url": "https://help.okpay.local"},
        },
    )

    phone: PhoneChannel
    email: EmailChannel
    chat: ChatChannel
    help_center: HelpCenter


# --- merchants and FX rates --------------------------------------------------------------------------


class MerchantItem(ResponseBody):
    model_config = examples(
        {"merchant_id": "mer_morning_cafe", "name": "晨光咖啡", "category": "food_drink", "currencies": ["CNY"]}
    )

    merchant_id: str = Field(description="What `POST /payments` takes as `merchant_id`.")
    name: str = Field(description="In the caller's language when the merchant has a name in it.")
    category: str = Field(description="e.g. `food_drink`, `utilities`, `telecom`, `retail`, `travel`, `other`.")
    currencies: list[Currency] = Field(description="The currencies it accepts.")


class MerchantList(ResponseBody):
    model_config = examples(
        {
            "data": [
                {
                    "merchant_id": "mer_city_power",
                    "name": "城市电力（电费）",
                    "category": "utilities",
                    "currencies": ["CNY"],
                },
                {
                    "merchant_id": "mer_city_telecom",
                    "name": "城市通信（话费充值）",
                    "category": "telecom",
                    "currencies": ["CNY", "HKD"],
                },
                {
                    "merchant_id": "mer_morning_cafe",
                    "name": "晨光咖啡",
                    "category": "food_drink",
                    "currencies": ["CNY"],
                },
            ]
        }
    )

    data: list[MerchantItem]


class FxRates(ResponseBody):
    """The published rates against the base currency, and when they were published (`as_of`)."""

    model_config = examples(
        {
            "base": BASE_CURRENCY,
            "rates": {"CNY": "1", "HKD": "1.0850", "USD": "0.1380", "EUR": "0.1290", "JPY": "21.0500"},
            "as_of": "2026-11-24T09:00:00+08:00",
        }
    )

    base: Literal[BASE_CURRENCY]
    rates: dict[str, Annotated[str, StringConstraints(pattern=r"^\d+(\.\d+)?$")]] = Field(
        description=f"Currency code → decimal string: units of that currency per 1 {BASE_CURRENCY}."
    )
    as_of: Timestamp
