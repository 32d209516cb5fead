"""Real-name verification (实名认证): submissions, agent decisions, levels.

One identity, one account: the ID number's keyed hash is claimed (`identity#<hash>` in `claims`)
when an agent approves, and a submission whose identity is verified on another account is
`409 identity_in_use`. The number itself is stored encrypted with its last four characters for
display; the real name is shown whole only to its owner and to agents.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters import clock
from chalicelib.adapters.field_crypto import encrypt_field
from chalicelib.adapters.keys import keyed_hash
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.i18n.locale import DEFAULT_LOCALE, pick
from chalicelib.i18n.phrases import DOCUMENT_KINDS, LIST_SEPARATOR, phrase
from chalicelib.services.common import notice_outbox
from chalicelib.services.common.names import normalize_name
from chalicelib.services.identity.agents import refuse_own_case
from chalicelib.services.kyc import documents as kyc_documents
from chalicelib.services.kyc import identity_numbers
from chalicelib.store.base import shared_connection
from chalicelib.store.conditions import condition_failed
from chalicelib.store.kyc import CURRENT, KycRecord, get_case
from chalicelib.store.notices import Notice
from chalicelib.store.users import Claim, User, find_claim_owner, get_user

MAX_LEVEL = 3
# Documents each level needs, by identity document type.
REQUIRED_DOCUMENTS: dict[str, dict[int, list[str]]] = {
    "cn_resident_id": {
        1: [],
        2: ["id_front", "id_back", "selfie"],
        3: ["id_front", "id_back", "selfie", "proof_of_address"],
    },
    "passport": {1: ["id_front"], 2: ["id_front", "selfie"], 3: ["id_front", "selfie", "proof_of_address"]},
}


@dataclass(frozen=True)
class Submission:
    real_name: str
    id_type: str
    id_number: str
    nationality: str | None
    birth_date: str | None
    target_level: int
    document_ids: list[str]


def identity_claim(id_hash: str) -> str:
    return f"identity#{id_hash}"


def level_of(user_id: str) -> int:
    case = get_case(user_id)
    return int(case.level or 0) if case else 0


def status_of(case: KycRecord | None) -> str:
    return case.status if case and case.status else "unverified"


def submit(user: User, submission: Submission, now: datetime) -> dict:
    today = clock.to_shanghai(now).date()
    name = normalize_name(submission.real_name)
    if not name:
        raise OkpayError("validation_error", field="real_name", reason="missing")
    birth, number = _check_document(submission, today)
    case = get_case(user.user_id)
    level = int(case.level or 0) if case else 0
    if case and case.status == "approved" and submission.target_level <= level:
        raise OkpayError("validation_error", field="target_level", reason="too_small")
    documents = _check_documents(user.user_id, submission.id_type, submission.target_level, submission.document_ids)
    if case and case.status == "pending":
        raise OkpayError("kyc_pending")
    id_hash = keyed_hash("identity", f"{submission.id_type}:{number}")
    owner = find_claim_owner(identity_claim(id_hash))
    if owner and owner != user.user_id:
        raise OkpayError("identity_in_use")
    identity_numbers.ensure_adult(birth, today)
    stamp = clock.stamp(now)
    record = case or KycRecord(user.user_id, CURRENT, level=0)
    record.status = "pending"
    record.queue_status = "pending"
    record.target_level = submission.target_level
    record.submitted_at = stamp
    record.reason = None
    record.required_documents = None
    record.id_type = submission.id_type
    record.real_name = name
    record.id_hash = id_hash
    record.id_last4 = number[-4:]
    record.id_number_sealed = encrypt_field(number, {"field": "id_number", "user_id": user.user_id})
    record.nationality = submission.nationality if submission.id_type == "passport" else "CN"
    record.birth_date = birth.isoformat()
    record.document_ids = documents
    record.save()
    logger.info(
        "kyc submitted",
        extra={"user_id": user.user_id, "event": "kyc_submitted", "target_level": submission.target_level},
    )
    return {"status": "pending"}


def summary(user_id: str) -> dict:
    """GET /me/kyc for the owner."""
    case = get_case(user_id)
    status = status_of(case)
    level = int(case.level or 0) if case else 0
    body: dict = {"status": status, "level": level, "required_documents": _still_required(case, status, level)}
    if level < MAX_LEVEL:
        body["next_level"] = level + 1
    if case and case.reason and status in ("rejected", "needs_documents"):
        body["reason"] = case.reason
    if case and case.submitted_at:
        body["submitted_at"] = clock.isoformat(clock.from_stamp(case.submitted_at))
    if case and case.reviewed_at:
        body["reviewed_at"] = clock.isoformat(clock.from_stamp(case.reviewed_at))
    return body


def decide(
    agent_id: str,
    user_id: str,
    *,
    decision: str,
    level: int | None,
    reason: str | None,
    documents: list[str] | None,
    now: datetime,
) -> dict:
    if decision != "approve" and not (reason and reason.strip()):
        raise OkpayError("validation_error", field="reason", reason="missing")
    if decision == "request_documents" and not documents:
        raise OkpayError("validation_error", field="documents", reason="missing")
    case = get_case(user_id)
    user = get_user(user_id)
    if case is None or user is None:
        raise OkpayError("not_found")
    refuse_own_case(agent_id, user_id)  # 404, then 403 own_case, then 409: whatever the case's state
    if case.status != "pending":
        raise OkpayError("kyc_not_pending", details={"status": status_of(case)})
    if decision == "approve" and _identity_owner(case.id_hash) not in (None, user_id):
        raise OkpayError("identity_in_use")
    stamp = clock.stamp(now)
    granted = level or int(case.target_level or 1)
    actions = [KycRecord.reviewed_at.set(stamp), KycRecord.queue_status.remove()]
    if decision == "approve":
        actions += [
            KycRecord.status.set("approved"),
            KycRecord.level.set(max(granted, int(case.level or 0))),
            KycRecord.reason.remove(),
            KycRecord.required_documents.remove(),
            KycRecord.approved_id_hash.set(case.id_hash),
            KycRecord.approved_real_name.set(case.real_name),
        ]
    elif decision == "reject":
        actions += [KycRecord.status.set("rejected"), KycRecord.reason.set(reason.strip())]
    else:
        actions += [
            KycRecord.status.set("needs_documents"),
            KycRecord.reason.set(reason.strip()),
            KycRecord.required_documents.set(list(documents)),
        ]
    entry = KycRecord(
        user_id, f"decision#{stamp}", decision=decision, agent_id=agent_id, reason=reason, created_at=stamp
    )
    entry.level = granted if decision == "approve" else 0
    notices = _decision_notices(user, decision, granted, reason, documents, now)
    try:
        with TransactWrite(connection=shared_connection()) as transaction:
            # Decided once: a second agent deciding the same case at the same time fails here.
            transaction.update(case, actions=actions, condition=KycRecord.status == "pending")
            transaction.save(entry, condition=KycRecord.record.does_not_exist())
            for notice in notices:  # the user's notices commit with the decision (the notice outbox)
                transaction.save(notice, condition=Notice.notice_id.does_not_exist())
            if decision == "approve" and case.id_hash:
                transaction.save(
                    Claim(identity_claim(case.id_hash), user_id=user_id, created_at=stamp),
                    condition=Claim.claim.does_not_exist() | (Claim.user_id == user_id),
                )
    except TransactWriteError as error:
        if not condition_failed(error):
            raise
        # Which condition failed is read back from the items, not from the cancellation reasons.
        if decision == "approve" and _identity_owner(case.id_hash) not in (None, user_id):
            raise OkpayError("identity_in_use") from None
        raise OkpayError("kyc_not_pending", details={"status": status_of(get_case(user_id))}) from None
    logger.info("kyc decided", extra={"user_id": user_id, "agent_id": agent_id, "event": f"kyc_{decision}"})
    notice_outbox.send_after_commit(notices, now)
    return summary(user_id)


def _identity_owner(id_hash: str | None) -> str | None:
    return find_claim_owner(identity_claim(id_hash)) if id_hash else None


def review_queue(status: str, limit: int, start: dict | None) -> tuple[list[dict], dict | None]:
    """One page of the agents' queue (GSI by_queue, oldest first) and where the next one starts."""
    results = KycRecord.by_queue.query(status, limit=limit, last_evaluated_key=start)
    return [review_queue_item(case) for case in results], results.last_evaluated_key


