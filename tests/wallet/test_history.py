"""GET /me/transactions (newest first, cursor pages, filters, dates) and GET /me/transactions/{id}."""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import urlencode

import pytest

from chalicelib.adapters import clock
from chalicelib.services.wallet import ledger
from chalicelib.services.wallet.ledger import Leg, Posting
from chalicelib.store.wallet import LedgerEntry
from tests.helpers.http import assert_error, body_of
from tests.helpers.users import make_user, signed_in
from tests.helpers.wallet import add_card, top_up


def history(client, headers, **params):
    query = urlencode({key: value for key, value in params.items() if value is not None})
    return client.get(f"/me/transactions{'?' + query if query else ''}", headers=headers)


def page_of(client, headers, **params):
    response = history(client, headers, **params)
    assert response.status_code == 200, response.body
    return body_of(response)


def every_page(client, headers, **params):
    """All items over every page, and how many pages it took."""
    items, pages, cursor = [], 0, None
    while True:
        body = page_of(client, headers, cursor=cursor, **params)
        items.extend(body["data"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages
        assert pages < 50


def funded_user(client, *amounts, currency="CNY"):
    user = make_user()
    headers = signed_in(user)
    card = add_card(client, headers)
    items = [body_of(top_up(client, headers, card, amount, currency)) for amount in amounts]
    return user, headers, card, items


def post_transfer(payer, payee, amount, currency="CNY"):
    posting = Posting(
        type="transfer",
        legs=[
            Leg("user_wallet", payer.user_id, currency, -amount, description="to payee"),
            Leg("user_wallet", payee.user_id, currency, amount, description="from payer"),
        ],
        parties=[payer.user_id, payee.user_id],
    )
    return ledger.post(posting, clock.now())


def post_conversion(user, amount, to_amount):
    fx = {"rate": "20.0", "from": {"amount": amount, "currency": "CNY"}, "to": {"amount": to_amount, "currency": "JPY"}}
    posting = Posting(
        type="conversion",
        legs=[
            Leg("user_wallet", user.user_id, "CNY", -amount, description="CNY → JPY", fx=fx),
            Leg("system", "fx", "CNY", amount),
            Leg("system", "fx", "JPY", -to_amount),
            Leg("user_wallet", user.user_id, "JPY", to_amount, description="CNY → JPY", fx=fx),
        ],
        parties=[user.user_id],
    )
    return ledger.post(posting, clock.now())


# --- the list ---------------------------------------------------------------------------------


def test_the_list_is_newest_first_with_balance_after(client, stage):
    _, headers, _, made = funded_user(client, 100, 250, 40)
    body = page_of(client, headers)
    assert [item["entry_id"] for item in body["data"]] == [item["entry_id"] for item in reversed(made)]
    assert [item["balance_after"] for item in body["data"]] == [390, 350, 100]
    assert body["next_cursor"] is None
    first = body["data"][0]
    assert first == made[-1]  # the same {transaction} the top-up answered with
    assert first["created_at"].endswith("+08:00")


def test_each_entry_appears_exactly_once_while_new_ones_arrive(client, stage):
    _, headers, card, made = funded_user(client, 1, 2, 3, 4, 5, 6, 7)
    original = [item["entry_id"] for item in reversed(made)]
    seen, cursor, arrived = [], None, []
    while True:
        body = page_of(client, headers, limit=2, cursor=cursor)
        seen.extend(item["entry_id"] for item in body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
        # new money arrives between the pages: it is newer than the first page
        arrived.append(body_of(top_up(client, headers, card, 1000 + len(arrived)))["entry_id"])
    assert seen == original, "every entry that existed once, newest first, nothing new pushed in"
    assert len(arrived) >= 3
    fresh = page_of(client, headers, limit=100)["data"]
    assert [item["entry_id"] for item in fresh] == list(reversed(arrived)) + original


def test_a_page_of_exactly_the_rest_ends_with_an_empty_page_or_null(client, stage):
    _, headers, _, _ = funded_user(client, 1, 2, 3, 4)
    items, pages = every_page(client, headers, limit=2)
    assert len(items) == 4 and len({item["entry_id"] for item in items}) == 4
    assert pages in (2, 3)


def test_filters_by_currency_and_type_may_give_short_pages(client, stage):
    user, headers, card, _ = funded_user(client, 100, 200)
    jpy = [body_of(top_up(client, headers, card, amount, "JPY")) for amount in (5, 6)]
    top_up(client, headers, card, 300)
    other = make_user()
    post_transfer(user, other, 50)

    items, pages = every_page(client, headers, limit=2, currency="JPY")
    assert [item["entry_id"] for item in items] == [item["entry_id"] for item in reversed(jpy)]
    assert pages >= 2  # the filter runs after the page's Limit: short pages, a cursor until the end
    assert [item["balance_after"] for item in items] == [11, 5]

    transfers, _ = every_page(client, headers, type="transfer")
    assert [(t["type"], t["direction"], t["amount"], t["balance_after"]) for t in transfers] == [
        ("transfer", "debit", 50, 550)
    ]
    topups, _ = every_page(client, headers, type="topup", currency="CNY", limit=100)
    assert [item["amount"] for item in topups] == [300, 200, 100]
    assert every_page(client, headers, type="payment")[0] == []


def test_a_conversion_is_two_items_with_one_transaction_id(client, stage):
    user, headers, _, _ = funded_user(client, 10_000)
    posted = post_conversion(user, 1_000, 20_000)
    items = page_of(client, headers, type="conversion")["data"]
    assert {(i["currency"], i["direction"], i["amount"]) for i in items} == {
        ("CNY", "debit", 1000),
        ("JPY", "credit", 20000),
    }
    assert {i["transaction_id"] for i in items} == {posted.transaction_id}
    assert all(i["fx"]["rate"] == "20.0" for i in items)


def test_dates_from_inclusive_to_exclusive(client, stage):
    user = make_user()
    headers = signed_in(user)
    card = add_card(client, headers)
    made = {}
    for day in ("2026-11-20", "2026-11-21", "2026-11-22"):
        clock.set_test_clock(datetime.fromisoformat(f"{day}T10:00:00+08:00"))
        made[day] = body_of(top_up(client, headers, card, 100))
    clock.clear_test_clock()

    items, _ = every_page(client, headers, **{"from": "2026-11-21T00:00:00+08:00", "to": "2026-11-22T00:00:00+08:00"})
    assert [item["entry_id"] for item in items] == [made["2026-11-21"]["entry_id"]]
    since, _ = every_page(client, headers, **{"from": "2026-11-21T00:00:00+08:00"})
    assert [item["entry_id"] for item in since] == [made[d]["entry_id"] for d in ("2026-11-22", "2026-11-21")]
    before, _ = every_page(client, headers, to="2026-11-21T02:00:00Z")  # 10:00 +08:00 is later
    assert [item["entry_id"] for item in before] == [made["2026-11-20"]["entry_id"]]

    # exactly at an entry's instant: `from` includes it, `to` leaves it out
    entry = next(LedgerEntry.query(f"user#{user.user_id}", LedgerEntry.entry_key.startswith("2026-11-21")))
    instant = entry.posted_at
    assert [
        i["entry_id"] for i in every_page(client, headers, **{"from": instant, "to": "2026-11-22T00:00:00+08:00"})[0]
    ] == [entry.entry_id]
    assert every_page(client, headers, **{"from": "2026-11-21T00:00:00+08:00", "to": instant})[0] == []


def test_a_time_without_offset_is_read_in_shanghai(client, stage):
    headers = signed_in(make_user())
    card = add_card(client, headers)
    clock.set_test_clock(datetime.fromisoformat("2026-11-21T00:30:00+08:00"))  # 2026-11-20 16:30 UTC
    made = body_of(top_up(client, headers, card, 100))
    clock.clear_test_clock()
    assert [i["entry_id"] for i in every_page(client, headers, **{"from": "2026-11-21"})[0]] == [made["entry_id"]]
    assert every_page(client, headers, **{"from": "2026-11-21T01:00:00"})[0] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"type": "gift"}, "type"),
        ({"currency": "GBP"}, "currency"),
        ({"currency": "cny"}, "currency"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-01T00:00:00+08:00"}, "to"),
        ({"from": "2026-11-22T00:00:00+08:00", "to": "2026-11-21T00:00:00+08:00"}, "to"),
        ({"from": "2026-11-22T00:00:00+08:00", "to": "2026-11-21T16:00:00Z"}, "to"),  # the same instant
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
    ],
)
def test_invalid_filters_are_400(client, stage, params, field):
    headers = signed_in(make_user())
    assert_error(history(client, headers, **params), 400, "validation_error", field=field)


