"""Running an apply: locks, journals, providers, the executor, compaction.

``apply_plans`` is the effectful half of plan/apply (the pure half is
``project.plan_prepared``). It owns the resources of a run and releases them
whatever happens: the journals are compacted into the lockfiles at the end, and
after a crash the next run compacts what the dead one left.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import os
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from reelform.apply.executor import Executor
from reelform.apply.model import ApplyOptions, Outcome, SpecRun
from reelform.apply.progress import Reporter
from reelform.plan.diff import SpecPlan
from reelform.project import Prepared
from reelform.providers import ProviderContext, make_provider
from reelform.providers.base import Provider
from reelform.providers.ratelimit import TokenBucket
from reelform.providers.transport import async_client
from reelform.registry import provider_traits
from reelform.state.backend import StateConfig, state_config
from reelform.state.journal import Journal, StateJournal, compact
from reelform.state.lock import spec_lock


def time_scale_from(env: Mapping[str, str]) -> float:
    """`REELFORM_TIME_SCALE` shrinks every wait, to match a time-scaled simulator."""
    try:
        scale = float(env.get("REELFORM_TIME_SCALE", "1") or 1)
    except ValueError:
        return 1.0
    return scale if scale > 0 else 1.0


@dataclass
class ProviderPool:
    """One provider instance per (provider, settings, work folder); one rate limit
    per provider for the whole run, however many specs share it."""

    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    http: httpx.AsyncClient | None = None
    http_reads: httpx.AsyncClient | None = None
    time_scale: float = 1.0
    #: The token of each provider whose webhooks carry one (traits ``webhook_token``),
    #: made for this run: every instance of the provider shares it.
    _tokens: dict[str, str] = field(default_factory=dict)
    _providers: dict[tuple[str, tuple[tuple[str, str], ...], str], Provider] = field(
        default_factory=dict
    )
    _limiters: dict[str, TokenBucket] = field(default_factory=dict)
    #: Makes a provider's limiter from (name, rate per minute, time scale): with the
    #: state in PostgreSQL, one whose budget every runner using the key shares.
    make_limiter: Callable[[str, float, float], TokenBucket] | None = None

    def get(self, name: str, settings: Mapping[str, str], work_dir: Path) -> Provider:
        key = (name, tuple(sorted(settings.items())), str(work_dir))
        provider = self._providers.get(key)
        if provider is None:
            limiter = self.limiter(name)
            context = ProviderContext(
                http=self.http,
                http_reads=self.http_reads,
                work_dir=work_dir,
                limiter=limiter,
                env=self.env,
                time_scale=self.time_scale,
                webhook_secret=self.webhook_token(name),
            )
            provider = make_provider(name, settings, context)
            self._providers[key] = provider
        return provider

    def webhook_token(self, name: str) -> str | None:
        if not provider_traits(name).webhook_token:
            return None
        return self._tokens.setdefault(name, secrets.token_urlsafe(24))

    def limiter(self, name: str) -> TokenBucket | None:
        rate = provider_traits(name).submit_rate_per_minute
        if rate is None:
            return None
        if name not in self._limiters:
            self._limiters[name] = (
                self.make_limiter(name, rate, self.time_scale)
                if self.make_limiter is not None
                else TokenBucket(rate, time_scale=self.time_scale)
            )
        return self._limiters[name]

    def all(self) -> list[Provider]:
        return list(self._providers.values())

    async def aclose(self) -> None:
        for provider in self._providers.values():
            with contextlib.suppress(Exception):
                await provider.aclose()


@dataclass
class Held:
    """What ``locked`` holds: the state database session of the specs kept there,
    and each such spec's id in it (by its lock path)."""

    pg: Any = None  # state.pg.journal.PgSession, imported only when used
    ids: dict[Path, int] = field(default_factory=dict)


def spec_of_lock(lock_path: Path) -> Path:
    """The spec a lock path stands for (``x.lock``: ``x.yaml``, or ``x.yml``)."""
    for suffix in (".yml", ".yaml"):
        spec = lock_path.with_suffix(suffix)
        if spec.is_file():
            return spec
    return lock_path.with_suffix(".yaml")