def review_queue_item(case: KycRecord) -> dict:
    """What an agent sees of a case: everything, with short-lived document download links."""
    return {
        "user_id": case.user_id,
        "status": case.status,
        "level": int(case.level or 0),
        "target_level": int(case.target_level or 1),
        "real_name": case.real_name,
        "id_type": case.id_type,
        "id_last4": case.id_last4,
        "nationality": case.nationality,
        "birth_date": case.birth_date,
        "submitted_at": clock.isoformat(clock.from_stamp(case.submitted_at)) if case.submitted_at else None,
        "documents": [kyc_documents.download_link(case.user_id, doc_id) for doc_id in case.document_ids or []],
    }


def case_for_agent(user_id: str) -> dict:
    """GET /admin/kyc/{user_id}: the case as the review queue shows it (the ID number's last four only,
    5-minute document links), with why it stands where it does and every decision, oldest first."""
    case = get_case(user_id) if user_id.startswith("usr_") else None
    if case is None:
        raise OkpayError("not_found")
    view = review_queue_item(case)
    view["reason"] = case.reason
    view["required_documents"] = list(case.required_documents or [])
    view["reviewed_at"] = clock.isoformat(clock.from_stamp(case.reviewed_at)) if case.reviewed_at else None
    decisions = KycRecord.query(user_id, KycRecord.record.startswith("decision#"), consistent_read=True)
    view["decisions"] = [_decision_view(entry) for entry in decisions]
    return view


