"""`reelform watch`: re-validate and re-plan while you write.

- ``affected``: which specs a changed file affects (pure, unit-tested).
- ``session``: the watched specs, their dependencies, re-planning, the text shown.
- ``cache``: lockfiles and output hashes kept between re-plans.
- ``preview``: `--preview`, local half-size renders with their own lockfile.
- ``loop``: the file watcher (watchfiles) that feeds the session.
"""
