"""Frozen entry point of the command line (PyInstaller runs this as `notesearch`)."""

import os
import sys
from pathlib import Path


def run_module(module: str, args: list[str]) -> int:
    """Honour `notesearch -m MODULE ARGS`, for code that re-runs itself as `sys.executable -m`.

    Outside the bundle sys.executable is Python; inside it is this program, so commands such
    as single_instance.app_command() and filemanager.default_command() arrive here.
    """
    if module == "notesearch":
        from notesearch.cli import main

        return main(args)
    if module == "notesearch.gui.app":
        exe = Path(sys.executable)
        app = exe.with_name("notesearch-app" + exe.suffix)
        if os.name == "posix" and app.is_file():
            # Become the GUI program: right process name, window class and no console.
            os.execv(app, [str(app), *args])
        from notesearch.gui.app import main as app_main

        return app_main(args)
    print(f"notesearch: cannot run module {module!r} in this build", file=sys.stderr)
    return 2


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "-m":
        sys.exit(run_module(sys.argv[2], sys.argv[3:]))
    from notesearch.cli import main

    sys.exit(main())
