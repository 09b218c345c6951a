"""Cross-anchoring over real nodes (issue 5): evidence carries the issuer's checkpoint, each
side keeps the other's, and a consistent rewrite of one side's history is exposed by the
checkpoints the other side holds (`secureline audit check-partner`)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from secureline.cli.main import app
from secureline.domain.audit import AuditAction, AuditEvent
from secureline.node.compose import Node
from secureline.services.audit import AuditLog, read_export
from secureline.store import audit as audit_store
from tests.integration.support import (
    Federation,
    officer,
    sample,
    set_option,
    wait_for,
    wait_state,
)
from tests.support.audit_attacks import rewrite_history

runner = CliRunner()


def _exchange(pair: Federation, rounds: int) -> None:
    """Traffic both ways; each node signs a checkpoint after every round, so the next
    round's evidence carries it to the other side."""
    interpol, europol = pair["interpol"], pair["europol"]
    for n in range(rounds):
        to_e = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=10 + n))
        to_i = europol.messaging.submit(officer(europol), sample("cc@interpol", seed=20 + n))
        wait_state(interpol, to_e.id, "europol", ["delivered"])
        wait_state(europol, to_i.id, "interpol", ["delivered"])
        interpol.audit.checkpoint()
        europol.audit.checkpoint()


def _check_partner(pair: Federation, peer: str, records: Path) -> Result:
    """`secureline audit check-partner` at interpol, as the officer would run it."""
    directory = str(pair.dirs["interpol"])
    return runner.invoke(
        app,
        ["audit", "check-partner", "--dir", directory, "--peer", peer, "--records", str(records)],
    )


def _export(node: Node, path: Path) -> Path:
    path.write_text("".join(node.audit.export(None, None, "jsonl")), encoding="utf-8")
    return path


def _rewrite(node: Node, seq: int, actor: str) -> None:
    """What the partner's administrator, holding its node key, could do."""
    rewrite_history(node.audit, node.identity.signing, seq, actor)


def test_each_side_keeps_the_others_checkpoints(pair: Federation) -> None:
    _exchange(pair, rounds=3)
    interpol, europol = pair["interpol"], pair["europol"]

    held_by_interpol = interpol.audit.partner_checkpoints("europol")
    held_by_europol = europol.audit.partner_checkpoints("interpol")
    # Rounds 2 and 3 carried the checkpoints signed after rounds 1 and 2 (at least).
    assert len(held_by_interpol) >= 2
    assert len(held_by_europol) >= 2
    assert interpol.audit.partners() == ["europol"]
    # Each kept checkpoint is the partner's own signed statement about its own chain.
    own = {cp.seq: cp.head_hash for cp in audit_store.iter_checkpoints(europol.db)}
    for cp in held_by_interpol:
        assert own[cp.seq] == cp.head_hash
    # Idempotent: the same checkpoint rides on many documents, it is kept once.
    assert len({cp.seq for cp in held_by_interpol}) == len(held_by_interpol)
    interpol.audit.verify()
    europol.audit.verify()


def test_partner_export_verifies_then_a_rewrite_is_named(pair: Federation, tmp_path: Path) -> None:
    _exchange(pair, rounds=3)
    interpol, europol = pair["interpol"], pair["europol"]
    held = interpol.audit.partner_checkpoints("europol")
    first, second = held[0], held[1]

    honest = _export(europol, tmp_path / "europol.jsonl")
    matched = interpol.audit.check_partner_export(
        "europol", read_export(honest.read_text(encoding="utf-8"), "jsonl")
    )
    assert [cp.seq for cp in matched] == [cp.seq for cp in held]
    result = _check_partner(pair, "europol", honest)
    assert result.exit_code == 0, result.output
    assert f"match its {len(held)} checkpoints" in result.output

    listed = runner.invoke(app, ["audit", "partners", "--dir", str(pair.dirs["interpol"])])
    assert listed.exit_code == 0, listed.output
    assert "europol" in listed.output
    assert str(second.head_hash[:12]) in listed.output.replace("\n", "").replace(" ", "")

    # Europol's administrator rewrites a record between the first two checkpoints interpol
    # holds, consistently: europol's own verification cannot tell.
    target = first.seq + 1
    assert target <= second.seq
    _rewrite(europol, target, "nobody@europol")
    europol.audit.verify()

    rewritten = _export(europol, tmp_path / "europol-rewritten.jsonl")
    result = _check_partner(pair, "europol", rewritten)
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    # Named: the first checkpoint the rewrite contradicts, and the records it pins down.
    assert f"broken at record {second.seq}" in text
    assert f"rewritten in records {first.seq + 1}..{second.seq}" in text


