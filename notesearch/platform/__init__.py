"""Platform glue at the edge: hotkeys, file-manager menus, launch at login."""
