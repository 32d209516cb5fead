"""Agents' live-chat presence (table `chat-presence`), contract section 12.

One item per agent (`agent_id`): `status` (`online` | `away`), `max_chats` (1–10) and `active`, the
number of chats the agent holds. `active` changes only inside the TransactWriteItems that accepts
a chat (condition: online and active < max_chats) or ends one, so capacity holds under parallel
accepts. Index `by_status` (`status`, `agent_id`): who is online, a Query (never a Scan).
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection

from chalicelib.store.base import BaseModel, StageTable

ONLINE, AWAY = "online", "away"
DEFAULT_MAX_CHATS = 3


class PresenceByStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_status"
        projection = KeysOnlyProjection()

    status = UnicodeAttribute(hash_key=True)
    agent_id = UnicodeAttribute(range_key=True)


class AgentPresence(BaseModel):
    class Meta(metaclass=StageTable):
        table = "chat-presence"

    agent_id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute(default=AWAY)  # online | away
    max_chats = NumberAttribute(default=DEFAULT_MAX_CHATS)
    active = NumberAttribute(default=0)  # chats held now
    display_name = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)

    by_status = PresenceByStatus()


def get_presence(agent_id: str) -> AgentPresence | None:
    try:
        return AgentPresence.get(agent_id, consistent_read=True)
    except AgentPresence.DoesNotExist:
        return None


def online_agent_ids() -> list[str]:
    """Every agent whose presence is `online` (a Query on `by_status`)."""
    return [item.agent_id for item in AgentPresence.by_status.query(ONLINE)]
