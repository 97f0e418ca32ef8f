"""The one base of every error that is the user's to fix (bad input, a missing artifact, a budget no
network meets). The ``nag`` CLI shows any of them as one line and exits with code 2; anything else is a
bug."""


class NagError(Exception):
    """An error the user can fix; its message names the value or file and what to do."""


class BudgetError(NagError, ValueError):
    """A budget no architecture can meet, or a budget that is not a positive finite number."""
