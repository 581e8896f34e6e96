"""What a job needs first: its uploads (each asset once per provider and content)
and its photo avatar (made once, at a fingerprint, before the videos that use it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import replace

from reelform.apply.decide import AvatarStep, avatar_step
from reelform.apply.model import HeldElsewhere, NotTaken, SpecRun, now
from reelform.apply.pacing import Pacing
from reelform.errors import OutcomeUnknownError, RejectedError, RetryableError
from reelform.plan.diff import AvatarRequest, PlanItem
from reelform.plan.fingerprint import Request
from reelform.providers.base import (
    Asset,
    AvatarRef,
    JobStatus,
    PhotoAvatarRequest,
    PhotoAvatarState,
    Provider,
    VideoJob,
    VoiceRequest,
)
from reelform.state.records import AvatarRecord, Status, UploadRecord

#: Fields written as null rather than left out when the provider gives none, as they
#: always were (``records``: ``nulls``): the lockfile's bytes do not change.
_AVATAR_IDS = frozenset({"motion_id", "avatar_id"})


class Prerequisites(Pacing):
    """Uploads and photo avatars, shared by every video of the run that needs them."""

    def _first_steps(
        self,
        run: SpecRun,
        item: PlanItem,
        uploads: set[tuple[str, str]],
        avatars: set[tuple[int, str]],
    ) -> None:
        """Add the uploads and photo avatars a new submit of ``item`` will wait for, keyed
        as ``_upload`` and ``_photo_avatar`` key them: the progress display's totals."""
        video = run.videos[item.name]
        provider = item.provider
        assets = [name for name in (video.image, video.voice.audio) if name is not None]
        photo = video.avatar.photo if video.avatar is not None else None
        if photo is not None:
            request = self._avatar_request(run, provider, photo)
            step = self._avatar_step(run, request) if request is not None else AvatarStep.READY
            if step in (AvatarStep.WAIT, AvatarStep.CREATE):
                avatars.add((id(run), f"{provider}/{photo}"))
            if step is AvatarStep.CREATE:
                assets.append(run.prepared.spec.head.avatars[photo].image)
        for name in assets:
            asset = self._asset(run, name)
            known = run.journal.state.uploads.get(f"{provider}:{asset.sha256}") or UploadRecord()
            if asset.path is not None and not known.url:
                uploads.add((provider, asset.sha256))

    def _asset(self, run: SpecRun, name: str) -> Asset:
        prepared = run.prepared
        decl = prepared.spec.assets[name]
        facts = prepared.facts.get(name)
        if facts is None:
            return Asset(name, "", 0, "application/octet-stream", url=decl.url)
        return Asset(
            name,
            facts.sha256,
            facts.size,
            facts.content_type,
            path=decl.path,
            duration=facts.duration,
        )

    async def _upload(self, run: SpecRun, provider: Provider, asset: Asset) -> str:
        """Each asset once per provider and content: from the lockfile, or one shared task."""
        if asset.path is None and asset.url is not None:
            return asset.url
        lock_key = f"{provider.name}:{asset.sha256}"
        known = run.journal.state.uploads.get(lock_key)
        if known is not None and known.url:
            return known.url
        task = self._uploads.get((provider.name, asset.sha256))
        if task is None:
            task = asyncio.create_task(self._do_upload(run, provider, asset))
            self._uploads[(provider.name, asset.sha256)] = task
        url = await task
        # Hosted URLs are worth remembering; local references (file://) are not.
        if url.startswith(("http://", "https://")) and lock_key not in run.journal.state.uploads:
            run.journal.record("uploads", lock_key, UploadRecord(url=url, at=now()))
        return url

    async def _do_upload(self, run: SpecRun, provider: Provider, asset: Asset) -> str:
        async with self.slots:
            url = await provider.upload_asset(asset)
        self.reporter.event("uploaded", run.label, asset.name, provider=provider.name)
        return url

    async def _build_job(self, run: SpecRun, request: Request, provider: Provider) -> VideoJob:
        video = run.videos[request.name]
        urls: dict[str, str] = {}
        image = audio = None
        if video.image is not None:
            image = self._asset(run, video.image)
            urls[image.sha256] = await self._upload(run, provider, image)
        if video.voice.audio is not None:
            audio = self._asset(run, video.voice.audio)
            urls[audio.sha256] = await self._upload(run, provider, audio)
        avatar = None
        if video.avatar is not None:
            if video.avatar.photo is not None:
                avatar_id = await self._photo_avatar(run, provider, video.avatar.photo)
                avatar = AvatarRef(avatar_id, "photo")
            elif video.avatar.id is not None:
                avatar = AvatarRef(video.avatar.id, video.avatar.type)
        settings = dict(run.prepared.spec.settings.get(request.provider, {}))
        hooks = self.options.webhooks
        webhook_url = hooks.url_for(request.provider) if hooks is not None else None
        return VideoJob(
            key=request.key,
            name=request.name,
            title=video.title,
            voice=VoiceRequest(video.voice.voice_id, video.voice.script, audio),
            avatar=avatar,
            image=image,
            aspect=video.aspect or "portrait",
            screen_style=video.screen_style or 1,
            captions=bool(video.captions),
            settings=settings,
            asset_urls=urls,
            webhook_url=webhook_url,
        )

    async def _photo_avatar(self, run: SpecRun, provider: Provider, name: str) -> int:
        key = (id(run), f"{provider.name}/{name}")
        task = self._avatars.get(key)
        if task is None:
            task = asyncio.create_task(self._make_photo_avatar(run, provider, name))
            self._avatars[key] = task
        return await task

    def _avatar_request(self, run: SpecRun, provider: str, name: str) -> AvatarRequest | None:
        return next(
            (a for a in run.prepared.avatars if a.name == name and a.provider == provider), None
        )

    def _avatar_step(self, run: SpecRun, request: AvatarRequest) -> AvatarStep:
        entry = run.journal.state.avatars.get(request.lock_key) or AvatarRecord()
        return avatar_step(entry, request.fingerprint, resubmit=self._resubmits(request.provider))

    async def _make_photo_avatar(self, run: SpecRun, provider: Provider, name: str) -> int:
        request = self._avatar_request(run, provider.name, name)
        assert request is not None  # the plan made one for every photo avatar used
        lock_key = request.lock_key
        entry = run.journal.state.avatars.get(lock_key) or AvatarRecord()
        step = self._avatar_step(run, request)
        if step is AvatarStep.READY:
            assert entry.avatar_id is not None  # what READY means
            return int(entry.avatar_id)
        if step is AvatarStep.WAIT:
            assert entry.motion_id  # what WAIT means
            return await self._wait_avatar(run, provider, request, entry.motion_id)
        if step is AvatarStep.REFUSE:
            if entry.status is Status.SUBMITTING:
                run.journal.record(
                    "avatars", lock_key, replace(entry, status=Status.UNKNOWN), durable=True
                )
            raise RejectedError(
                provider.name,
                f"photo avatar {name!r}: an earlier request's outcome is unknown; "
                "`apply --resubmit-unknown` creates it again (you may pay twice)",
            )
        spec_avatar = run.prepared.spec.head.avatars[name]
        image = self._asset(run, spec_avatar.image)
        url = await self._upload(run, provider, image)
        # A new record of this request (nothing kept of an earlier one, whatever it was).
        base = AvatarRecord(
            fingerprint=request.fingerprint,
            inputs=request.inputs,
            provider=provider.name,
            model=request.model,
        )
        previous = run.journal.state.avatars.get(lock_key)

        async def intent() -> None:
            record = replace(base, status=Status.SUBMITTING, submitted_at=now())
            run.journal.record("avatars", lock_key, record, durable=True)
            taken = getattr(run.journal, "taken", None)  # shared state: see submit.py
            why = taken("avatars", lock_key) if taken is not None else None
            if why is not None:
                raise HeldElsewhere(f"photo avatar {name!r}: {why}", avatar=lock_key)

        async def withdraw() -> None:
            run.journal.record("avatars", lock_key, previous, durable=True)

        def send() -> Awaitable[PhotoAvatarState]:
            return provider.create_photo_avatar(
                PhotoAvatarRequest(
                    key=f"rf-{request.fingerprint[:16]}",
                    name=name,
                    image=image,
                    voice_id=spec_avatar.voice_id,
                    model=request.model,
                    asset_urls={image.sha256: url},
                )
            )

        try:
            state = await self._paid(provider, send, intent=intent, withdraw=withdraw)
        except OutcomeUnknownError as exc:
            record = replace(base, status=Status.UNKNOWN, error=self._scrub(str(exc)))
            run.journal.record("avatars", lock_key, record, durable=True)
            raise RejectedError(
                provider.name, f"photo avatar {name!r}: outcome unknown (not resubmitted)"
            ) from None
        except RejectedError as exc:
            record = replace(base, status=Status.FAILED, error=self._scrub(str(exc)))
            run.journal.record("avatars", lock_key, record)
            raise RejectedError(provider.name, f"photo avatar {name!r}: {exc}") from None
        except NotTaken as exc:
            raise RetryableError(provider.name, f"photo avatar {name!r}: {exc}") from None
        submitted = replace(
            base,
            status=Status.SUBMITTED,
            motion_id=state.motion_id,
            avatar_id=state.avatar_id,
            nulls=_AVATAR_IDS,  # no avatar id until the provider has made it
        )
        run.journal.record("avatars", lock_key, submitted, durable=True)
        return await self._wait_avatar(run, provider, request, state.motion_id)

    async def _wait_avatar(
        self, run: SpecRun, provider: Provider, request: AvatarRequest, motion_id: str
    ) -> int:
        def finished(state: PhotoAvatarState) -> bool:
            done = state.status is JobStatus.COMPLETED and state.avatar_id is not None
            return done or state.status is JobStatus.FAILED

        state = await self._poll(
            provider.name,
            lambda: provider.photo_avatar_status(motion_id),
            finished,
            first=self.options.poll.first_delay(provider.name, resumed=False) / 3,
            rendering=False,  # the video itself was not sent yet
        )
        entry = run.journal.state.avatars.get(request.lock_key) or AvatarRecord()
        if state.status is JobStatus.FAILED:
            error = self._scrub(state.error or "no reason given")
            run.journal.record(
                "avatars", request.lock_key, replace(entry, status=Status.FAILED, error=error)
            )
            raise RejectedError(
                provider.name,
                f"photo avatar {request.name!r} failed: {state.error or 'no reason given'}",
            )
        assert state.avatar_id is not None  # ``finished`` says so
        ready = replace(
            entry, status=Status.COMPLETED, motion_id=motion_id, avatar_id=state.avatar_id
        )
        run.journal.record("avatars", request.lock_key, ready)
        self.reporter.event("avatar-ready", run.label, request.name, avatar_id=state.avatar_id)
        return state.avatar_id
