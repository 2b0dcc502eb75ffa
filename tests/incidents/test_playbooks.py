"""Playbook files: shipped ones load cleanly, broken ones are reported at the right line, matching works."""

from __future__ import annotations

import copy
import hashlib
import json
import textwrap
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
import yaml

from bot.incidents import playbook_schema
from bot.incidents.playbooks import (
    SLACK_OPTION_TEXT,
    Applicability,
    Playbook,
    PlaybookItem,
    PlaybookProblem,
    find_playbook,
    load_playbook,
    load_playbooks,
    matching,
    slug,
    status_update_minutes,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED = REPO_ROOT / "playbooks"
SCHEMA = SHIPPED / "hashi-playbook.schema.json"
FIXTURES = Path(__file__).resolve().parent / "fixtures_playbooks"
SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
ROLES = ("lead", "comms", "scribe", "ops")
SHIPPED_NAMES = {"major-incident", "security-incident", "datastore-outage", "bad-deploy-rollback", "sev-ja"}


def load(directory: Path) -> tuple[list[Playbook], list[PlaybookProblem]]:
    """Loads a folder with the default configuration."""
    return load_playbooks(directory, severities=SEVERITIES, roles=ROLES)


def problems_in(tmp_path: Path, text: str, *, name: str = "x.yaml") -> list[PlaybookProblem]:
    """Writes one playbook file and returns what loading it reports."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    playbook, problems = load_playbook(path, severities=SEVERITIES, roles=ROLES)
    assert (playbook is None) == bool(problems)
    return problems


def only(problems: list[PlaybookProblem]) -> PlaybookProblem:
    """The single problem reported."""
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def loaded(tmp_path: Path, text: str) -> Playbook:
    """A playbook built from YAML text that must load without problems."""
    path = tmp_path / "ok.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    playbook, problems = load_playbook(path, severities=SEVERITIES, roles=ROLES)
    assert problems == []
    assert playbook is not None
    return playbook


# --- the shipped playbooks


def test_every_shipped_playbook_loads_without_problems() -> None:
    playbooks, problems = load(SHIPPED)
    assert [str(p) for p in problems] == []
    assert {p.name for p in playbooks} == SHIPPED_NAMES
    assert len(list(SHIPPED.glob("*.yaml"))) == len(playbooks)


def test_shipped_items_are_actionable_and_fit_a_checkbox() -> None:
    playbooks, _ = load(SHIPPED)
    for playbook in playbooks:
        assert playbook.description
        for item in playbook.items:
            where = f"{playbook.name}/{item.key}"
            assert item.details, where
            assert len(item.title) <= SLACK_OPTION_TEXT, where
            assert item.role in ROLES, where


def test_major_incident_is_what_the_issue_asks_for() -> None:
    playbooks, _ = load(SHIPPED)
    major = find_playbook(playbooks, "major-incident")
    assert major is not None
    assert major.applies_to.severities == ("SEV1", "SEV2")
    assert major.status_updates == {"SEV1": 15, "SEV2": 30}
    items = {i.key: i for i in major.items}
    lead = items["assign-lead"]
    assert (lead.role, lead.due, lead.required) == ("lead", timedelta(minutes=5), True)
    first = items["first-customer-update"]
    assert (first.role, first.due, first.required) == ("comms", timedelta(minutes=30), True)
    assert items["status-page"].role == "comms"
    assert items["status-page"].due == timedelta(minutes=15)
    assert not items["schedule-postmortem"].required


def test_shipped_playbooks_match_the_incidents_they_are_for() -> None:
    playbooks, _ = load(SHIPPED)

    def names(**incident: object) -> set[str]:
        return {p.name for p in matching(playbooks, **incident)}  # type: ignore[arg-type]

    assert names(severity="SEV1", services=["checkout"], private=False) == {"major-incident"}
    assert names(severity="SEV1", services=["checkout"], private=True) == {
        "major-incident",
        "security-incident",
    }
    assert names(severity="SEV3", services=["postgres"], private=False) == {"datastore-outage"}
    assert names(severity="SEV4", services=[], private=False, types=["deploy"]) == {"bad-deploy-rollback"}
    # sev-ja starts only on incidents typed `ja`, so it never runs beside major-incident by accident.
    assert "sev-ja" in names(severity="SEV2", services=[], private=False, types=["ja"])
    assert names(severity="SEV3", services=[], private=False) == set()


def test_public_communication_items_are_skipped_for_private_incidents() -> None:
    playbooks, _ = load(SHIPPED)
    major = find_playbook(playbooks, "major-incident")
    assert major is not None
    public = {i.key for i in major.items_for(severity="SEV1", services=[], private=False)}
    private = {i.key for i in major.items_for(severity="SEV1", services=[], private=True)}
    assert {"status-page", "first-customer-update"} <= public
    assert "status-page" not in private
    assert "assign-lead" in private


def test_cadence_is_the_shortest_any_running_playbook_asks_for() -> None:
    playbooks, _ = load(SHIPPED)
    running = matching(playbooks, severity="SEV1", services=[], private=True)
    assert status_update_minutes(running, "SEV1") == 15
    security = [p for p in playbooks if p.name == "security-incident"]
    assert status_update_minutes(security, "SEV2") == 60
    assert status_update_minutes(security, "SEV4") is None
    assert status_update_minutes([], "SEV1") is None


def test_japanese_playbook_round_trips_its_text() -> None:
    playbooks, _ = load(SHIPPED)
    ja = find_playbook(playbooks, "sev-ja")
    assert ja is not None
    assert ja.title == "重大障害対応 (SEV1/SEV2)"
    titles = {i.key: i.title for i in ja.items}
    assert titles["assign-lead"] == "指揮者（インシデントリード）をアサインする"
    assert titles["first-customer-update"] == "顧客への第一報を出す（30分以内）"
    first = next(i for i in ja.items if i.key == "first-customer-update")
    assert first.due == timedelta(minutes=30)
    assert first.required
    # Folding Japanese lines must not put spaces between sentences.
    assert all("。 " not in i.details for i in ja.items)
    raw = yaml.safe_load((SHIPPED / "sev-ja.yaml").read_text(encoding="utf-8"))
    assert [i["title"] for i in raw["items"]] == [i.title for i in ja.items]


def test_japanese_text_in_a_team_file_round_trips(tmp_path: Path) -> None:
    playbook = loaded(
        tmp_path,
        """
        name: db-ja
        title: データベース障害
        items:
          - key: check-replication
            title: レプリケーション遅延を確認する
            details: "フェイルオーバーの前に: 遅延が大きいレプリカは昇格しない"
        """,
    )
    assert playbook.title == "データベース障害"
    assert playbook.items[0].title == "レプリケーション遅延を確認する"
    assert playbook.items[0].details == "フェイルオーバーの前に: 遅延が大きいレプリカは昇格しない"


def test_every_shipped_playbook_follows_the_published_schema() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted(SHIPPED.glob("*.yaml")):
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text(encoding="utf-8")))]
        assert errors == [], path.name


def test_the_shipped_files_known_valid_are_these_files_and_valid_as_they_are() -> None:
    # The loader skips jsonschema for a file whose digest is in SHIPPED_VALID: each must be a shipped file
    # that the loader's own check passes without reading anything as other than it is written.
    digests = {hashlib.sha256(path.read_bytes()).hexdigest(): path for path in SHIPPED.glob("*.yaml")}
    assert set(digests) == playbook_schema.SHIPPED_VALID, "playbooks/ changed: update SHIPPED_VALID"
    for path in digests.values():
        doc = playbook_schema.document(playbook_schema.compose(path.read_text(encoding="utf-8"))[0])
        value = copy.deepcopy(doc.value)
        assert playbook_schema.validate(doc) == [] and doc.value == value, path.name


@pytest.mark.parametrize("case", ["unknown-key", "bad-duration", "wrong-type", "empty-items"])
def test_the_schema_refuses_what_the_loader_refuses(case: str) -> None:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    document = yaml.safe_load((FIXTURES / case / "x.yaml").read_text(encoding="utf-8"))
    assert list(validator.iter_errors(document))


# --- broken files: the right line and the right reason

FIXTURE_CASES = [
    ("unknown-key", "x.yaml", 5, ["item 2: unknown key 'titel'", "did you mean 'title'?"]),
    ("bad-duration", "x.yaml", 6, ["item 1 due:", "ten minutes", "duration"]),
    ("unknown-role", "x.yaml", 7, ["item 2 role: unknown role 'comunications'", "lead, comms, scribe, ops"]),
    ("unknown-severity", "x.yaml", 6, ["applies_to.severities: unknown severity 'SEV0'", "SEV1, SEV2"]),
    ("duplicate-item-key", "x.yaml", 6, ["key 'assign-an-incident-lead'", "already used at line 4"]),
    ("duplicate-name", "b.yaml", 2, ["name: 'same-name' is already used by a.yaml:1"]),
    ("yaml-syntax", "x.yaml", 5, ["YAML syntax error", "expected ',' or ']'", "starts at line 4"]),
    ("wrong-type", "x.yaml", 5, ["item 1 required: must be true or false", "'sometimes'"]),
    ("empty-items", "x.yaml", 3, ["items: is an empty list"]),
]


@pytest.mark.parametrize(
    ("case", "file", "line", "phrases"), FIXTURE_CASES, ids=[c[0] for c in FIXTURE_CASES]
)
def test_a_broken_file_is_reported_at_the_offending_line(
    case: str, file: str, line: int, phrases: list[str]
) -> None:
    playbooks, problems = load(FIXTURES / case)
    problem = only(problems)
    assert problem.path == FIXTURES / case / file
    assert problem.line == line
    for phrase in phrases:
        assert phrase in problem.message
    assert str(problem) == f"{FIXTURES / case / file}:{line}: {problem.message}"
    # A file with a problem is left out; with a duplicate name, the first file (by name) is kept.
    assert [p.name for p in playbooks] == (["same-name"] if case == "duplicate-name" else [])
    if playbooks:
        assert playbooks[0].path == FIXTURES / case / "a.yaml"


def test_good_files_load_beside_broken_ones(tmp_path: Path) -> None:
    (tmp_path / "good.yml").write_text(
        "name: good\ntitle: Good\nitems:\n  - title: Do it\n", encoding="utf-8"
    )
    (tmp_path / "bad.yaml").write_text("name: bad\ntitle: Bad\nitems:\n  - title: Do it\n    due: soon\n")
    (tmp_path / "notes.txt").write_text("not a playbook")
    (tmp_path / ".hidden.yaml").write_text(": : :")
    playbooks, problems = load(tmp_path)
    assert [p.name for p in playbooks] == ["good"]
    assert [(p.path.name, p.line) for p in problems] == [("bad.yaml", 5)]


def test_a_missing_folder_is_one_problem_without_a_line(tmp_path: Path) -> None:
    playbooks, problems = load(tmp_path / "nowhere")
    assert playbooks == []
    problem = only(problems)
    assert problem.line == 0
    assert str(problem) == f"{tmp_path / 'nowhere'}: no such folder of playbooks"


def test_an_unknown_top_level_key_suggests_the_right_one(tmp_path: Path) -> None:
    problem = only(
        problems_in(
            tmp_path,
            """
            name: p
            title: P
            aplies_to:
              severities: [SEV1]
            items:
              - title: Do it
            """,
        )
    )
    assert problem.line == 3
    assert problem.message == "playbook: unknown key 'aplies_to'; did you mean 'applies_to'?"


def test_an_unknown_key_without_a_near_miss_lists_the_valid_ones(tmp_path: Path) -> None:
    problem = only(problems_in(tmp_path, "name: p\ntitle: P\nitems:\n  - title: Do it\n    colour: red\n"))
    assert problem.line == 5
    assert "unknown key 'colour'" in problem.message
    assert "key, title, details, link, role, due, when, required" in problem.message


def test_an_unknown_key_in_a_condition(tmp_path: Path) -> None:
    problem = only(
        problems_in(
            tmp_path,
            """
            name: p
            title: P
            items:
              - title: Do it
                when:
                  severity: [SEV1]
            """,
        )
    )
    assert problem.line == 6
    assert problem.message == "item 1 when: unknown key 'severity'; did you mean 'severities'?"


@pytest.mark.parametrize(
    ("due", "phrase"),
    [
        ("10", "10 has no unit; write e.g. 10m"),
        ("1:30", "1:30 has no unit"),
        ("0m", "longer than zero"),
        ("soon", 'could not read "soon"'),
        ("200d", "too far ahead"),
        ("[10m]", "must be a duration such as 10m or 1h30m, not a list"),
        ("true", "not true/false"),
    ],
)
def test_bad_due_times(tmp_path: Path, due: str, phrase: str) -> None:
    problem = only(problems_in(tmp_path, f"name: p\ntitle: P\nitems:\n  - title: Do it\n    due: {due}\n"))
    assert problem.line == 5
    assert problem.message.startswith("item 1 due:")
    assert phrase in problem.message


@pytest.mark.parametrize(
    ("due", "expected"),
    [("10m", timedelta(minutes=10)), ("1h30m", timedelta(minutes=90)), ("2h", timedelta(hours=2))],
)
def test_good_due_times(tmp_path: Path, due: str, expected: timedelta) -> None:
    playbook = loaded(tmp_path, f"name: p\ntitle: P\nitems:\n  - title: Do it\n    due: {due}\n")
    assert playbook.items[0].due == expected


def test_an_unknown_severity_in_an_item_condition_points_at_that_value(tmp_path: Path) -> None:
    problem = only(
        problems_in(
            tmp_path,
            """
            name: p
            title: P
            items:
              - title: Do it
              - title: Page the VP
                when: {severities: [SEV1,
                                    SEV5]}
            """,
        )
    )
    assert problem.line == 7
    assert problem.message.startswith("item 2 when.severities: unknown severity 'SEV5'")


def test_status_updates_problems(tmp_path: Path) -> None:
    problems = problems_in(
        tmp_path,
        """
        name: p
        title: P
        status_updates:
          SEV1: 15
          SEV9: 30
          SEV2: often
          SEV3: 0
        items:
          - title: Do it
        """,
    )
    assert [(p.line, p.message) for p in problems] == [
        (5, "status_updates: unknown severity 'SEV9' (configured: SEV1, SEV2, SEV3, SEV4)"),
        (6, "status_updates.SEV2: must be a whole number of minutes, not the text 'often'"),
        (7, "status_updates.SEV3: must be between 1 and 172800 minutes"),
    ]


def test_severities_and_roles_are_read_in_any_case(tmp_path: Path) -> None:
    playbook = loaded(
        tmp_path,
        """
        name: p
        title: P
        applies_to: {severities: [sev1, Sev2]}
        status_updates: {sev1: 10}
        items:
          - title: Do it
            role: Comms
        """,
    )
    assert playbook.applies_to.severities == ("SEV1", "SEV2")
    assert playbook.status_updates == {"SEV1": 10}
    assert playbook.items[0].role == "comms"


def test_an_explicit_duplicate_item_key(tmp_path: Path) -> None:
    problem = only(
        problems_in(
            tmp_path,
            """
            name: p
            title: P
            items:
              - key: lead
                title: Assign a lead
              - key: lead
                title: Brief the lead
            """,
        )
    )
    assert problem.line == 6
    assert problem.message == (
        "item 2 key: 'lead' is used twice (first at line 4); give one of them a distinct `key:`"
    )


def test_a_key_given_twice_in_one_mapping(tmp_path: Path) -> None:
    problem = only(problems_in(tmp_path, "name: p\ntitle: P\nitems:\n  - title: A\n    title: B\n"))
    assert problem.line == 5
    assert problem.message == "item 1: 'title' is given twice (first at line 4); keep one"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("name: p\ntitle: P\nitems: {title: Do it}\n", 3, "items: must be a list of items"),
        ("name: p\ntitle: P\nitems:\n  - Do it\n", 4, "item 1: must be a mapping of `key: value` lines"),
        (
            "name: p\ntitle: P\napplies_to:\n  private: maybe\nitems:\n  - title: A\n",
            4,
            "not the text 'maybe'",
        ),
        (
            "name: p\ntitle: P\napplies_to:\n  services: checkout\nitems:\n  - title: A\n",
            4,
            "e.g. [checkout]",
        ),
        ("name: p\ntitle: P\napplies_to:\n  types: []\nitems:\n  - title: A\n", 4, "is an empty list"),
        ("name: p\ntitle: [P]\nitems:\n  - title: A\n", 2, "title: must be text, not a list"),
        ("- name: p\n", 1, "playbook: must be a mapping"),
        ("name: p\ntitle: P\nitems:\n  - title: A\n    role: [lead]\n", 5, "item 1 role: must be text"),
    ],
)
def test_wrong_types(tmp_path: Path, text: str, line: int, message: str) -> None:
    problem = only(problems_in(tmp_path, text))
    assert problem.line == line
    assert message in problem.message


def test_missing_required_keys_point_at_the_mapping(tmp_path: Path) -> None:
    problems = problems_in(tmp_path, "description: nothing else\n")
    assert [(p.line, p.message) for p in problems] == [
        (1, "playbook: no 'name' given"),
        (1, "playbook: no 'title' given"),
        (1, "playbook: no 'items' given"),
    ]


def test_names_keys_links_and_lengths(tmp_path: Path) -> None:
    long_title = "x" * 151
    problems = problems_in(
        tmp_path,
        f"""
        name: Major Incident
        title: P
        items:
          - key: Assign_Lead!
            title: A
          - title: {long_title}
          - title: B
            link: www.example.com
        """,
    )
    assert [(p.line, p.message) for p in problems] == [
        (1, "name: 'Major Incident' must be lowercase letters, digits and hyphens"),
        (4, "item 1 key: 'Assign_Lead!' must be lowercase letters, digits and hyphens"),
        (6, "item 2 title: is 151 characters long; keep it to 150"),
        (8, "item 3 link: must start with https:// or http://"),
    ]


def test_a_title_without_ascii_letters_needs_a_key(tmp_path: Path) -> None:
    problem = only(problems_in(tmp_path, "name: p\ntitle: P\nitems:\n  - title: 指揮者をアサインする\n"))
    assert problem.line == 4
    assert "add a `key:`" in problem.message


def test_yaml_problems(tmp_path: Path) -> None:
    tab = only(problems_in(tmp_path, "name: p\ntitle: P\nitems:\n\t- title: A\n"))
    assert tab.line == 4
    assert "YAML syntax error" in tab.message
    two = only(problems_in(tmp_path, "name: p\n---\nname: q\n"))
    assert two.line == 2
    assert "single document" in two.message
    empty = only(problems_in(tmp_path, "# nothing here\n"))
    assert (empty.line, empty.message) == (1, "the file is empty; a playbook needs name, title and items")
    merge = only(
        problems_in(tmp_path, "name: p\ntitle: P\nitems:\n  - &a {title: A}\n  - <<: *a\n    key: b\n")
    )
    assert merge.line == 5
    assert "merge keys" in merge.message


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes("name: p\ntitle: P\nitems:\n  - title: 障害\n".encode("shift_jis"))
    _, problems = load_playbook(path, severities=SEVERITIES, roles=ROLES)
    assert (only(problems).line, only(problems).message) == (4, "not UTF-8 text; save the file as UTF-8")


def test_unquoted_scalars_are_read_as_text_where_text_is_wanted(tmp_path: Path) -> None:
    playbook = loaded(
        tmp_path,
        """
        name: p
        title: 3.10
        items:
          - title: yes
            key: confirm
          - title: Check the 404s
        """,
    )
    assert playbook.title == "3.10"
    assert [i.title for i in playbook.items] == ["yes", "Check the 404s"]
    assert [i.key for i in playbook.items] == ["confirm", "check-the-404s"]


def test_a_full_playbook_is_built_from_its_file(tmp_path: Path) -> None:
    playbook = loaded(
        tmp_path,
        """
        name: checkout
        title: Checkout down
        description: Payments are failing.
        applies_to:
          severities: [SEV1]
          services: [checkout, payments]
          private: false
          types: [availability]
        status_updates: {SEV1: 10}
        items:
          - title: Assign an incident lead
            details: The lead coordinates.
            link: https://runbooks.example.com/lead
            role: lead
            due: 10m
            when: {severities: [SEV1]}
            required: true
          - title: Call the payment provider
        """,
    )
    assert playbook == Playbook(
        name="checkout",
        title="Checkout down",
        description="Payments are failing.",
        applies_to=Applicability(
            severities=("SEV1",), services=("checkout", "payments"), private=False, types=("availability",)
        ),
        status_updates={"SEV1": 10},
        items=(
            PlaybookItem(
                key="assign-an-incident-lead",
                title="Assign an incident lead",
                details="The lead coordinates.",
                link="https://runbooks.example.com/lead",
                role="lead",
                due=timedelta(minutes=10),
                when=Applicability(severities=("SEV1",)),
                required=True,
                line=11,
            ),
            PlaybookItem(key="call-the-payment-provider", title="Call the payment provider", line=18),
        ),
        path=tmp_path / "ok.yaml",
        line=1,
    )
    assert hash(playbook)


# --- matching


def test_an_empty_condition_matches_every_incident() -> None:
    assert Applicability().matches(severity="SEV4", services=[], private=True)


@pytest.mark.parametrize(
    ("condition", "incident", "expected"),
    [
        (Applicability(severities=("SEV1", "SEV2")), {"severity": "SEV2"}, True),
        (Applicability(severities=("SEV1", "SEV2")), {"severity": "SEV3"}, False),
        (Applicability(severities=("SEV1",)), {"severity": "sev1"}, True),
        (Applicability(services=("checkout",)), {"services": ["search", "checkout"]}, True),
        (Applicability(services=("checkout",)), {"services": ["search"]}, False),
        (Applicability(services=("checkout",)), {"services": []}, False),
        (Applicability(private=True), {"private": True}, True),
        (Applicability(private=True), {"private": False}, False),
        (Applicability(private=False), {"private": True}, False),
        (Applicability(private=False), {"private": False}, True),
        (Applicability(types=("security",)), {"types": ["security"]}, True),
        (Applicability(types=("security",)), {"types": []}, False),
        (Applicability(severities=("SEV1",), private=True), {"severity": "SEV1", "private": False}, False),
    ],
)
def test_conditions(condition: Applicability, incident: dict[str, object], expected: bool) -> None:
    facts: dict[str, object] = {"severity": "SEV1", "services": [], "private": False, "types": []}
    facts.update(incident)
    assert condition.matches(**facts) is expected  # type: ignore[arg-type]


def test_items_for_honours_item_conditions(tmp_path: Path) -> None:
    playbook = loaded(
        tmp_path,
        """
        name: p
        title: P
        items:
          - title: Always
          - title: Only SEV1
            when: {severities: [SEV1]}
          - title: Only public
            when: {private: false}
          - title: Only checkout
            when: {services: [checkout]}
        """,
    )

    def keys(severity: str, services: list[str], private: bool) -> list[str]:
        return [i.key for i in playbook.items_for(severity=severity, services=services, private=private)]

    assert keys("SEV1", ["checkout"], False) == ["always", "only-sev1", "only-public", "only-checkout"]
    assert keys("SEV2", [], True) == ["always"]
    assert keys("SEV2", ["checkout"], False) == ["always", "only-public", "only-checkout"]


def test_matching_keeps_the_given_order_and_filters(tmp_path: Path) -> None:
    for name, applies in [("a", "{severities: [SEV1]}"), ("b", ""), ("c", "{private: true}")]:
        text = f"name: {name}\ntitle: {name}\napplies_to: {applies}\nitems:\n  - title: Do it\n"
        (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
    playbooks, problems = load(tmp_path)
    assert problems == []
    assert [p.name for p in matching(playbooks, severity="SEV1", services=[], private=False)] == ["a", "b"]
    assert [p.name for p in matching(playbooks, severity="SEV2", services=[], private=True)] == ["b", "c"]


def test_status_update_minutes_takes_the_shortest_for_that_severity() -> None:
    slow = Playbook(name="slow", title="Slow", status_updates={"SEV1": 30, "SEV2": 60})
    fast = Playbook(name="fast", title="Fast", status_updates={"SEV1": 15})
    assert status_update_minutes([slow, fast], "SEV1") == 15
    assert status_update_minutes([slow, fast], "SEV2") == 60
    assert status_update_minutes([slow, fast], "SEV3") is None


def test_find_playbook_and_slug() -> None:
    playbooks = [Playbook(name="major-incident", title="Major")]
    assert find_playbook(playbooks, " Major-Incident ") is playbooks[0]
    assert find_playbook(playbooks, "minor") is None
    assert slug("Assign an incident lead (IC)!") == "assign-an-incident-lead-ic"
    assert slug("Café déjà vu") == "cafe-deja-vu"
    assert slug("重大障害") == ""


# --- one schema: the loader checks files against playbooks/hashi-playbook.schema.json


def test_the_loader_checks_against_the_shipped_schema(tmp_path: Path) -> None:
    assert playbook_schema.schema() == json.loads(SCHEMA.read_text(encoding="utf-8"))
    longest = playbook_schema.schema()["$defs"]["title"]["maxLength"]
    assert loaded(tmp_path, f"name: p\ntitle: {'t' * longest}\nitems:\n  - title: A\n").title == "t" * longest
    problem = only(problems_in(tmp_path, f"name: p\ntitle: {'t' * (longest + 1)}\nitems:\n  - title: A\n"))
    assert problem.message == f"title: is {longest + 1} characters long; keep it to {longest}"


def schema_refusals(text: str) -> list[str]:
    """What the schema alone refuses in a playbook's text."""
    root, _ = playbook_schema.compose(text)
    assert root is not None
    return [f.message for f in playbook_schema.validate(playbook_schema.document(root))]


BROKEN = [
    (
        "items:\n  - title: A\n    due: 0m\n",
        5,
        "item 1 due: bad duration: A duration must be longer than zero.",
    ),
    ("items:\n  - title: A\n    due: 121d\n", 5, "item 1 due: 121d is too far ahead; Slack schedules"),
    (
        "items:\n  - title: A\n    due: 90 minutes later\n",
        5,
        'item 1 due: bad duration: I could not read "90',
    ),
    ("title2: x\nitems:\n  - title: A\n", 3, "playbook: unknown key 'title2'; did you mean 'title'?"),
    ("items:\n  - title: '   '\n", 4, "item 1 title: is empty"),
    ("items:\n  - title: A\n    details: " + "d" * 2001 + "\n", 5, "item 1 details: is 2001 characters long"),
    ("description: " + "d" * 3001 + "\nitems:\n  - title: A\n", 3, "description: is 3001 characters long"),
    ("status_updates: {SEV1: 15.0}\nitems:\n  - title: A\n", 3, "not the number 15.0"),
    ("status_updates: {SEV1: 0x10}\nitems:\n  - title: A\n", 3, "must be a whole number of minutes"),
    ("status_updates: {SEV1: '15'}\nitems:\n  - title: A\n", 3, "not the text '15'"),
    ("status_updates: {SEV1: 172801}\nitems:\n  - title: A\n", 3, "must be between 1 and 172800 minutes"),
    ("status_updates: [SEV1]\nitems:\n  - title: A\n", 3, "status_updates: must map severities to minutes"),
    ("applies_to: [SEV1]\nitems:\n  - title: A\n", 3, "applies_to: must be a mapping of `key: value` lines"),
    ("applies_to:\n  services: ['']\nitems:\n  - title: A\n", 4, "applies_to.services: is empty"),
    ("applies_to:\n  types: [" + "t" * 129 + "]\nitems:\n  - title: A\n", 4, "is 129 characters long"),
    (
        "items:\n  - title: A\n    required: 'yes'\n",
        5,
        "item 1 required: must be true or false, not the text 'yes'",
    ),
    ("items:\n  - title: A\n    link: ftp://example.com\n", 5, "item 1 link: must start with https://"),
    (
        "items:\n  - title: A\n    key: a b\n",
        5,
        "item 1 key: 'a b' must be lowercase letters, digits and hyphens",
    ),
    ("items:\n  - details: no title\n", 4, "item 1: no 'title' given"),
    (
        "items:\n  - title: A\n    when: ''\n",
        5,
        "item 1 when: must be a mapping of `key: value` lines, not the text",
    ),
    ("items:\n  - title: A\n    role: " + "r" * 129 + "\n", 5, "item 1 role: is 129 characters long"),
]


@pytest.mark.parametrize(("body", "line", "phrase"), BROKEN, ids=[str(i) for i in range(len(BROKEN))])
def test_what_the_schema_refuses_is_reported_at_its_line(
    tmp_path: Path, body: str, line: int, phrase: str
) -> None:
    problem = only(problems_in(tmp_path, "name: p\ntitle: P\n" + body))
    assert problem.line == line
    assert phrase in problem.message
    # The refusal is the schema's, not a rule of the loader's own.
    assert schema_refusals("name: p\ntitle: P\n" + body) == [problem.message]


def test_what_only_the_team_or_the_whole_file_can_say_is_checked_beside_the_schema(tmp_path: Path) -> None:
    text = (
        "name: p\ntitle: P\napplies_to: {severities: [SEV9]}\nitems:\n"
        "  - title: A\n  - title: A\n  - title: 障害\n    role: pilot\n"
    )
    assert schema_refusals(text) == []
    assert [(p.line, p.message.split(":")[0]) for p in problems_in(tmp_path, text)] == [
        (3, "applies_to.severities"),
        (6, "item 2"),
        (7, "item 3"),
        (8, "item 3 role"),
    ]


def test_empty_optional_values_and_japanese_durations_load_as_before(tmp_path: Path) -> None:
    playbook = loaded(
        tmp_path,
        """
        name: p
        title: P
        description:
        applies_to:
        items:
          - title: A
            details: ""
            role:
            link: ""
            when:
            due: ３０ｍ
          - title: B
            due: 90 minutes
        """,
    )
    assert (playbook.description, playbook.applies_to) == ("", Applicability())
    first, second = playbook.items
    assert (first.details, first.role, first.link, first.when) == ("", None, None, Applicability())
    assert (first.due, second.due) == (timedelta(minutes=30), timedelta(minutes=90))
