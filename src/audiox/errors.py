"""Error classes: every failure a user can cause is one of these, with a one-line message.

The message says what is wrong and what to do. The library raises; only `audiox.cli.main` turns an
`AudioXError` into an exit code.
"""


class AudioXError(Exception):
    """Base class of every error audiox raises on purpose."""


class ConfigError(AudioXError):
    """A config file or value is malformed, unknown or inconsistent."""


class CheckpointError(AudioXError):
    """A weight file is missing, unreadable, unsafe or does not match its config."""


class MediaError(AudioXError):
    """An audio, video or image file is missing, corrupt, empty or too short."""


class InputError(AudioXError):
    """A tensor or argument has the wrong shape, range or value."""
