"""``secureline stix import|export`` and ``secureline misp import|export``: a partner's STIX
2.1 bundle or MISP event as one message, and a message back as a bundle or an event
(docs/interop.md). Imports act as the logged-in person and send from their unit."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from secureline.cli import common, ids, session
from secureline.cli.common import Dir, Json, fail, out

if TYPE_CHECKING:
    from secureline.services.interop.common import Imported

T = TypeVar("T")

stix_app = typer.Typer(no_args_is_help=True, help="STIX 2.1 bundles in and out.")
misp_app = typer.Typer(no_args_is_help=True, help="MISP events in and out.")

To = Annotated[list[str] | None, typer.Option("--to", help="Recipient unit@node (repeatable).")]
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Check and show what would be taken in; store nothing.")
]
Subjects = Annotated[
    list[str] | None,
    typer.Option("--data-subject", help="Needed when the file names persons: suspect, ..."),
]
Evaluation = Annotated[str, typer.Option(help="4x4 code of the source and the information.")]
Confidential = Annotated[
    bool, typer.Option("--confidential", help="Encrypt the content end to end.")
]
Acknowledge = Annotated[
    bool, typer.Option("--acknowledge-conditions", help="H3: I have read the conditions.")
]
Out = Annotated[Path | None, typer.Option("--out", help="Write here, not to stdout.")]


def _report(done: Imported, as_json: bool, what: str) -> None:
    if as_json:
        print(json.dumps(done.as_json(), ensure_ascii=False))
        return
    for item in done.skipped:
        out.print(f"skipped {item['id']} {item['field']}: {item['reason']}", markup=False)
    if done.message_id is None:
        out.print(
            f"dry run: {done.objects} {what} and {done.entities} entities would be sent "
            f"as {done.handling}; nothing stored",
            markup=False,
        )
    else:
        again = " (already imported: the first message)" if done.replayed else ""
        out.print(
            f"{done.message_id}: {done.objects} {what}, {done.entities} entities, "
            f"{done.handling}{again}",
            markup=False,
        )


def _write(document: dict[str, Any], output: Path | None, message_id: str, what: str) -> None:
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if output is None:
        print(text)
        return
    output.write_text(text + "\n", encoding="utf-8")
    out.print(f"{message_id} exported as a {what} to {output}", markup=False)


def _run(call: Callable[[], T]) -> T:
    from secureline.cli.alert_commands import explain_refusal
    from secureline.domain.errors import DomainError
    from secureline.services.errors import NoRoute, Refused, ServiceError

    try:
        return call()
    except NoRoute as exc:
        fail(f"--to: {exc.message}")
    except Refused as exc:
        explain_refusal(exc)
    except ServiceError as exc:
        fail(f"{exc.message} ({exc.code})")
    except DomainError as exc:
        fail(str(exc))


@stix_app.command("import")
def stix_import(
    bundle: Annotated[Path, typer.Argument(help="A STIX 2.1 bundle (JSON).")],
    directory: Dir,
    to: To = None,
    unit: session.UnitCheck = None,
    dry_run: DryRun = False,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid",
            help="Leave invalid objects out (listed) instead of refusing the whole bundle.",
        ),
    ] = False,
    unmarked: Annotated[
        str,
        typer.Option("--unmarked-tlp", help="The TLP of objects that carry no marking."),
    ] = "AMBER",
    subjects: Subjects = None,
    evaluation: Evaluation = "B2",
    confidential: Confidential = False,
    as_json: Json = False,
) -> None:
    """Send a STIX 2.1 bundle as one message: the objects kept whole, those with a
    FollowTheMoney counterpart also as entities; the most restrictive marking wins.
    The same file imported again gives the first message.

    Example: secureline stix import bundle.json --dir ./europol --unit ops --to cc@interpol
    """
    from secureline.domain.markings import Tlp
    from secureline.services.interop.stix import StixOptions

    try:
        default = Tlp(unmarked.strip().upper().removeprefix("TLP:"))
    except ValueError:
        fail(f"--unmarked-tlp: {unmarked!r} is not a TLP 2.0 label")
    node = common.node_at(directory)
    principal = session.officer_of(node, unit)
    options = StixOptions(
        to=to or [],
        unmarked=default,
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        data_subjects=subjects or [],
        evaluation=evaluation,
        confidential=confidential,
    )
    done = _run(lambda: node.stix.import_bundle(principal, bundle, options))
    _report(done, as_json, "STIX objects")


@stix_app.command("export")
def stix_export(
    message_id: str,
    directory: Dir,
    output: Out = None,
    acknowledge_conditions: Acknowledge = False,
    unit: session.UnitCheck = None,
) -> None:
    """Write a message's STIX bundle, marked from its handling code, as stix2-validator
    accepts it.

    Example: secureline stix export msg-3f0c --dir ./interpol --out bundle.json
    """
    node = common.node_at(directory)
    principal = session.officer_of(node, unit)
    message_id = ids.message_id(node, message_id)
    bundle = _run(
        lambda: node.stix.export_bundle(
            principal, message_id, acknowledge_conditions=acknowledge_conditions
        )
    )
    _write(bundle, output, message_id, "STIX bundle")


@misp_app.command("import")
def misp_import(
    event: Annotated[Path, typer.Argument(help="A MISP event (JSON, with or without 'Event').")],
    directory: Dir,
    to: To = None,
    unit: session.UnitCheck = None,
    dry_run: DryRun = False,
    subjects: Subjects = None,
    evaluation: Evaluation = "B2",
    confidential: Confidential = False,
    as_json: Json = False,
) -> None:
    """Send a MISP event as one message: the event kept whole, its attributes with a
    FollowTheMoney counterpart also as entities; distribution and TLP tags give the
    handling code (the most restrictive wins). The same file imported again gives the
    first message.

    Example: secureline misp import event.json --dir ./europol --unit ops --to cc@interpol
    """
    from secureline.services.interop.misp import MispOptions

    node = common.node_at(directory)
    principal = session.officer_of(node, unit)
    options = MispOptions(
        to=to or [],
        dry_run=dry_run,
        data_subjects=subjects or [],
        evaluation=evaluation,
        confidential=confidential,
    )
    done = _run(lambda: node.misp.import_event(principal, event, options))
    _report(done, as_json, "MISP attributes and objects")


@misp_app.command("export")
def misp_export(
    message_id: str,
    directory: Dir,
    output: Out = None,
    acknowledge_conditions: Acknowledge = False,
    unit: session.UnitCheck = None,
) -> None:
    """Write a message as a MISP event (with its ``Event`` wrapper) that PyMISP loads,
    tagged and distributed from its handling code.

    Example: secureline misp export msg-3f0c --dir ./interpol --out event.json
    """
    node = common.node_at(directory)
    principal = session.officer_of(node, unit)
    message_id = ids.message_id(node, message_id)
    event = _run(
        lambda: node.misp.export_event(
            principal, message_id, acknowledge_conditions=acknowledge_conditions
        )
    )
    _write(event, output, message_id, "MISP event")
