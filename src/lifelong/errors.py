"""The error a user sees for bad input: one line naming the field and the fix."""


class ConfigError(ValueError):
    """Bad study configuration. `field` is the dotted path of the offending entry."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class RunError(RuntimeError):
    """A run that cannot go on (e.g. training diverged); the message says what was kept."""
