"""`python -m MODULE` for the frozen programs, whose sys.executable is not a Python."""

import os
import runpy
import sys
from pathlib import Path


def run_dash_m(argv: list[str]) -> None:
    """When argv is [program, "-m", MODULE, *args], run MODULE as __main__ and exit.

    Our code re-runs itself as `sys.executable -m MODULE` (the GUI's indexer worker, the CLI
    starting the app, file-manager commands). In a venv that is Python; in the bundle it is
    one of our two programs, which therefore accept the same form. Otherwise returns.
    """
    if len(argv) < 3 or argv[1] != "-m":
        return
    module, args = argv[2], argv[3:]
    if module.split(".")[0] != "notesearch":
        # Only our modules are bundled; this is not a general Python.
        print(f"{Path(argv[0]).name}: -m {module}: only notesearch modules can run here",
              file=sys.stderr)
        sys.exit(2)
    exe = Path(sys.executable)
    gui = exe.with_name("notesearch-app" + exe.suffix)
    if module == "notesearch.gui.app" and exe != gui and os.name == "posix" and gui.is_file():
        # From the CLI, become the GUI program: right process name, window class, no console.
        os.execv(gui, [str(gui), *args])
    sys.argv = [str(exe), *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
    sys.exit(0)