def test_a_cursor_belongs_to_its_user_and_filters(client, stage):
    _, headers, _, _ = funded_user(client, 1, 2, 3)
    cursor = page_of(client, headers, limit=1)["next_cursor"]
    assert cursor
    assert page_of(client, headers, limit=1, cursor=cursor)["data"]  # its own query: fine
    assert page_of(client, headers, limit=5, cursor=cursor)["data"]  # another page size is the same query
    for other_query in ({"currency": "CNY"}, {"type": "topup"}, {"from": "2026-01-01T00:00:00+08:00"}):
        assert_error(
            history(client, headers, limit=1, cursor=cursor, **other_query), 400, "invalid_cursor", field="cursor"
        )
    _, other_headers, _, _ = funded_user(client, 9, 9)
    assert_error(history(client, other_headers, limit=1, cursor=cursor), 400, "invalid_cursor")
    tampered = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    for bad in (tampered, "not-a-cursor", "x" * 40):
        assert_error(history(client, headers, cursor=bad), 400, "invalid_cursor")


def test_a_cursor_from_another_list_is_400(client, stage):
    from chalicelib.api.pagination import encode_cursor

    user, headers, _, _ = funded_user(client, 1)
    kyc_cursor = encode_cursor("kyc_queue#pending", {"user_id": {"S": user.user_id}})
    assert_error(history(client, headers, cursor=kyc_cursor), 400, "invalid_cursor")


