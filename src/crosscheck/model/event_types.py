"""The types of Gerrit's events that crosscheck reads.

Apart from the events themselves (model/events.py) because configurations name them
(a trigger's `event:`): checking one loads this enumeration without the events' classes.
"""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    PATCHSET_CREATED = "patchset-created"
    COMMENT_ADDED = "comment-added"
    CHANGE_MERGED = "change-merged"
    CHANGE_ABANDONED = "change-abandoned"
    CHANGE_RESTORED = "change-restored"
    REF_UPDATED = "ref-updated"
    WIP_STATE_CHANGED = "wip-state-changed"
    PRIVATE_STATE_CHANGED = "private-state-changed"
    TOPIC_CHANGED = "topic-changed"
    HASHTAGS_CHANGED = "hashtags-changed"
    REVIEWER_ADDED = "reviewer-added"
    CHANGE_DELETED = "change-deleted"
