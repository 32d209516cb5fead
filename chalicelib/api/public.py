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


@operation(
    "GET",
    "/health",
    schemas="public",
    summary="Liveness check",
    description=(
        'Answers `200 {"status": "ok"}` while the API can take requests. Cheap on purpose (no database or '
        "other AWS call), so load balancers and monitors can poll it."
    ),
    tag="public",
    response="Health",
)
def health(call: Call) -> dict:
    """Cheap on purpose: no AWS call, so load balancers and monitors can poll it."""
    return {"status": "ok"}


@operation(
    "GET",
    "/openapi.json",
    schemas="public",
    summary="This API's OpenAPI 3 document",
    description=(
        "The OpenAPI 3.1 document of the API as served by the stage answering (this document): every operation "
        "with its request and response schemas, examples, and per status the error codes it can answer, each with "
        "the schema of its `details`. The local stage's document also lists the `/_local` tools. Meant for client "
        "generators (openapi-python-client, openapi-typescript) and for the interactive reference at `/docs`."
    ),
    tag="public",
    response="OpenApiDocument",
)
def openapi_document(call: Call) -> Response:
    from chalicelib.api import openapi  # deferred: heavy (pydantic: it loads every model)

    return Response(body=openapi.document_json(), headers={"Content-Type": JSON})


@operation(
    "GET",
    "/support/contact",
    schemas="public",
    summary="How to reach customer service (客服)",
    description=(
        "The hotline with its hours, the support email address (mail to it becomes a ticket, answered within "
        "`response_hours`, 24), whether live chat is staffed right now (Beijing time) with its hours, and the help "
        "centre's address. Hours are in the caller's language (`Accept-Language`)."
    ),
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
    description=(
        "Every active merchant (shops and billers) with the currencies it accepts; `merchant_id` is what "
        "`POST /payments` takes. Names follow `Accept-Language` where the merchant has one in that language. "
        "Not paginated."
    ),
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
    description=(
        f"The rates conversions use: `base` is {BASE_CURRENCY} and `rates` gives, per currency, the units of "
        f"that currency per 1 {BASE_CURRENCY} as a decimal string (to be read exactly, not as a float), with "
        "the time they were published (`as_of`). Before any rates are published: `503 try_again` with "
        "`Retry-After`."
    ),
    tag="public",
    response="FxRates",
    errors=("try_again",),
)
def fx_rates(call: Call) -> dict:
    rates = catalog.current_rates()
    if rates is None:  # not published yet: an operator problem, so the app should retry later
        raise OkpayError("try_again", retry_after=60)
    return {"base": rates.base, "rates": rates.rates, "as_of": rates.as_of}