def test_a_page_is_one_strongly_consistent_query_newest_first(client, stage):
    from chalicelib.store.base import shared_connection

    user, headers, card, _ = funded_user(client, 1, 2, 3)
    top_up(client, headers, card, 4, "JPY")
    captured = []
    events = shared_connection().client.meta.events
    events.register("provide-client-params.dynamodb.Query", lambda params, **_: captured.append(params))
    try:
        body = page_of(client, headers, limit=2, currency="JPY", **{"from": "2026-01-01T00:00:00+08:00"})
    finally:
        events.unregister("provide-client-params.dynamodb.Query")
    ledger_queries = [q for q in captured if q["TableName"].endswith("-ledger")]
    assert len(ledger_queries) == 1
    (query,) = ledger_queries
    assert query["ScanIndexForward"] is False and query["ConsistentRead"] is True and query["Limit"] == 2
    assert "IndexName" not in query
    assert f"user#{user.user_id}" in json.dumps(query["ExpressionAttributeValues"], ensure_ascii=False)
    assert [item["currency"] for item in body["data"]] == ["JPY"]


def test_the_list_needs_a_session(client, stage):
    assert_error(client.get("/me/transactions"), 401, "unauthorized")


def test_a_new_user_has_an_empty_history(client, stage):
    headers = signed_in(make_user())
    assert page_of(client, headers) == {"data": [], "next_cursor": None}


# --- one transaction ----------------------------------------------------------------------------


def detail(client, headers, transaction_id):
    return client.get(f"/me/transactions/{transaction_id}", headers=headers)


def test_a_top_up_as_its_owner_sees_it(client, stage):
    _, headers, _, (made,) = funded_user(client, 700)
    response = detail(client, headers, made["transaction_id"])
    assert response.status_code == 200
    body = body_of(response)
    assert {key: body[key] for key in made} == made  # the entry at the top level
    assert body["entries"] == [made]
    assert body["legs"] == [{"account_type": "system", "amount": 700, "currency": "CNY"}]
    assert "bank_clearing" not in response.body.decode()


def test_payer_and_payee_see_the_same_transfer_from_their_sides(client, stage):
    payer, payer_headers, _, _ = funded_user(client, 1_000)
    payee, payee_headers, _, _ = funded_user(client, 30)
    posted = post_transfer(payer, payee, 400)

    mine = body_of(detail(client, payer_headers, posted.transaction_id))
    assert (mine["direction"], mine["amount"], mine["balance_after"]) == ("debit", 400, 600)
    assert [e["entry_id"] for e in mine["entries"]] == [posted.entry_for(payer.user_id).entry_id]
    assert mine["legs"] == [{"account_type": "user_wallet", "amount": 400, "currency": "CNY"}]

    theirs_response = detail(client, payee_headers, posted.transaction_id)
    theirs = body_of(theirs_response)
    assert (theirs["direction"], theirs["amount"], theirs["balance_after"]) == ("credit", 400, 430)
    assert theirs["legs"] == [{"account_type": "user_wallet", "amount": 400, "currency": "CNY"}]
    # the other side is anonymous: no user, account or entry id, no balance
    text = theirs_response.body.decode()
    assert payer.user_id not in text and posted.entry_for(payer.user_id).entry_id not in text
    assert "user#" not in text and [e["balance_after"] for e in theirs["entries"]] == [430]
    assert set(theirs["legs"][0]) == {"account_type", "amount", "currency"}


