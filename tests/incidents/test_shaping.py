"""Incident types, custom fields, services and invites, on real stores with a recording Chat."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from bot.incidents.errors import ChatError, IncidentNotFound, InvalidInput, RequiredItemsOpen
from bot.incidents.fields import FieldKind, FieldSpec, RecordShape, Required
from bot.incidents.model import EventKind, Milestone
from bot.incidents.playbooks import Applicability, Playbook, PlaybookItem
from bot.incidents.service import IncidentConfig, IncidentService
from bot.incidents.shaping import changed_services
from storage.repository import Store
from tests.fakes import FixedClock, RecordingChat

SHAPE = RecordShape(
    types=("default", "security", "ja"),
    default_type="default",
    fields=(
        FieldSpec(name="region", kind=FieldKind.SELECT, choices=("eu", "us"), required=Required.DECLARE),
        FieldSpec(name="customers", kind=FieldKind.NUMBER),
        FieldSpec(name="cause", kind=FieldKind.TEXT, required=Required.RESOLVE),
        FieldSpec(name="owner", kind=FieldKind.USER, labels={"en": "Owner", "ja": "担当"}),
    ),
)
JA_ONLY = Playbook(
    name="sev-ja",
    title="重大障害対応",
    items=(PlaybookItem(key="a", title="指揮者を決める"),),
    applies_to=Applicability(types=("ja",)),
)


@dataclass
class Groups:
    """A directory of user groups; `calls` counts the lookups."""

    members: dict[str, frozenset[str]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    async def groups_of(self, *, user_id: str, among: frozenset[str]) -> frozenset[str]:
        return frozenset(g for g in among if user_id in self.members.get(g, frozenset()))

    async def members_of(self, *, group_id: str) -> frozenset[str]:
        self.calls.append(group_id)
        if group_id not in self.members:
            raise ChatError("usergroup", "no_such_subteam")
        return self.members[group_id]


@pytest.fixture
def groups() -> Groups:
    return Groups({"S0SRE": frozenset({"U7", "U8"}), "S0SEC": frozenset({"U9"})})


@pytest.fixture
def shaped(store: Store, chat: RecordingChat, clock: FixedClock, groups: Groups) -> IncidentService:
    config = IncidentConfig(
        shape=SHAPE,
        playbooks=(JA_ONLY,),
        responders={"checkout": ("S0SRE", "U5"), "Auth": ("S0SEC",)},
        invites={"SEV1": ("U6", "S0NONE")},
    )
    return IncidentService(store=store, chat=chat, clock=clock, config=config, directory=groups)


def invited(chat: RecordingChat) -> list[list[str]]:
    return [args["user_ids"] for step, args in chat.calls if step == "invite"]


async def test_type_defaults_and_picks_playbooks(shaped: IncidentService) -> None:
    plain = await shaped.declare(title="Slow", actor="U1", fields={"region": "eu"})
    assert plain.incident.incident_type == "default" and plain.incident.checklists == ()
    ja = await shaped.declare(title="遅い", actor="U1", incident_type="JA", fields={"region": "EU"})
    assert ja.incident.incident_type == "ja"
    assert [i.playbook for i in ja.incident.checklists] == ["sev-ja"]
    assert ja.incident.fields == {"region": "eu"}


async def test_changing_the_type_records_it_and_starts_its_playbooks(shaped: IncidentService) -> None:
    setup = await shaped.declare(title="Slow", actor="U1", fields={"region": "us"})
    snap = await shaped.set_type(incident_id=setup.incident.id, incident_type="ja", actor="U2")
    assert snap.incident_type == "ja" and [i.playbook for i in snap.checklists] == ["sev-ja"]
    with pytest.raises(InvalidInput, match="already of type"):
        await shaped.set_type(incident_id=snap.id, incident_type="ja", actor="U2")
    full = await shaped.snapshot(incident_id=snap.id)
    assert [e.text for e in full.timeline if e.kind == EventKind.TYPE.value] == ["Type default → ja"]


async def test_bad_type_or_field_changes_nothing(shaped: IncidentService) -> None:
    with pytest.raises(
        InvalidInput, match=r"Unknown incident type `nope`\. Use one of: default, security, ja"
    ):
        await shaped.declare(title="Slow", actor="U1", incident_type="nope", fields={"region": "eu"})
    with pytest.raises(InvalidInput, match="required to declare: region"):
        await shaped.declare(title="Slow", actor="U1")
    with pytest.raises(InvalidInput, match=r"`mars` is not a choice of `region`\. Choose one of: eu, us"):
        await shaped.declare(title="Slow", actor="U1", fields={"region": "mars"})
    assert await shaped.list_incidents() == []
    setup = await shaped.declare(title="Slow", actor="U1", fields={"region": "eu"})
    incident_id = setup.incident.id
    with pytest.raises(InvalidInput, match="Unknown field `colour`"):
        await shaped.set_field(incident_id=incident_id, name="colour", value="red", actor="U1")
    with pytest.raises(InvalidInput, match="takes a number"):
        await shaped.set_field(incident_id=incident_id, name="customers", value="many", actor="U1")
    with pytest.raises(InvalidInput, match="takes a person"):
        await shaped.set_field(incident_id=incident_id, name="owner", value="bob", actor="U1")
    with pytest.raises(InvalidInput, match="Unknown incident type"):
        await shaped.set_type(incident_id=incident_id, incident_type="nope", actor="U1")
    snap = await shaped.snapshot(incident_id=incident_id)
    assert snap.fields == {"region": "eu"} and snap.incident_type == "default"
    assert [e.kind for e in snap.timeline] == [EventKind.DECLARED.value]


async def test_fields_take_their_kinds(shaped: IncidentService) -> None:
    setup = await shaped.declare(title="Slow", actor="U1", fields={"region": "eu"})
    incident_id = setup.incident.id
    await shaped.set_field(incident_id=incident_id, name="Customers", value="1200", actor="U1")
    await shaped.set_field(incident_id=incident_id, name="owner", value="<@U0ABC|ann>", actor="U1")
    snap = await shaped.set_field(incident_id=incident_id, name="region", value="US", actor="U1")
    assert snap.fields == {"region": "us", "customers": 1200, "owner": "U0ABC"}
    full = await shaped.snapshot(incident_id=incident_id)
    texts = [e.text for e in full.timeline if e.kind == EventKind.FIELD.value]
    assert texts == ["customers: 1200", "owner: <@U0ABC>", "region: us"]


async def test_a_field_required_at_resolve_stops_it_until_given(shaped: IncidentService) -> None:
    setup = await shaped.declare(title="Slow", actor="U1", fields={"region": "eu"})
    incident_id = setup.incident.id
    with pytest.raises(InvalidInput, match="required to resolve: cause"):
        await shaped.resolve(incident_id=incident_id, actor="U1")
    assert (await shaped.snapshot(incident_id=incident_id)).milestones.resolved_at is None
    snap = await shaped.resolve(incident_id=incident_id, actor="U1", fields={"cause": "a bad deploy"})
    assert snap.fields["cause"] == "a bad deploy" and snap.milestones.resolved_at is not None


def test_services_replace_add_and_remove() -> None:
    assert changed_services(["a", "b"], replace=["c", " d ", "C"], add=(), remove=()) == ["c", "d"]
    assert changed_services(["a"], replace=None, add=["B", "a"], remove=["A"]) == ["B"]
    assert changed_services(["a", "b"], replace=None, add=(), remove=["x"]) == ["a", "b"]


async def test_services_change_on_the_timeline_and_invite_their_responders(
    shaped: IncidentService, chat: RecordingChat, groups: Groups
) -> None:
    setup = await shaped.declare(title="Slow", actor="U1", severity="SEV2", fields={"region": "eu"})
    assert invited(chat) == [["U1"]]
    incident_id = setup.incident.id
    snap = await shaped.set_services(incident_id=incident_id, actor="U1", add=["Checkout", "search"])
    assert snap.services == ("Checkout", "search")
    assert invited(chat)[-1] == ["U5", "U7", "U8"]
    snap = await shaped.set_services(incident_id=incident_id, actor="U1", remove=["checkout"])
    assert snap.services == ("search",) and len(invited(chat)) == 2  # nobody to invite for a removal
    with pytest.raises(InvalidInput, match="already has those services"):
        await shaped.set_services(incident_id=incident_id, actor="U1", replace=["search"])
    full = await shaped.snapshot(incident_id=incident_id)
    texts = [e.text for e in full.timeline if e.kind == EventKind.SERVICES.value]
    assert texts == ["Services: Checkout, search", "Services: search"]
    assert groups.calls == ["S0SRE"]


async def test_declaring_invites_by_severity_and_service_in_one_call(
    shaped: IncidentService, chat: RecordingChat, groups: Groups
) -> None:
    await shaped.declare(
        title="Down", actor="U1", severity="SEV1", services=["checkout", "auth"], fields={"region": "eu"}
    )
    # One invite: the declarer, the SEV1 list (an unknown group adds nobody), the services' responders.
    assert invited(chat) == [["U1", "U6", "U5", "U7", "U8", "U9"]]
    assert sorted(groups.calls) == ["S0NONE", "S0SEC", "S0SRE"]


async def test_an_outsider_of_a_private_incident_changes_nothing(shaped: IncidentService) -> None:
    setup = await shaped.declare(title="Leak", actor="U1", private=True, fields={"region": "eu"})
    incident_id = setup.incident.id
    for attempt in (
        shaped.set_type(incident_id=incident_id, incident_type="security", actor="U2"),
        shaped.set_field(incident_id=incident_id, name="customers", value="3", actor="U2"),
        shaped.set_services(incident_id=incident_id, actor="U2", add=["auth"]),
    ):
        with pytest.raises(IncidentNotFound):
            await attempt
    snap = await shaped.snapshot(incident_id=incident_id)
    assert (snap.incident_type, dict(snap.fields), snap.services) == ("default", {"region": "eu"}, ())


async def test_fields_given_at_resolve_stay_while_a_gate_waits_for_confirming(
    store: Store, chat: RecordingChat, clock: FixedClock
) -> None:
    gate = Playbook(name="gate", title="Gate", items=(PlaybookItem(key="v", title="Verify", required=True),))
    config = IncidentConfig(shape=SHAPE, playbooks=(gate,))
    service = IncidentService(store=store, chat=chat, clock=clock, config=config)
    setup = await service.declare(title="Slow", actor="U1", fields={"region": "eu"})
    with pytest.raises(RequiredItemsOpen):
        await service.resolve(incident_id=setup.incident.id, actor="U1", fields={"cause": "disk"})
    snap = await service.snapshot(incident_id=setup.incident.id)
    assert snap.fields["cause"] == "disk" and snap.milestones.resolved_at is None
    resolved = await service.resolve(incident_id=setup.incident.id, actor="U1", override_gates=True)
    assert resolved.milestones.resolved_at is not None


async def test_milestones_reviewed_at_resolve_stay_with_the_fields_while_a_gate_waits(
    store: Store, chat: RecordingChat, clock: FixedClock
) -> None:
    gate = Playbook(name="gate", title="Gate", items=(PlaybookItem(key="v", title="Verify", required=True),))
    config = IncidentConfig(shape=SHAPE, playbooks=(gate,))
    service = IncidentService(store=store, chat=chat, clock=clock, config=config)
    setup = await service.declare(title="Slow", actor="U1", fields={"region": "eu"})
    declared = clock.now()
    clock.advance(minutes=30)
    reviewed = {Milestone.DETECTED: declared + timedelta(minutes=5), Milestone.MITIGATED: clock.now()}
    with pytest.raises(RequiredItemsOpen):
        await service.resolve(
            incident_id=setup.incident.id, actor="U1", fields={"cause": "disk"}, milestones=reviewed
        )
    snap = await service.snapshot(incident_id=setup.incident.id)
    assert snap.fields["cause"] == "disk" and snap.milestones.resolved_at is None
    assert (snap.milestones.detected_at, snap.milestones.mitigated_at) == tuple(reviewed.values())
    resolved = await service.resolve(incident_id=setup.incident.id, actor="U1", override_gates=True)
    assert resolved.milestones.resolved_at is not None
    assert resolved.milestones.detected_at == reviewed[Milestone.DETECTED]