def _decision_view(entry: KycRecord) -> dict:
    return {
        "decision": entry.decision,
        "level": int(entry.level) if entry.decision == "approve" and entry.level else None,
        "reason": entry.reason,
        "agent_id": entry.agent_id,
        "decided_at": clock.isoformat(clock.from_stamp(entry.created_at)),
    }


def _check_document(submission: Submission, today: date) -> tuple[date, str]:
    if submission.id_type == "cn_resident_id":
        number, birth = identity_numbers.check_resident_id(submission.id_number, today)
        return birth, number
    number = identity_numbers.check_passport(submission.id_number)
    if not submission.nationality:
        raise OkpayError("validation_error", field="nationality", reason="missing")
    identity_numbers.check_nationality(submission.nationality)
    if not submission.birth_date:
        raise OkpayError("validation_error", field="birth_date", reason="missing")
    try:
        birth = date.fromisoformat(submission.birth_date)
    except ValueError:
        raise OkpayError("validation_error", field="birth_date", reason="format") from None
    if birth > today:
        raise OkpayError("validation_error", field="birth_date", reason="format")
    return birth, number


def _check_documents(user_id: str, id_type: str, target_level: int, document_ids: list[str]) -> list[str]:
    kinds = {kyc_documents.uploaded_kind(user_id, document_id) for document_id in document_ids}
    missing = [kind for kind in REQUIRED_DOCUMENTS[id_type][target_level] if kind not in kinds]
    if missing:
        raise OkpayError(
            "validation_error", field="document_ids", reason="documents_required", details={"missing": missing}
        )
    return list(dict.fromkeys(document_ids))


def _still_required(case: KycRecord | None, status: str, level: int) -> list[str]:
    if status == "needs_documents" and case and case.required_documents:
        return list(case.required_documents)
    id_type = case.id_type if case and case.id_type else "cn_resident_id"
    if status == "pending":
        return []
    if status == "approved" and level >= MAX_LEVEL:
        return []
    target = level + 1 if status == "approved" else max(1, int(case.target_level or 1) if case else 1)
    provided = (
        {kyc_documents.recorded_kind(case.user_id, doc_id) for doc_id in case.document_ids or []} if case else set()
    )
    return [kind for kind in REQUIRED_DOCUMENTS[id_type][target] if kind not in provided]


def _decision_notices(
    user: User, decision: str, level: int, reason: str | None, documents: list[str] | None, now: datetime
) -> list[Notice]:
    """The decision's email (to a verified address) and SMS, to record with it."""
    locale = user.locale or DEFAULT_LOCALE
    kinds = pick(LIST_SEPARATOR, locale).join(phrase(DOCUMENT_KINDS, k, locale) for k in documents or [])
    params = {"level": level, "reason": reason or "", "documents": kinds}
    notices = []
    if user.email and user.email_verified:
        notices.append(notice_outbox.email(user.email, f"kyc_{decision}_email", locale, now, **params))
    if user.phone:
        notices.append(notice_outbox.sms(user.phone, f"kyc_{decision}_sms", locale, now, **params))
    return [notice for notice in notices if notice is not None]


def new_document_id() -> str:
    return f"doc_{uuid.uuid4().hex}"
