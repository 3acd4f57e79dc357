"""onnxruntime, imported with its telemetry off: the local models send nothing anywhere."""

from __future__ import annotations

import os
from types import ModuleType


def import_onnxruntime() -> ModuleType:
    """Return the onnxruntime module with its usage telemetry turned off. Raises ImportError
    when it is not installed.

    Official onnxruntime builds for Linux and macOS (1.2x on; seen with 1.32) queue usage
    events (a ProcessInfo event: OS, CPU, the program's path) for upload to Microsoft and keep
    a device id in ~/.cache/Microsoft/DeveloperTools/.onnxruntime. ORT_DISABLE_TELEMETRY=1,
    read once when its runtime starts, turns all of it off (microsoft/onnxruntime#27379):
    nothing is written or sent. Every import of onnxruntime in notesearch goes through here.
    """
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"
    import onnxruntime

    return onnxruntime
