"""Kernels for scheduled runs: over private Unix sockets, without noise.

Kernels started by Papermill listen on TCP ports of the loopback interface by default, which any
local account can reach, and ipykernel warns about it on every run ("Kernel is running over TCP
without encryption").  The workbench starts its kernels over IPC instead: Unix sockets in a
private folder (0700) that only the operator's account can open.  That also keeps a successful
``juki report`` silent on stderr except for its progress lines; what a kernel itself logs goes
to ``kernel.log`` in its run folder.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile


def kernel_manager_class():
    from jupyter_client.manager import AsyncKernelManager

    class PrivateIPCKernelManager(AsyncKernelManager):
        """A kernel manager whose kernel talks over Unix sockets in a private folder."""

        def __init__(self, *args, **kwargs):
            self._sockets = tempfile.mkdtemp(prefix="juki-kernel-")
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("ip", os.path.join(self._sockets, "k"))
            super().__init__(*args, **kwargs)

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            # the kernel's own stderr (ipykernel's log lines, e.g. at shutdown) goes to kernel.log in
            # the run folder, kept with the run, instead of onto the scheduler's terminal
            folder = kw.get("cwd") or os.getcwd()        # Papermill runs the kernel in the run folder
            fd = os.open(os.path.join(folder, "kernel.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            kw.setdefault("stderr", fd)
            try:
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            finally:
                os.close(fd)

        async def cleanup_resources(self, restart: bool = False) -> None:  # async in AsyncKernelManager
            await super().cleanup_resources(restart)
            if not restart:
                shutil.rmtree(self._sockets, ignore_errors=True)

    return PrivateIPCKernelManager


@contextlib.contextmanager
def quiet_kernels():
    """No progress bars from libraries inside the kernels of a scheduled run."""
    old = os.environ.get("TQDM_DISABLE")
    os.environ["TQDM_DISABLE"] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = old
