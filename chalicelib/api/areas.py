"""Which module declares each route: `import app` registers every route from this table without
importing the areas, and a route's module (its handlers, services, store models) is imported on
the first request to it (chalicelib.api.routing.mount_area). So a Lambda cold start pays for the
HTTP edge, and its first request for the one area it uses.

tests/api/test_areas.py checks that the table lists exactly the routes each module declares with
`@operation`; `load_all` imports every area (the OpenAPI document needs them all).
"""

from __future__ import annotations

import importlib

Routes = tuple[tuple[str, str], ...]

AREAS: dict[str, Routes] = {
    "chalicelib.api.public": (
        ("GET", "/health"),
        ("GET", "/openapi.json"),
        ("GET", "/support/contact"),
        ("GET", "/merchants"),
        ("GET", "/fx/rates"),
    ),
    "chalicelib.api.docs": (
        ("GET", "/docs"),
        ("GET", "/docs/{asset}"),
    ),
    "chalicelib.api.console": (
        ("GET", "/console"),
        ("GET", "/console/{asset}"),
    ),
    "chalicelib.api.identity.auth": (
        ("POST", "/auth/register/start"),
        ("POST", "/auth/register"),
        ("POST", "/auth/login"),
        ("POST", "/auth/mfa/send"),
        ("POST", "/auth/mfa/verify"),
        ("POST", "/auth/token/refresh"),
        ("POST", "/auth/logout"),
        ("POST", "/auth/password/forgot"),
        ("POST", "/auth/password/reset"),
    ),
    "chalicelib.api.account.me": (
        ("GET", "/me"),
        ("PATCH", "/me"),
        ("POST", "/me/contacts/verify"),
        ("POST", "/me/contacts/resend"),
        ("POST", "/me/contacts/change"),
        ("POST", "/me/password"),
        ("GET", "/me/sessions"),
        ("DELETE", "/me/sessions/{session_id}"),
        ("DELETE", "/me/sessions"),
        ("POST", "/me/mfa/totp"),
        ("POST", "/me/mfa/totp/activate"),
        ("POST", "/me/mfa/totp/disable"),
        ("PUT", "/me/mfa"),
        ("POST", "/me/mfa/recovery-codes"),
        ("POST", "/me/close"),
    ),
    "chalicelib.api.kyc.verification": (
        ("POST", "/me/kyc"),
        ("GET", "/me/kyc"),
        ("POST", "/me/kyc/documents"),
        ("GET", "/admin/kyc"),
        ("GET", "/admin/kyc/{user_id}"),
        ("POST", "/admin/kyc/{user_id}/decision"),
    ),
    "chalicelib.api.account.agent_users": (
        ("GET", "/admin/users"),
        ("GET", "/admin/users/{user_id}"),
        ("GET", "/admin/users/{user_id}/transactions"),
    ),
    "chalicelib.api.account.agent_protection": (
        ("POST", "/admin/users/{user_id}/freeze"),
        ("POST", "/admin/users/{user_id}/unfreeze"),
    ),
    "chalicelib.api.account.protection": (
        ("POST", "/me/freeze"),
        ("POST", "/me/unfreeze/start"),
        ("POST", "/me/unfreeze"),
        ("GET", "/me/security-events"),
    ),
    "chalicelib.api.identity.freeze": (
        ("POST", "/auth/freeze"),
        ("POST", "/auth/freeze/confirm"),
        ("POST", "/auth/freeze/link"),
    ),
    "chalicelib.api.wallet.wallet": (
        ("GET", "/me/wallet"),
        ("POST", "/me/funding-sources"),
        ("GET", "/me/funding-sources"),
        ("DELETE", "/me/funding-sources/{funding_source_id}"),
        ("POST", "/me/topups"),
    ),
    "chalicelib.api.wallet.transfers": (
        ("POST", "/recipients/lookup"),
        ("POST", "/transfers"),
        ("POST", "/transfers/{transfer_id}/confirm"),
        ("POST", "/transfers/{transfer_id}/resend"),
        ("POST", "/transfers/{transfer_id}/cancel"),
        ("GET", "/transfers/{transfer_id}"),
    ),
    "chalicelib.api.wallet.payments": (
        ("POST", "/payments"),
        ("POST", "/me/withdrawals"),
        ("POST", "/me/conversions"),
    ),
    "chalicelib.api.wallet.orders": (
        ("GET", "/orders/{order_id}"),
        ("POST", "/orders/{order_id}/pay"),
    ),
    "chalicelib.api.merchants.admin": (
        ("POST", "/admin/merchants"),
        ("PATCH", "/admin/merchants/{merchant_id}"),
        ("POST", "/admin/merchants/{merchant_id}/keys"),
        ("DELETE", "/admin/merchants/{merchant_id}/keys/{key_id}"),
    ),
    "chalicelib.api.merchants.checkout": (
        ("POST", "/merchant/orders"),
        ("GET", "/merchant/orders"),
        ("GET", "/merchant/orders/{order_id}"),
        ("POST", "/merchant/orders/{order_id}/close"),
        ("POST", "/merchant/orders/{order_id}/refunds"),
    ),
    "chalicelib.api.merchants.events": (
        ("GET", "/merchant/events"),
        ("POST", "/merchant/events/{event_id}/redeliver"),
    ),
    "chalicelib.api.wallet.history": (
        ("GET", "/me/transactions"),
        ("GET", "/me/transactions/{transaction_id}"),
        ("GET", "/admin/reconciliation/latest"),
    ),
    "chalicelib.api.support.disputes": (
        ("POST", "/disputes"),
        ("GET", "/disputes"),
        ("GET", "/disputes/{dispute_id}"),
        ("POST", "/disputes/{dispute_id}/messages"),
        ("POST", "/disputes/{dispute_id}/withdraw"),
        ("GET", "/admin/disputes"),
        ("GET", "/admin/disputes/{dispute_id}"),
        ("POST", "/admin/disputes/{dispute_id}/assign"),
        ("POST", "/admin/disputes/{dispute_id}/messages"),
        ("POST", "/admin/disputes/{dispute_id}/extend"),
        ("POST", "/admin/disputes/{dispute_id}/resolve"),
        ("POST", "/admin/disputes/{dispute_id}/approve"),
    ),
    "chalicelib.api.support.chat_sockets": (
        ("POST", "/support/chats/ws-ticket"),
        ("POST", "/admin/chats/ws-ticket"),
    ),
    "chalicelib.api.support.chats": (
        ("POST", "/support/chats"),
        ("GET", "/support/chats"),
        ("GET", "/support/chats/{chat_id}"),
        ("GET", "/support/chats/{chat_id}/messages"),
        ("POST", "/support/chats/{chat_id}/messages"),
        ("POST", "/support/chats/{chat_id}/read"),
        ("POST", "/support/chats/{chat_id}/close"),
        ("GET", "/admin/chats"),
        ("GET", "/admin/chats/{chat_id}"),
        ("POST", "/admin/chats/{chat_id}/accept"),
        ("POST", "/admin/chats/{chat_id}/messages"),
        ("POST", "/admin/chats/{chat_id}/resolve"),
        ("POST", "/admin/chats/{chat_id}/to-ticket"),
        ("PUT", "/admin/presence"),
    ),
    "chalicelib.api.support.tickets": (
        ("POST", "/support/tickets"),
        ("GET", "/support/tickets"),
        ("GET", "/support/tickets/{ticket_id}"),
        ("POST", "/support/tickets/{ticket_id}/messages"),
        ("GET", "/admin/tickets"),
        ("GET", "/admin/tickets/{ticket_id}"),
        ("POST", "/admin/tickets/{ticket_id}/messages"),
        ("POST", "/admin/tickets/{ticket_id}/status"),
    ),
}
# The /_local tools: mounted only in the local stage (app.create_app).
LOCAL_AREA = "chalicelib.api.local"
LOCAL_ROUTES: Routes = (
    ("GET", "/_local/outbox"),
    ("POST", "/_local/jobs/{job}"),
    ("GET", "/_local/clock"),
    ("PUT", "/_local/clock"),
    ("DELETE", "/_local/clock"),
    ("POST", "/_local/inbound-email"),
    ("PUT", "/_local/faults"),
    ("DELETE", "/_local/faults"),
)


def load_all(*, local: bool) -> None:
    """Import every area (and the /_local tools when `local`), so every operation is declared."""
    for module in [*AREAS, *([LOCAL_AREA] if local else [])]:
        importlib.import_module(module)
