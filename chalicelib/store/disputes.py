"""Disputes (table `disputes`): one item per dispute, and the claim that keeps one open per transaction.

`status` (`open`, `under_review`, `awaiting_approval`, `refunded`, `rejected`, `withdrawn`) is the
hash key of both agent-facing indexes (`awaiting_approval`: a refund above the four-eyes threshold,
asked for by one agent and waiting for a second one to approve it):
- `by_respond_by` (`status`, `respond_by`): the agents' list, oldest deadline first; `overdue` is the
  key condition `status = open AND respond_by < now`.
- `by_sla_due` (`status`, `sla_due`), sparse: `sla_due` is the next SLA step (the 80 % reminder,
  then `respond_by`) and exists only while the dispute is `open` with no agent reply and not yet
  escalated, so the `dispute_sla` job reads exactly what it must do now.
- `by_user` (`user_id`, `created_at`): the caller's disputes, newest first.
"""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.store.base import BaseModel, StageTable

OPEN_STATUSES = ("open", "under_review")  # agents work it: assign, reply, extend, resolve
AWAITING_APPROVAL = "awaiting_approval"
# Not settled yet: the transaction's claim is held, the user may still write or withdraw, it is an open case.
UNSETTLED_STATUSES = (*OPEN_STATUSES, AWAITING_APPROVAL)


class DisputesByUser(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_user"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class DisputesByRespondBy(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_respond_by"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    respond_by = UnicodeAttribute(range_key=True)


class DisputesBySlaDue(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_sla_due"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    sla_due = UnicodeAttribute(range_key=True)


class Dispute(BaseModel):
    class Meta(metaclass=StageTable):
        table = "disputes"

    dispute_id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute()  # open | under_review | awaiting_approval | refunded | rejected | withdrawn
    user_id = UnicodeAttribute()
    transaction_id = UnicodeAttribute()
    transaction_type = UnicodeAttribute()  # payment | transfer | withdrawal
    reason = UnicodeAttribute()
    description = UnicodeAttribute()
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    debited = NumberAttribute(null=True)  # the disputed debit in full: caps its refunds, no re-read
    respond_by = UnicodeAttribute()  # stamp: 23:59:59 Shanghai on the 3rd working day
    resolve_by = UnicodeAttribute(null=True)
    extension_reason = UnicodeAttribute(null=True)
    sla_due = UnicodeAttribute(null=True)
    sla_stage = UnicodeAttribute(default="none")  # none | reminded | escalated
    escalated = BooleanAttribute(default=False)
    assignee = UnicodeAttribute(null=True)
    agent_replied_at = UnicodeAttribute(null=True)
    outcome_note = UnicodeAttribute(null=True)
    refund_amount = NumberAttribute(null=True)
    refund_transaction_id = UnicodeAttribute(null=True)
    resolved_by = UnicodeAttribute(null=True)
    resolved_at = UnicodeAttribute(null=True)
    # Four eyes: a refund above the threshold, asked for by one agent, posted when another approves.
    approval_amount = NumberAttribute(null=True)
    approval_note = UnicodeAttribute(null=True)
    approval_requested_by = UnicodeAttribute(null=True)
    approval_requested_at = UnicodeAttribute(null=True)
    approved_by = UnicodeAttribute(null=True)
    approved_at = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()

    by_user = DisputesByUser()
    by_respond_by = DisputesByRespondBy()
    by_sla_due = DisputesBySlaDue()


def dispute_claim(transaction_id: str) -> str:
    return f"dispute#{transaction_id}"


def get_dispute(dispute_id: str) -> Dispute | None:
    try:
        return Dispute.get(dispute_id, consistent_read=True)
    except Dispute.DoesNotExist:
        return None
