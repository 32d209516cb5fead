"""Support tickets (table `tickets`): one item per ticket.

`status` (`new`, `open`, `pending`, `solved`, `closed`) is the hash key of:
- `by_first_response_due` (`status`, `first_response_due`): the agents' queue, oldest due first;
- `by_sla_due` (`status`, `sla_due`), sparse: the next SLA step (80 % reminder, then the due time)
  until the first agent reply; the `ticket_sla` job queries `new`, `open` and `pending` only, so a
  solved ticket keeps its step and picks it up again if the user reopens it.
- `by_user` (`user_id`, `created_at`): the caller's tickets, newest first. Sparse: an email ticket
  from a sender who is not a verified account email has no `user_id` and belongs to nobody.

`quarantined` (section 13): an email ticket held back as spam or failing DMARC; agents only.
"""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.store.base import BaseModel, StageTable

SLA_STATUSES = ("new", "open", "pending")  # the `by_sla_due` partitions `ticket_sla` reads


class TicketsByUser(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_user"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class TicketsByFirstResponseDue(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_first_response_due"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    first_response_due = UnicodeAttribute(range_key=True)


class TicketsBySlaDue(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_sla_due"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    sla_due = UnicodeAttribute(range_key=True)


class Ticket(BaseModel):
    class Meta(metaclass=StageTable):
        table = "tickets"

    ticket_id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute()  # new | open | pending | solved | closed | quarantined
    user_id = UnicodeAttribute(null=True)  # absent: an email ticket from an unverified sender
    subject = UnicodeAttribute()
    category = UnicodeAttribute()
    transaction_id = UnicodeAttribute(null=True)
    source = UnicodeAttribute(null=True)  # app | chat | email (absent: app)
    requester_email = UnicodeAttribute(null=True)  # email tickets: the From address, lower case
    verified_sender = BooleanAttribute(null=True)  # email tickets: the sender owns `user_id`
    locale = UnicodeAttribute(null=True)  # email tickets: the language we write to the requester in
    first_response_due = UnicodeAttribute()  # stamp: created_at + 24 h
    first_responded_at = UnicodeAttribute(null=True)
    sla_due = UnicodeAttribute(null=True)
    sla_stage = UnicodeAttribute(default="none")  # none | reminded | escalated
    escalated = BooleanAttribute(default=False)
    assignee = UnicodeAttribute(null=True)  # the agent who last replied
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()

    by_user = TicketsByUser()
    by_first_response_due = TicketsByFirstResponseDue()
    by_sla_due = TicketsBySlaDue()


def get_ticket(ticket_id: str) -> Ticket | None:
    try:
        return Ticket.get(ticket_id, consistent_read=True)
    except Ticket.DoesNotExist:
        return None
