"""Where a scheduled job left off (table `counters`, item `job#<name>`), so runs resume."""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute

from chalicelib.store.base import BaseModel, StageTable


class JobState(BaseModel):
    class Meta(metaclass=StageTable):
        table = "counters"

    counter_id = UnicodeAttribute(hash_key=True)  # "job#<name>"
    position = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)


def read_position(job: str) -> str | None:
    try:
        return JobState.get(f"job#{job}", consistent_read=True).position
    except JobState.DoesNotExist:
        return None


def save_position(job: str, position: str, updated_at: str) -> None:
    JobState(f"job#{job}", position=position, updated_at=updated_at).save()
