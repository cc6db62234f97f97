"""Retention: the policy (rules as data, business-day calendar) and purges that prove what
they did.  See :mod:`.policy` and :mod:`.purge`."""
from .policy import Policy, RetentionRule, load  # noqa: F401
from .purge import apply, plan  # noqa: F401
