"""Okpay wallet backend: wiring only. The code lives in chalicelib/ (see README.md)."""

import gc
import importlib

# A cold start builds tens of thousands of long-lived objects (modules, classes, compiled regexes):
# the collector would walk them again and again while they are being made. Off while importing,
# then they are frozen out of every later collection (gc.freeze), so requests do not walk them.
gc.disable()

# isort: off
# The store (PynamoDB, so botocore) before anything that loads aws-lambda-powertools: in this order
# `import app` measured ~50 ms faster (make bench, "Cold start"), for the same modules.
import chalicelib.store.base  # noqa: E402, F401
from chalice import Chalice, Cron, Rate  # noqa: E402

# isort: on

from chalicelib.adapters import clock  # noqa: E402
from chalicelib.adapters.config import get_settings  # noqa: E402
from chalicelib.api import areas, middleware  # noqa: E402
from chalicelib.api.routing import mount_area  # noqa: E402
from chalicelib.jobs.registry import run_job  # noqa: E402


def create_app(stage: str | None = None) -> Chalice:
    """The API of `stage` (default: the environment's OKPAY_STAGE, as Lambda, `chalice package
    --stage` and `make run` set it): the middleware and one Blueprint per area, whose modules load on
    their first request (chalicelib/api/areas.py).

    The /_local tools exist only in `local` (contract, section 10): anywhere else their area is
    not mounted, so they are in neither the route table, the OpenAPI document (`local_only`) nor the
    packaged template, and API Gateway answers them `404 not_found` like any unknown route.
    """
    # Logging is aws-lambda-powertools' (chalicelib/adapters/logging.py), on the same "okpay" logger.
    api = Chalice(app_name="okpay", configure_logs=False)
    middleware.install(api)
    for module, routes in areas.AREAS.items():
        mount_area(api, module, routes)
    if (stage or get_settings().stage) == "local":
        mount_area(api, areas.LOCAL_AREA, areas.LOCAL_ROUTES)
    return api


app = create_app()
gc.freeze()
gc.enable()


# Scheduled jobs (contract, section 8). Each runs at the clock's `now`.
@app.schedule(Rate(15, unit=Rate.MINUTES), name="dispute_sla")
def dispute_sla(event):
    return run_job("dispute_sla", clock.now())


@app.schedule(Rate(15, unit=Rate.MINUTES), name="ticket_sla")
def ticket_sla(event):
    return run_job("ticket_sla", clock.now())


# 02:10 Beijing time (18:10 UTC), after the day's close.
@app.schedule(Cron(10, 18, "*", "*", "?", "*"), name="reconcile")
def reconcile(event):
    return run_job("reconcile", clock.now())


# 10:00 Beijing time (02:00 UTC), so reminders arrive in the morning.
@app.schedule(Cron(0, 2, "*", "*", "?", "*"), name="password_age")
def password_age(event):
    return run_job("password_age", clock.now())


# Top-ups whose bank answer was lost (chalicelib/services/wallet/topups.py): asked about, then settled.
@app.schedule(Rate(5, unit=Rate.MINUTES), name="topup_settle")
def topup_settle(event):
    return run_job("topup_settle", clock.now())


# Live chat (section 12): long waits become tickets, silent chats are resolved.
@app.schedule(Rate(1, unit=Rate.MINUTES), name="chat_queue")
def chat_queue(event):
    return run_job("chat_queue", clock.now())


# Checkout orders (section 14): open orders past their expiry become expired, with their event.
@app.schedule(Rate(1, unit=Rate.MINUTES), name="order_expiry")
def order_expiry(event):
    return run_job("order_expiry", clock.now())


# Webhooks (section 14): retries of undelivered events on their schedule, then `failed`.
@app.schedule(Rate(1, unit=Rate.MINUTES), name="webhook_dispatch")
def webhook_dispatch(event):
    return run_job("webhook_dispatch", clock.now())


# Notices (section 1, Faults): retries of emails and SMS whose send failed, with backoff for 24 h.
@app.schedule(Rate(1, unit=Rate.MINUTES), name="notify_dispatch")
def notify_dispatch(event):
    return run_job("notify_dispatch", clock.now())


# The live-chat WebSocket (contract, section 12; chalicelib/api/chat_socket.py). Deployed: API
# Gateway's WebSocket API, one function per route; locally, localstage/ws_bridge.py sends the same
# events here. Like an area, the module loads with the first WebSocket event, not with the REST API's
# cold start. Pushes go through chalicelib/adapters/pusher.py, not Chalice's `app.websocket_api`, so no
# boto3 session is made at import.
app.experimental_feature_flags.update(["WEBSOCKETS"])
CHAT_SOCKET = "chalicelib.api.chat_socket"


@app.on_ws_connect()
def websocket_connect(event):
    return importlib.import_module(CHAT_SOCKET).on_connect(event)


@app.on_ws_message()
def websocket_message(event):
    return importlib.import_module(CHAT_SOCKET).on_message(event)


@app.on_ws_disconnect()
def websocket_disconnect(event):
    return importlib.import_module(CHAT_SOCKET).on_disconnect(event)


# Inbound support mail (contract, section 13; chalicelib/api/inbound_mail.py). Deployed: SES stores
# each message in the mail bucket and notifies a topic that feeds this queue (infra/resources.yaml,
# which points the event source at its queue and turns on partial batch responses); locally,
# POST /_local/inbound-email calls the same service. Like the WebSocket, loads with its first batch.
INBOUND_MAIL = "chalicelib.api.inbound_mail"


@app.on_sqs_message(
    queue=f"okpay-{get_settings().stage}-support-mail", batch_size=5, maximum_concurrency=5, name="inbound_mail"
)
def inbound_mail(event):
    return importlib.import_module(INBOUND_MAIL).handle_batch(event.to_dict())


# The first attempt of a new webhook event (section 14; chalicelib/api/webhook_relay.py): the request
# that made the change publishes the event's key to this topic (chalicelib/adapters/webhook_relay.py),
# so no payer waits on a shop's receiver. Like the WebSocket, loads with its first message.
WEBHOOK_RELAY = "chalicelib.api.webhook_relay"


@app.on_sns_message(topic=f"okpay-{get_settings().stage}-webhook-relay", name="webhook_relay")
def webhook_relay(event):
    return importlib.import_module(WEBHOOK_RELAY).handle_message(event.message)