def test_a_conversion_shows_both_own_entries_and_its_debit_on_top(client, stage):
    user, headers, _, _ = funded_user(client, 10_000)
    posted = post_conversion(user, 1_000, 20_000)
    body = body_of(detail(client, headers, posted.transaction_id))
    assert (body["direction"], body["currency"], body["amount"]) == ("debit", "CNY", 1000)
    assert [(e["currency"], e["direction"], e["balance_after"]) for e in body["entries"]] == [
        ("CNY", "debit", 9000),
        ("JPY", "credit", 20000),
    ]
    assert sorted((leg["currency"], leg["amount"]) for leg in body["legs"]) == [("CNY", 1000), ("JPY", 20000)]
    assert all(leg["account_type"] == "system" for leg in body["legs"])


@pytest.mark.parametrize("transaction_id", ["txn_" + "0" * 32, "trf_" + "0" * 32, "nope", "txn_" + "a" * 300])
def test_an_unknown_transaction_is_404(client, stage, transaction_id):
    headers = signed_in(make_user())
    assert_error(detail(client, headers, transaction_id), 404, "not_found")


def test_another_users_transaction_is_404(client, stage):
    _, _, _, (made,) = funded_user(client, 500)
    stranger = signed_in(make_user())
    assert_error(detail(client, stranger, made["transaction_id"]), 404, "not_found")


def test_a_transfer_is_not_visible_to_a_third_user(client, stage):
    payer, _, _, _ = funded_user(client, 1_000)
    payee = make_user()
    posted = post_transfer(payer, payee, 100)
    third = signed_in(make_user())
    assert_error(detail(client, third, posted.transaction_id), 404, "not_found")


# --- the documented shapes ------------------------------------------------------------------------
# Every reply the `client` fixture receives is validated against the served document
# (tests/helpers/contract.py), so the replies below are checked as they arrive; this test makes sure
# a conversion's two entries (with `fx`, without a counterparty), a top-up (a card as counterparty)
# and a filtered empty page are among them, and pins what the document says about them.


def test_replies_match_the_openapi_document(client, stage):
    document = body_of(client.get("/openapi.json"))
    user, headers, _, (made,) = funded_user(client, 500)
    post_conversion(user, 100, 2_000)
    entries = {item["direction"]: item for item in page_of(client, headers, limit=2)["data"]}
    debit, credit = entries["debit"], entries["credit"]
    assert "counterparty" not in debit and debit["fx"] == credit["fx"]
    assert made["counterparty"]["kind"] == "funding_source"
    assert detail(client, headers, made["transaction_id"]).status_code == 200
    assert detail(client, headers, debit["transaction_id"]).status_code == 200
    assert page_of(client, headers, type="refund")["data"] == []
    parameters = {p["name"]: p for p in document["paths"]["/me/transactions"]["get"]["parameters"] if "name" in p}
    assert {"limit", "cursor", "type", "currency", "from", "to"} <= set(parameters)
    assert parameters["from"]["schema"] == {"$ref": "#/components/schemas/Timestamp"}
    schemas = document["components"]["schemas"]
    detail_schema = schemas["TransactionDetail"]
    assert {"entries", "legs"} <= set(detail_schema["required"])
    assert "primary entry" in detail_schema["description"]
    # present on some entries only: left out of `required`, never sent as null
    transaction = schemas["Transaction"]
    assert {"counterparty", "fx"} & set(transaction["required"]) == set()
    assert "balance_after" in transaction["required"]
    counterparty = schemas["Counterparty"]
    assert counterparty["discriminator"]["propertyName"] == "kind"
    assert set(counterparty["discriminator"]["mapping"]) == {"user", "merchant", "funding_source"}
    assert schemas["FundingSourceCounterparty"]["required"] == ["kind", "id", "name", "last4"]
