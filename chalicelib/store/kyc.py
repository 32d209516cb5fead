"""Real-name verification (table `kyc`): per user, the current case, its documents and decisions.

Items under one user (`record` is the sort key):
- `current`: the case the user and agents see; carries `queue_status` ("pending") only while it
  waits for review, which puts it in GSI by_queue (oldest `submitted_at` first) and nothing else.
- `doc#<document_id>`: an uploaded document's kind, type and S3 key.
- `decision#<stamp>`: who decided what, when and why (kept forever).
"""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.store.base import BaseModel, StageTable

CURRENT = "current"


class KycQueue(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_queue"
        projection = AllProjection()

    queue_status = UnicodeAttribute(hash_key=True)
    submitted_at = UnicodeAttribute(range_key=True)


class KycRecord(BaseModel):
    class Meta(metaclass=StageTable):
        table = "kyc"

    user_id = UnicodeAttribute(hash_key=True)
    record = UnicodeAttribute(range_key=True)

    # current case
    status = UnicodeAttribute(null=True)  # pending | approved | rejected | needs_documents
    level = NumberAttribute(default=0)  # the approved level (kept while an upgrade is pending)
    target_level = NumberAttribute(null=True)
    queue_status = UnicodeAttribute(null=True)
    submitted_at = UnicodeAttribute(null=True)
    reviewed_at = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    required_documents = ListAttribute(of=UnicodeAttribute, null=True)  # asked for by an agent
    id_type = UnicodeAttribute(null=True)
    real_name = UnicodeAttribute(null=True)
    id_hash = UnicodeAttribute(null=True)  # keyed hash: one identity, one account
    id_last4 = UnicodeAttribute(null=True)
    id_number_sealed = UnicodeAttribute(null=True)  # encrypted (chalicelib.adapters.field_crypto)
    nationality = UnicodeAttribute(null=True)
    birth_date = UnicodeAttribute(null=True)
    document_ids = ListAttribute(of=UnicodeAttribute, null=True)
    approved_id_hash = UnicodeAttribute(null=True)  # the identity the approved level belongs to
    approved_real_name = UnicodeAttribute(null=True)

    # document
    kind = UnicodeAttribute(null=True)
    content_type = UnicodeAttribute(null=True)
    s3_key = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)

    # decision
    decision = UnicodeAttribute(null=True)
    agent_id = UnicodeAttribute(null=True)

    by_queue = KycQueue()


def get_case(user_id: str) -> KycRecord | None:
    try:
        return KycRecord.get(user_id, CURRENT, consistent_read=True)
    except KycRecord.DoesNotExist:
        return None


def get_document(user_id: str, document_id: str) -> KycRecord | None:
    try:
        return KycRecord.get(user_id, f"doc#{document_id}", consistent_read=True)
    except KycRecord.DoesNotExist:
        return None
