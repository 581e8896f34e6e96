"""reelform: video as code for AI talking-avatar videos."""

__version__ = "0.1.0"
