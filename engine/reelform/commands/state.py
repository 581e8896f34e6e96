"""`reelform state`: the PostgreSQL state backend's lockfiles and overview
(`state pull`, `state push`, `state list`)."""

from __future__ import annotations

from pathlib import Path

import click

from reelform.errors import ConfigError, LockfileError
from reelform.state.backend import CONFIG_NAME, StateConfig, find_config, state_config


@click.group("state")
def command() -> None:
    """Move state between the PostgreSQL database and lockfiles, and show it.

    With `[state] backend = "postgres"` in the repository's reelform.toml, the
    state of every spec lives in the database named by REELFORM_STATE_URL, and
    plan and apply read and write it there. `state pull` writes the lockfiles
    from it (the bytes the lockfile backend would have written), so they can be
    reviewed and committed; `state push` imports lockfiles into the database;
    `state list` shows each spec's videos by status and who is applying it.
    """


def _config(start: Path) -> StateConfig:
    source = find_config(start)
    config = state_config(start if start.is_file() else start / CONFIG_NAME)
    if not config.postgres:
        where = f"{source} does not choose it" if source else f"no {CONFIG_NAME} was found"
        raise ConfigError(
            f'reelform state works on the PostgreSQL backend ([state] backend = "postgres" '
            f"in {CONFIG_NAME}); {where}"
        )
    return config


def _specs(targets: tuple[Path, ...]) -> list[Path]:
    from reelform.speclang.load import find_specs, real_spec_path

    return [real_spec_path(p) for p in find_specs(list(targets), require_specs=True)]


@command.command("pull", short_help="Write the lockfiles from the database.")
@click.argument("specs", nargs=-1, type=click.Path(path_type=Path), metavar="[SPEC...]")
def pull(specs: tuple[Path, ...]) -> int:
    """Write each spec's lockfile from its rows in the database.

    The lockfile is what the lockfile backend would have written for the same
    state, byte for byte, so it can be reviewed and committed. Without SPEC,
    every spec the database holds for this repository. A spec with no state
    gets no lockfile; a lockfile with a journal beside it (an apply of the
    lockfile backend that did not finish) is left alone: push or fold it first.
    """
    from reelform.state.pg import claims, db
    from reelform.state.pg.pull import pull as pull_spec

    if specs:
        paths = _specs(specs)
        config = _config(paths[0])
    else:
        config = _config(Path.cwd())
        assert config.url is not None
        conn = db.connect(config.url)
        try:
            db.check_version(db.schema_version(conn))
            rows = claims.overview(conn) if db.schema_version(conn) else []
        finally:
            conn.close()
        paths = [config.root / row[0] for row in rows]
    for spec in paths:
        pulled = pull_spec(config, spec)
        if pulled is None:
            click.echo(f"{spec}: no state in the database; no lockfile written")
            continue
        lock_path, changed, count = pulled
        click.echo(f"{lock_path}: {'written' if changed else 'unchanged'} ({count:,} videos)")
    return 0


@command.command("push", short_help="Import lockfiles into the database.")
@click.argument(
    "specs", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="SPEC..."
)
def push(specs: tuple[Path, ...]) -> int:
    """Import each spec's lockfile (and journal) into the database.

    The migration path from the lockfile backend. A record the database already
    holds, the same, is left; a record it holds otherwise is never overwritten:
    the push stops, names it, and writes nothing for that spec. Refused while an
    apply holds the spec. The lockfiles are left as they are.
    """
    from reelform.state.lockfile import SECTIONS, read_lock
    from reelform.state.pg import store
    from reelform.state.pg.journal import session
    from reelform.state.pg.read import read_state

    paths = _specs(specs)
    config = _config(paths[0])
    assert config.url is not None
    with session(config.url) as pg:
        for spec in paths:
            key = config.spec_key(spec)
            local = read_lock(spec.with_suffix(".lock"))
            ident = pg.acquire(key, str(spec), wait=False)
            there = read_state(config, spec)
            conflicts, new = [], []
            for name in SECTIONS:
                theirs = there.section(name)
                for record_key, record in local.section(name).items():
                    other = theirs.get(record_key)
                    if other is None:
                        new.append(store.Change(name, record_key, record))
                    elif other.to_json() != record.to_json():
                        conflicts.append(f"{name} {record_key!r}")
            if conflicts:
                more = f" (and {len(conflicts) - 3:,} more)" if len(conflicts) > 3 else ""
                raise LockfileError(
                    f"{spec}: the database holds other records for "
                    f"{', '.join(conflicts[:3])}{more}; nothing was pushed for this spec "
                    "(`reelform state pull` shows what the database holds)"
                )
            pg.write(ident, new)
            kept = sum(len(local.section(n)) for n in SECTIONS) - len(new)
            click.echo(f"{spec}: {len(new):,} records pushed ({kept:,} already there)")
    return 0


@command.command("list", short_help="Show the specs in the database, by status.")
def list_() -> int:
    """Every spec the database holds for this repository: its videos counted by
    status, and which runners are working on how many of them right now."""
    from reelform.state.pg import claims, db

    config = _config(Path.cwd())
    assert config.url is not None
    conn = db.connect(config.url)
    try:
        version = db.schema_version(conn)
        db.check_version(version)
        rows = claims.overview(conn) if version else []
    finally:
        conn.close()
    if not rows:
        click.echo("The state database holds no spec yet.")
        return 0
    for path, holder, until, counts, claimed in rows:
        total = sum(counts.values())
        statuses = ", ".join(f"{counts[s]:,} {s}" for s in sorted(counts)) or "no videos"
        held = (
            f"; applied by {holder} (lease to {until.isoformat(timespec='seconds')})"
            if holder and until
            else ""
        )
        click.echo(f"{path}: {total:,} videos ({statuses}){held}")
        for runner in sorted(claimed):
            click.echo(f"  {runner} is working on {claimed[runner]:,} of them")
    return 0
