"""Pure rules of inspections: what a draft save refuses, findings, the capture window, and
what an evidence file may be."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspection_api.checklists.content import EvidenceKind
from inspection_api.checklists.defaults import default_checklist
from inspection_api.checklists.rules import validate_answers
from inspection_api.inspections import media
from inspection_api.inspections.errors import (
    CaptureOutsideWindow,
    EvidenceContentMismatch,
    EvidenceTampered,
    EvidenceTypeRefused,
)
from inspection_api.inspections.rules import (
    check_capture_time,
    findings_of,
    flag_errors,
    merge_answers,
    partial_errors,
)
from tests.integration.inspection_kit import COMPLETE, jpeg, ogg_audio, png, sha256, webm_video

FORM = default_checklist()


@given(st.sets(st.sampled_from(sorted(COMPLETE))))
def test_any_part_of_complete_answers_is_a_valid_draft(keys):
    part = {key: COMPLETE[key] for key in keys}
    assert partial_errors(FORM, part, prefix="body.answers") == []


VALUES = [None, 0, -1, 1.5, 1e30, "", " ", "正常", "x", True, False, {}, {"headcount": 1}, [1]]


@given(st.dictionaries(st.sampled_from([*sorted(COMPLETE), "extra"]), st.sampled_from(VALUES)))
def test_a_draft_refuses_only_what_submitting_would_refuse_too(answers):
    full = {e.field for e in validate_answers(FORM, answers, prefix="a")}
    assert {e.field for e in partial_errors(FORM, answers, prefix="a")} <= full


def test_a_draft_refuses_invalid_values_and_unknown_keys_but_not_gaps():
    answers = {"tax_paid_ytd": -1, "payroll": {"headcount": 3}, "extra": 1, "conclusion": None}
    fields = [e.field for e in partial_errors(FORM, answers, prefix="body.answers")]
    assert fields == ["body.answers.tax_paid_ytd", "body.answers.extra"]


KEYS = [*sorted(COMPLETE), "extra", "supervisor_opinion"]
GROUPS = {"utilities", "payroll", "credit_share_change", "deposits"}


@given(
    st.dictionaries(st.sampled_from(sorted(COMPLETE)), st.sampled_from(VALUES)),
    st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES)),
)
def test_a_merge_stores_each_valid_answer_and_never_loses_one(stored, sent):
    stored = {k: v for k, v in stored.items() if not partial_errors(FORM, {k: v}, prefix="a")}
    merged = merge_answers(FORM, stored, sent, prefix="a")
    refused = {e.field.split(".")[1] for e in merged.refused}
    assert set(sent) == set(merged.saved) | refused  # every key sent is saved or refused
    for key, value in stored.items():
        if key not in sent or key not in merged.saved:  # not sent, or refused: unchanged
            assert merged.answers[key] == value
    for key in merged.saved:
        if sent[key] is None:
            assert key not in merged.answers
        elif key not in GROUPS:
            assert merged.answers[key] == sent[key]
    # What is stored is a valid draft, whatever was sent.
    assert partial_errors(FORM, merged.answers, prefix="a") == []


def test_a_merge_refuses_a_bad_sub_field_and_keeps_its_stored_value():
    stored = {"payroll": {"headcount": 120, "amount": 90}, "litigation": True}
    sent = {"payroll": {"headcount": 12.5, "amount": 101}, "conclusion": "watch"}
    merged = merge_answers(FORM, stored, sent, prefix="body.answers")
    assert merged.answers == {
        "payroll": {"headcount": 120, "amount": 101},
        "litigation": True,
        "conclusion": "watch",
    }
    assert merged.saved == ["payroll", "conclusion"]
    assert [(e.field, e.zh) for e in merged.refused] == [
        ("body.answers.payroll.headcount", "人数：应为整数")
    ]
    # Nothing valid in a group: the group is not saved (and not emptied).
    merged = merge_answers(FORM, stored, {"payroll": {"headcount": "12"}}, prefix="p")
    assert (merged.answers, merged.saved) == (stored, [])
    # A group's object replaces the group's answer: null clears a sub-field, and a group
    # left with nothing is unanswered.
    merged = merge_answers(FORM, stored, {"payroll": {"headcount": None, "amount": 5}}, prefix="p")
    assert merged.answers["payroll"] == {"amount": 5}
    merged = merge_answers(FORM, stored, {"payroll": {"headcount": None}}, prefix="p")
    assert "payroll" not in merged.answers and merged.saved == ["payroll"]


def test_findings_are_the_fired_rules_then_the_flags_in_form_order():
    answers = {**COMPLETE, "license_invalid": True, "litigation": True}
    flags = [{"item_key": "conclusion", "note": "b"}, {"item_key": "payroll", "note": "a"}]
    found = findings_of(FORM, answers, flags)
    assert [(f.source, f.item_key) for f in found] == [
        ("rule", "litigation"),
        ("rule", "license_invalid"),
        ("inspector", "payroll"),
        ("inspector", "conclusion"),
    ]
    assert found[1].severity == "high" and found[2].severity is None and found[2].note == "a"
    twice = flag_errors(FORM, [{"item_key": "payroll", "note": "x"}] * 2)
    assert [e.field for e in twice] == ["body.flags.1.item_key"]


def test_the_capture_window_allows_a_minute_of_clock_skew_each_way():
    start = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
    now = start + timedelta(minutes=30)
    for inside in (start - timedelta(seconds=60), start, now, now + timedelta(seconds=60)):
        check_capture_time(inside, start, now)
    for outside in (start - timedelta(seconds=61), now + timedelta(seconds=61)):
        with pytest.raises(CaptureOutsideWindow) as refused:
            check_capture_time(outside, start, now)
    assert refused.value.message("zh") == (
        "拍摄时间 2026-11-29 10:31:01 不在本次检查期间（2026-11-29 10:00:00 至今），"
        "须在检查现场实时拍摄"
    )


@pytest.mark.parametrize(
    ("kind", "content_type", "data"),
    [
        (EvidenceKind.PHOTO, "image/jpeg", jpeg()),
        (EvidenceKind.PHOTO, "IMAGE/PNG", png()),
        (EvidenceKind.VIDEO, "video/webm;codecs=vp8,opus", webm_video()),
        (EvidenceKind.AUDIO, "audio/ogg; codecs=opus", ogg_audio()),
    ],
)
def test_real_files_of_an_allowed_type_pass(kind, content_type, data):
    mime = media.check_type(kind, content_type)
    media.check_content(mime, data)
    assert media.check_digest(data, sha256(data).upper()) == sha256(data)
    assert media.object_key(7, mime).startswith("inspections/7/evidence/")


def test_types_contents_and_digests_that_do_not_match_are_refused():
    with pytest.raises(EvidenceTypeRefused):
        media.check_type(EvidenceKind.AUDIO, "video/webm")
    with pytest.raises(EvidenceTypeRefused):
        media.check_type(EvidenceKind.PHOTO, "")
    with pytest.raises(EvidenceContentMismatch):
        media.check_content("image/webp", jpeg())
    with pytest.raises(EvidenceContentMismatch):
        media.check_content("video/mp4", webm_video())
    with pytest.raises(EvidenceTampered):
        media.check_digest(jpeg(1), sha256(jpeg(2)))
