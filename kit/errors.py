"""The one exception the kit raises for a problem its user can fix (ground floor: every
module may raise it, so it imports nothing)."""


class KitError(Exception):
    """A problem the user can fix; the CLI prints it without a traceback."""
