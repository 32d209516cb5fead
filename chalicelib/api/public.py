"""Health and public routes: no sign-in needed."""

from __future__ import annotations

from chalice import Response

from chalicelib.adapters import clock
from chalicelib.adapters.config import get_settings
from chalicelib.api.envelope import JSON
from chalicelib.api.routing import Call, operation
from chalicelib.errors import OkpayError
from chalicelib.services.common.money import BASE_CURRENCY
from chalicelib.services.support import support_contact
from chalicelib.services.wallet import catalog


@operation("GET", "/health", schemas="public", summary="Liveness check", tag="public", response="Health")
def health(call: Call) -> dict:
    """Cheap on purpose: no AWS call, so load balancers and monitors can poll it."""
    return {"status": "ok"}


@operation("GET", "/openapi.json", schemas="public", summary="This API's OpenAPI 3 document", tag="public")
def openapi_document(call: Call) -> Response:
    from chalicelib.api import openapi  # deferred: heavy (pydantic: it loads every model)

    return Response(body=openapi.document_json(), headers={"Content-Type": JSON})


@operation(
    "GET",
    "/support/contact",
    schemas="public",
    summary="How to reach customer service (客服)",
    tag="public",
    response="SupportContact",
)
def support_contact_channels(call: Call) -> dict:
    return support_contact.contact_channels(get_settings(), call.scope.locale, clock.now())


@operation(
    "GET",
    "/merchants",
    schemas="public",
    summary="Shops and billers that accept Okpay",
    tag="public",
    response="MerchantList",
)
def list_merchants(call: Call) -> dict:
    merchants = catalog.list_merchants(call.scope.locale)
    return {"data": [merchant.__dict__ for merchant in merchants]}


@operation(
    "GET",
    "/fx/rates",
    schemas="public",
    summary=f"Current FX rates against {BASE_CURRENCY}",
    tag="public",
    response="FxRates",
    errors=("try_again",),
)
def fx_rates(call: Call) -> dict:
    rates = catalog.current_rates()
    if rates is None:  # not published yet: an operator problem, so the app should retry later
        raise OkpayError("try_again", retry_after=60)
    return {"base": rates.base, "rates": rates.rates, "as_of": rates.as_of}
