"""Finder (macOS): a Quick Action (an Automator service bundle) in ~/Library/Services."""

from __future__ import annotations

import plistlib
import shlex
import uuid
from pathlib import Path
from typing import Any

from notesearch.platform.filemanager.common import MARKER, home_dir

MAC_LABEL = "Find Similar Notes"


def mac_workflow_path(home: Path | None = None) -> Path:
    return home_dir(home) / "Library/Services" / f"{MAC_LABEL}.workflow"


def mac_info_plist() -> bytes:
    """Info.plist of the Quick Action: a Finder service taking Markdown/plain-text files."""
    service = {
        "NSMenuItem": {"default": MAC_LABEL},
        "NSMessage": "runWorkflowAsService",
        "NSRequiredContext": {"NSApplicationIdentifier": "com.apple.finder"},
        "NSSendFileTypes": ["net.daringfireball.markdown", "public.plain-text"],
    }
    return plistlib.dumps({"NSServices": [service], "X-Notesearch": MARKER})


def mac_shell_script(command: list[str]) -> str:
    return f'# {MARKER}\nfor f in "$@"; do\n    {shlex.join(command)} similar --show "$f"\ndone\n'


def _uuid(name: str) -> str:
    # Stable ids keep regenerated bundles byte-identical.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"notesearch:{name}")).upper()


def _run_shell_action(command: list[str]) -> dict[str, Any]:
    parameters = {
        "COMMAND_STRING": mac_shell_script(command),
        "CheckedForUserDefaultShell": True,
        "inputMethod": 1,  # pass input as arguments, not stdin
        "shell": "/bin/sh",
        "source": "",
    }
    return {
        "AMAccepts": {"Container": "List", "Optional": True, "Types": ["com.apple.cocoa.path"]},
        "AMActionVersion": "2.0.3",
        "AMApplication": ["Automator"],
        "AMParameterProperties": {key: {} for key in parameters},
        "AMProvides": {"Container": "List", "Types": ["com.apple.cocoa.string"]},
        "ActionBundlePath": "/System/Library/Automator/Run Shell Script.action",
        "ActionName": "Run Shell Script",
        "ActionParameters": parameters,
        "BundleIdentifier": "com.apple.RunShellScript",
        "CFBundleVersion": "2.0.3",
        "Class Name": "RunShellScriptAction",
        "InputUUID": _uuid("input"),
        "OutputUUID": _uuid("output"),
        "UUID": _uuid("action"),
        "isViewVisible": True,
    }


def mac_document_wflow(command: list[str]) -> bytes:
    """document.wflow: one 'Run Shell Script' action fed the selected files as arguments."""
    meta = {
        "serviceInputTypeIdentifier": "com.apple.Automator.fileSystemObject",
        "serviceOutputTypeIdentifier": "com.apple.Automator.nothing",
        "serviceProcessesInput": 0,
        "workflowTypeIdentifier": "com.apple.Automator.servicesMenu",
    }
    document = {
        "AMApplicationBuild": "523",
        "AMApplicationVersion": "2.10",
        "AMDocumentVersion": "2",
        "actions": [{"action": _run_shell_action(command), "isViewVisible": True}],
        "connectors": {},
        "workflowMetaData": meta,
    }
    return plistlib.dumps(document)


def _mac_files(home: Path | None, command: list[str]) -> list[tuple[Path, bytes, bool]]:
    contents = mac_workflow_path(home) / "Contents"
    return [
        (contents / "Info.plist", mac_info_plist(), False),
        (contents / "document.wflow", mac_document_wflow(command), False),
    ]
