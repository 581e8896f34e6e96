"""The expansion memo: a no-op `plan` of an unchanged spec without expanding it.

Expanding a 100,000-row spec (templates, validation, fingerprints) is most of a
no-op plan's time, and its result depends only on files and settings that can be
checked far faster than it runs. After a plan that found a spec all unchanged,
``serve.remember`` writes, per spec, the digests of everything the expansion read
(``inputs.py``) and what ``plan/unchanged.py`` compares with the state
(``UnchangedMemo``) into ``.reelform/cache/`` under the repository root
(``store.py``). The next plan of the same inputs (``serve.memo_plans``) checks
those digests, reads the state's summary, and compares it with the memo in one
pass: the same plan as the full path, or a miss and the full path. docs/design.md,
"The expansion memo", says why it cannot be stale.
"""