@contextlib.contextmanager
def locked(lock_paths: Sequence[Path], labels: Sequence[str], wait: bool) -> Iterator[Held]:
    """Hold every spec's apply lock, and fold any journal a dead run left behind.

    A spec whose state is in PostgreSQL (reelform.toml) is joined as well: several
    runners, each in its own clone on any machine, apply it at once, each video
    claimed by one of them (``state/pg``); the file lock only keeps two applies out
    of one clone's folder.
    """
    held = Held()
    with contextlib.ExitStack() as stack:
        for path, label in sorted(zip(lock_paths, labels, strict=True)):  # fixed order
            config = state_config(spec_of_lock(path))
            if config.postgres:
                # Within one clone, still one apply at a time: two in the same folder
                # would clear each other's partial downloads (runners share a spec
                # across clones, each with its own output folder).
                stack.enter_context(spec_lock(path, label, wait=wait))
                if held.pg is None:
                    held.pg = stack.enter_context(_pg_session(config))
                # Not exclusive: every runner applying the spec shares its videos,
                # each claimed by one of them (state/pg/journal.py).
                held.ids[path] = held.pg.join(config.spec_key(spec_of_lock(path)))
                continue
            stack.enter_context(spec_lock(path, label, wait=wait))
            # A lockfile is only rewritten under this lock: a temp file of it is left by
            # an apply killed mid-write (the lockfile itself is whole either way).
            for temp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
                temp.unlink(missing_ok=True)
            compact(path)
        yield held


def _pg_session(config: StateConfig) -> contextlib.AbstractContextManager[Any]:
    from reelform.state.pg.journal import session

    assert config.url is not None
    return session(config.url)


def open_journal(prepared: Prepared, held: Held | None) -> StateJournal:
    """The spec's journal: its lockfile's, or its rows' in the state database."""
    if prepared.backend is None:
        return Journal(prepared.spec.lock_path, prepared.lock)
    from reelform.state.pg.journal import PgJournal

    if held is None or held.pg is None or prepared.spec.lock_path not in held.ids:
        raise RuntimeError(f"{prepared.spec.path}: applied without its state lease (a bug)")
    ident = held.ids[prepared.spec.lock_path]
    return PgJournal(held.pg, ident, prepared.lock, prepared.spec.path)


async def apply_plans(
    prepared: Sequence[Prepared],
    plans: Sequence[SpecPlan],
    options: ApplyOptions,
    reporter: Reporter,
    *,
    env: Mapping[str, str] | None = None,
    http: httpx.AsyncClient | None = None,
    held: Held | None = None,
) -> list[Outcome]:
    """Execute plans (the caller holds the locks). Journals are compacted at the end."""
    env = os.environ if env is None else env
    scale = time_scale_from(env)
    options = dataclasses.replace(options, poll=dataclasses.replace(options.poll, time_scale=scale))
    own_http = http is None
    # Three small pools, one per kind of work, each bounded by its own semaphore in the
    # executor: creates and uploads, status reads, downloads. httpcore scans every
    # pooled connection on each request, so one large pool costs more than it gives.
    limits = httpx.Limits(
        max_connections=options.parallel + 4, max_keepalive_connections=options.parallel + 4
    )
    api_timeout = httpx.Timeout(120.0, connect=15.0)
    api_http = http or async_client(timeout=api_timeout, limits=limits)
    reads_http = http or async_client(timeout=api_timeout, limits=limits)
    client = http or async_client(
        timeout=httpx.Timeout(60.0, connect=10.0), limits=limits, follow_redirects=True
    )
    pool = ProviderPool(env=env, http=api_http, http_reads=reads_http, time_scale=scale)
    rate_pool = None
    if held is not None and held.pg is not None:
        from reelform.state.pg.ratelimit import open_pool, shared_limiters

        # Pooled: each slot of the shared budget is one short transaction under a
        # transaction-level lock, so any connection will do.
        rate_pool = open_pool(held.pg.url, held.pg.holder)
        pool.make_limiter = shared_limiters(env, rate_pool)

    def provider_of(each: Prepared, name: str) -> Provider:
        spec = each.spec
        return pool.get(name, spec.settings.get(name, {}), spec.directory / ".reelform")

    try:
        # Every provider the plans use, before a journal is opened: a bad key, base
        # URL or setting is one ConfigError, with nothing recorded or sent.
        for each, plan in zip(prepared, plans, strict=True):
            for name in sorted({item.provider for item in plan.items if item.kind == "video"}):
                provider_of(each, name)
        runs = [
            SpecRun(p, plan, open_journal(p, held)) for p, plan in zip(prepared, plans, strict=True)
        ]
        try:
            if options.webhooks is not None:
                options.webhooks.bind(pool)
                if rate_pool is not None:
                    from reelform.state.pg.deliveries import SharedDeliveries

                    # Read about as often as a follower looks at the record.
                    pause = max(0.05, 2.0 * scale)
                    options.webhooks.share(SharedDeliveries(rate_pool), pause)
                await options.webhooks.start()
            executor = Executor(
                runs,
                options,
                lambda run, name: provider_of(run.prepared, name),
                reporter,
                client,
                limiter_for=pool.limiter,
                env=env,
            )
            return await executor.run()
        finally:
            if options.webhooks is not None:
                await options.webhooks.stop()
            for run in runs:
                run.journal.compact()
    finally:
        await pool.aclose()
        if rate_pool is not None:
            rate_pool.close()
        if own_http:
            for each_client in (client, api_http, reads_http):
                await each_client.aclose()
        reporter.close()
