"""Who is running juki: the operating-system account, never a flag or a variable.

The operator is the OS account of the process's real user, mapped to an operator in the
operators file (``os_user``).  One exception makes the recommended deployment work: staff
run registry commands through ``sudo -u <service account> juki ...`` so that only the service
account owns the store and the log (files 0600).  When the process runs as the account that
owns the data folder and sudo has said who invoked it (``SUDO_UID``), that invoking account is
the operator.  Only the service account itself could forge ``SUDO_UID`` -- and it is the
administrators'.  ``--operator`` and ``JUKI_OPERATOR`` are refused and logged.
"""
from __future__ import annotations

import os
import pwd

from .. import paths


def account_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid:{uid}"


def os_account() -> tuple[str, bool]:
    """(account, via_sudo): who is running this process."""
    from ..server import caller, installation
    if installation() is not None:      # bin/setup-server: sudo and juki-entry say who called
        return caller()
    uid = os.getuid()
    sudo = os.environ.get("SUDO_UID")
    if sudo and sudo.isdigit() and int(sudo) != uid:
        try:
            owner = paths.data_dir().stat().st_uid
        except OSError:
            owner = None
        if owner == uid:
            return account_name(int(sudo)), True
    return account_name(uid), False


def impersonation_attempt(flag: str | None = None) -> str | None:
    """Why this invocation tries to choose its operator (a flag or JUKI_OPERATOR), or None."""
    if flag:
        return f"--operator {flag!r} is not accepted: the operator is your OS account"
    env = os.environ.get("JUKI_OPERATOR")
    if env:
        return f"JUKI_OPERATOR={env!r} is not honoured: the operator is your OS account (unset it)"
    return None
