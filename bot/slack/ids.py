"""Every action_id, block_id and callback_id Hashi uses, prefixed `hashi_` (INTERFACE.md)."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    """action_ids of interactive elements."""

    ACK = "hashi_ack"
    SEVERITY = "hashi_severity"
    STATUS = "hashi_status"
    NOTE = "hashi_note"
    RESOLVE = "hashi_resolve"
    RESOLVE_ANYWAY = "hashi_resolve_anyway"
    REOPEN = "hashi_reopen"
    EXPORT = "hashi_export"
    RETRY_SETUP = "hashi_retry_setup"
    CHECKLIST = "hashi_checklist"
    LIST_PAGE = "hashi_list_page"
    HOME_PAGE = "hashi_home_page"
    DECLARE = "hashi_declare"
    STATUSPAGE_UPDATE = "hashi_statuspage_update"
    TIMELINE_PAGE = "hashi_timeline_page"
    TIMELINE_EDIT = "hashi_timeline_edit"


class View(StrEnum):
    """callback_ids of modals."""

    DECLARE = "hashi_declare_modal"
    NOTE = "hashi_note_modal"
    RESOLVE = "hashi_resolve_modal"
    ENTRY = "hashi_entry_modal"


class Block(StrEnum):
    """block_ids of modal inputs and message blocks."""

    TITLE = "hashi_title"
    SEVERITY = "hashi_severity_block"
    SERVICES = "hashi_services"
    SUMMARY = "hashi_summary"
    PRIVATE = "hashi_private"
    DETECTED = "hashi_detected"
    NOTE_TEXT = "hashi_note_text"
    NOTE_AT = "hashi_note_at"
    RESOLVE_SUMMARY = "hashi_resolve_summary"
    RESOLVE_AT = "hashi_resolve_at"
    CARD_ACTIONS = "hashi_card_actions"
    GATE_SUMMARY = "hashi_gate_summary"
    STATUSPAGE_MESSAGE = "hashi_statuspage_message"
    ENTRY_TEXT = "hashi_entry_text"
    ENTRY_AT = "hashi_entry_at"
    ENTRY_DELETE = "hashi_entry_delete"
    RESOLVE_IMPACT = "hashi_resolve_impact"
    RESOLVE_DETECTED = "hashi_resolve_detected"
    RESOLVE_MITIGATED = "hashi_resolve_mitigated"
    TYPE = "hashi_type"
    # A custom field's input is `hashi_field_<name>` (its value under the Field.CUSTOM action).
    CUSTOM_FIELD = "hashi_field_"


class Field(StrEnum):
    """action_ids of modal inputs (their values arrive under block_id → action_id)."""

    TITLE = "hashi_title_input"
    SEVERITY = "hashi_severity_input"
    SERVICES = "hashi_services_input"
    SUMMARY = "hashi_summary_input"
    PRIVATE = "hashi_private_input"
    DETECTED = "hashi_detected_input"
    NOTE_TEXT = "hashi_note_text_input"
    NOTE_AT = "hashi_note_at_input"
    RESOLVE_SUMMARY = "hashi_resolve_summary_input"
    RESOLVE_AT = "hashi_resolve_at_input"
    GATE_SUMMARY = "hashi_gate_summary_input"
    STATUSPAGE_MESSAGE = "hashi_statuspage_message_input"
    ENTRY_TEXT = "hashi_entry_text_input"
    ENTRY_AT = "hashi_entry_at_input"
    ENTRY_DELETE = "hashi_entry_delete_input"
    RESOLVE_IMPACT = "hashi_resolve_impact_input"
    RESOLVE_DETECTED = "hashi_resolve_detected_input"
    RESOLVE_MITIGATED = "hashi_resolve_mitigated_input"
    TYPE = "hashi_type_input"
    CUSTOM = "hashi_field_input"