def test_check_partner_names_an_inconsistent_edit_exactly(pair: Federation, tmp_path: Path) -> None:
    """A sloppy edit (hash not recomputed) is named at its own record, not a range."""
    _exchange(pair, rounds=2)
    interpol, europol = pair["interpol"], pair["europol"]
    path = _export(europol, tmp_path / "europol.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace('"actor":"', '"actor":"x', 1)
    path.write_text("".join(lines), encoding="utf-8")
    result = _check_partner(pair, "europol", path)
    assert result.exit_code == 1
    assert "broken at record 3" in " ".join(result.output.split())
    assert interpol.audit.partner_checkpoints("europol")


def test_check_partner_without_checkpoints_fails(tmp_path: Path, pair: Federation) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("", encoding="utf-8")
    result = _check_partner(pair, "nobody", path)
    assert result.exit_code == 1
    assert "no checkpoint of nobody" in result.output
    assert isinstance(pair["interpol"].audit, AuditLog)


def test_a_partner_withholding_records_is_caught(pair: Federation, tmp_path: Path) -> None:
    """A partner restored from an old backup (or hiding its latest records) falls short of
    the checkpoints it already handed out."""
    _exchange(pair, rounds=2)
    interpol, europol = pair["interpol"], pair["europol"]
    last = interpol.audit.partner_checkpoints("europol")[-1]
    path = _export(europol, tmp_path / "europol.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[: last.seq - 1]), encoding="utf-8")
    result = _check_partner(pair, "europol", path)
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert f"broken at record {last.seq}" in text
    assert "withheld" in text


def test_a_quiet_running_node_signs_its_last_records(pair: Federation) -> None:
    """Records appended between two checkpoints are signed by the node's timer, not only by
    the next append: a node that goes quiet leaves nothing unsigned for long."""
    set_option(pair.dirs["europol"], "audit", "checkpoint_seconds", "1")
    europol = pair.restart("europol")
    interpol = pair["interpol"]
    sent = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=91))
    wait_state(interpol, sent.id, "europol", ["delivered"])
    received = europol.audit.records_for_object(sent.id)
    assert received  # the receipt was recorded; no further traffic comes now
    last = max(r.seq for r in europol.audit.records())
    signed = wait_for(
        lambda: (cp := europol.audit.latest_checkpoint()) is not None and cp.seq >= last,
        timeout=10,
        what=lambda: f"a checkpoint at seq {last}; latest {europol.audit.latest_checkpoint()}",
    )
    assert signed
    europol.audit.verify()


def test_a_read_receipt_carries_the_readers_checkpoint(pair: Federation) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    sent = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=93))
    wait_state(interpol, sent.id, "europol", ["delivered"])
    # A checkpoint europol signs after the delivery can reach interpol only with the receipt.
    europol.audit.append(
        [AuditEvent("test", AuditAction.CONFIG_CHANGED, "config:test", "changed", {})]
    )
    signed = europol.audit.checkpoint()
    assert signed.seq not in {cp.seq for cp in interpol.audit.partner_checkpoints("europol")}
    europol.messaging.open(officer(europol), sent.id)
    wait_state(interpol, sent.id, "europol", ["read"])
    held = {cp.seq: cp.head_hash for cp in interpol.audit.partner_checkpoints("europol")}
    assert held.get(signed.seq) == signed.head_hash
