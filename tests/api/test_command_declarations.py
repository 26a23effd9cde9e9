"""The command declarations (ledger.api.commands): one per command of the
application, each with its role, labels in both languages and form fields."""

from __future__ import annotations

from ledger.api.auth import GRANTS
from ledger.api.commands import BY_NAME, COMMANDS, FormField
from ledger.application import Ledger, OrderCommand

# Commands of the application the API does not offer as such (see ledger.audit.erasure).
NOT_ROUTED = {"erase_personal_data"}
KINDS = {"text", "integer", "decimal", "date", "datetime", "boolean", "choice", "uuid", "list",
         "group", "mapping"}  # fmt: skip


def test_every_command_of_the_application_is_declared_once() -> None:
    commands = {n for n, v in vars(Ledger).items() if isinstance(v, OrderCommand)}
    commands |= {"receive", "split", "merge"}
    assert {c.name for c in COMMANDS} == commands - NOT_ROUTED
    assert len(COMMANDS) == len(BY_NAME)
    assert len({(c.method, c.path) for c in COMMANDS}) == len(COMMANDS)
    assert len({c.endpoint for c in COMMANDS}) == len(COMMANDS)


def test_roles_are_those_granted_the_permission() -> None:
    for command in COMMANDS:
        assert command.roles, command.name
        for role, grants in GRANTS.items():
            assert (role in command.roles) == (command.permission in grants)
    assert BY_NAME["verify"].roles == ("sales", "merchandiser")
    assert BY_NAME["invoice"].roles == ("merchandiser", "finance")


def test_labels_exist_in_both_languages_and_tell_commands_apart() -> None:
    for language in ("en", "zh"):
        labels = [command.label(language) for command in COMMANDS]
        assert all(label.strip() for label in labels)
        assert len(set(labels)) == len(labels), language


def _walk(fields: list[FormField] | tuple[FormField, ...]) -> list[FormField]:
    return [f for field in fields for f in (field, *_walk(field.items))]


def test_form_fields_follow_the_request_models() -> None:
    for command in COMMANDS:
        fields = command.fields()
        body = [f.name for f in fields if f.source == "body"]
        assert body == list(command.body.model_fields), command.name
        assert [f.name for f in fields if f.source == "path"] == list(command.ids)
        for field in _walk(fields):
            assert field.kind in KINDS
            assert field.kind != "choice" or field.choices
    receive = {f.name: f for f in BY_NAME["receive"].fields()}
    assert receive["channel"].choices == ("phone", "email", "platform", "onsite", "wechat", "other")
    assert receive["lines"].kind == "list" and receive["lines"].limits == {
        "min_length": 1,
        "max_length": 200,
    }
    line = {f.name: f for f in receive["lines"].items[0].items}
    assert line["quantity"].kind == "integer" and line["quantity"].limits["gt"] == 0
    assert line["unit_price"].limits["decimal_places"] == 4
    assert (receive["currency"].required, receive["currency"].default) == (False, "CNY")
    status = {f.name: f for f in BY_NAME["change_document_status"].fields()}
    assert status["kind"].source == "path" and "waybill" in status["kind"].choices
    assert status["shipment_id"].limits == {"min_length": 1, "max_length": 64}
    verify = {f.name: f for f in BY_NAME["verify"].fields()}
    assert verify["checks"].kind == "mapping"
    assert verify["checks"].choices == ("customer", "product", "delivery")
    assert not BY_NAME["settle"].body_required and BY_NAME["hold"].body_required


def test_bodies_and_paths_carry_exactly_the_aggregates_parameters() -> None:
    """No body field is dropped on the way, no parameter of the ``Order``
    method goes without a field (``occurred_at`` is the context's)."""
    checked = 0
    for command in COMMANDS:
        order_command = vars(Ledger).get(command.name)
        if not isinstance(order_command, OrderCommand):
            continue  # receive, split and merge take other shapes
        parameters = dict(order_command.signature.parameters)
        del parameters["self"]
        given = set(command.body.model_fields) - {"occurred_at"} | set(command.ids)
        assert given == set(parameters), command.name
        checked += 1
    assert checked == len(COMMANDS) - 3
