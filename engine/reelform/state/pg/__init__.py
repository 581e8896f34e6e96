"""The PostgreSQL state backend: one row per video, photo avatar, upload and file
in the ``reelform`` schema, shared by every clone and runner (docs/design.md,
"State backends")."""
