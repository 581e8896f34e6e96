"""`reelform lock`: look after lockfiles (`reelform lock repair SPEC`, `reelform lock merge`)."""

from __future__ import annotations

from pathlib import Path

import click

from reelform.errors import ConfigError, LockfileError


@click.group("lock")
def command() -> None:
    """Look after the lockfiles beside the specs.

    A spec's lockfile (specs/welcome.lock) records every job reelform has paid
    for; during an apply, changes go to an append-only journal beside it
    (welcome.lock.journal). When either cannot be read, plan and apply stop and
    leave it as it is: `reelform lock repair SPEC` recovers it without throwing
    away the job ids it holds. `reelform lock merge` is git's merge driver for
    lockfiles: it merges them record by record, keeping every job id.
    """


@command.command(
    "repair", short_help="Recover a damaged lockfile or journal, keeping its good records."
)
@click.argument(
    "specs", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="SPEC..."
)
def repair(specs: tuple[Path, ...]) -> int:
    """Keep every good record of SPEC's lockfile and journal; drop the bad ones.

    Reads the lockfile (welcome.lock) and replays the journal
    (welcome.lock.journal) record by record. Every record that is whole and of
    the right shape is kept; each one that is not is dropped and named, with its
    file, line and an excerpt, so you can see what was lost (a dropped video is
    planned again; a dropped job id may be recovered from the excerpt). A
    lockfile that is not valid JSON (a bad edit, merge conflict markers) is read
    line by line. The result is written as the lockfile, atomically, and the
    journal removed.

    When nothing is damaged it says so and changes nothing. It takes the spec's
    apply lock, so it refuses to run while an apply on the spec is running. A
    lockfile written by a newer reelform is left alone (upgrade instead).
    SPEC may also be the lockfile itself.
    """
    from reelform.speclang.load import lock_path_for
    from reelform.state.lockfile import journal_path
    from reelform.state.repair import repair as repair_lock

    for spec in specs:
        if spec.suffix == ".lock":
            lock_path = spec
        elif spec.suffix.lower() in (".yaml", ".yml"):
            lock_path = lock_path_for(spec)  # through a symlink: the real spec's
        else:
            raise ConfigError(f"{spec}: not a spec (.yaml, .yml) or a lockfile (.lock)")
        journal = journal_path(lock_path)
        if not lock_path.exists() and not journal.exists():
            raise ConfigError(f"{spec}: no lockfile ({lock_path}) and no journal to repair")
        try:
            salvage = repair_lock(lock_path, str(spec))
        except OSError as exc:  # the write is atomic: a failed one changed nothing
            raise LockfileError(
                f"{exc.filename or lock_path}: cannot write the repaired lockfile: "
                f"{exc.strerror or exc}; nothing was changed"
            ) from None
        if salvage.healthy:
            click.echo(f"{lock_path}: nothing is damaged; nothing was changed.")
            continue
        for note in salvage.notes:
            click.echo(note)
        for dropped in salvage.dropped:
            click.echo(str(dropped))
        if salvage.torn_tail:
            click.echo(
                f"{journal}: dropped its torn last record (a crash mid-append; never acknowledged)"
            )
        kept = salvage.kept_lock + salvage.kept_journal
        click.echo(
            f"Kept {kept:,} record{'s' if kept != 1 else ''} ({salvage.kept_lock:,} from "
            f"{lock_path}, {salvage.kept_journal:,} from {journal}); "
            f"dropped {len(salvage.dropped):,}."
        )
        done = (
            f"Wrote {lock_path}; the journal was folded into it."
            if lock_path.exists()
            else f"Removed {journal}: nothing in it could be kept."
        )
        click.echo(f"{done} `reelform plan {spec}` shows what apply would do now.")
    return 0


@command.command("merge", short_help="Merge lockfiles three ways: a git merge driver.")
@click.argument("base", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("ours", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("theirs", type=click.Path(path_type=Path, dir_okay=False))
def merge(base: Path, ours: Path, theirs: Path) -> int:
    """Merge the lockfiles BASE, OURS and THEIRS by record, writing the result to OURS.

    A git merge driver: in .gitattributes, `*.lock merge=reelform-lock`, and

        git config merge.reelform-lock.driver "reelform lock merge %O %A %B"

    A record changed on one side only is taken from it. A video (or photo
    avatar) changed on both sides keeps the side with more progress
    (completed, submitted, submitting, unknown, failed; ours on a tie) and
    never drops a job id: the other side's is kept in the record's
    `superseded` list, which `plan` shows. Files and uploads changed on both
    sides (caches) are taken from ours. Exits 1, writing nothing, only when a
    side is not a lockfile reelform can read (corrupt, from a newer reelform).
    """
    from reelform.atomic import atomic_write
    from reelform.state.merge import merge_bytes

    try:
        raw = [path.read_bytes() for path in (base, ours, theirs)]
    except OSError as exc:
        raise LockfileError(
            f"{exc.filename}: cannot read it: {exc.strerror}; nothing was merged"
        ) from None
    try:
        merged = merge_bytes(raw[0], raw[1], raw[2], (str(base), str(ours), str(theirs)))
    except LockfileError as exc:
        raise LockfileError(
            f"reelform lock merge: conflict, not merged ({ours} left as it was): {exc}"
        ) from None
    data = merged.dump()
    for note in merged.notes:
        click.echo(note, err=True)
    if data != raw[1]:
        try:
            atomic_write(ours, data)
        except OSError as exc:
            raise LockfileError(
                f"{ours}: cannot write the merged lockfile: {exc.strerror or exc}"
            ) from None
    return 0
