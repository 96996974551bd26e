"""The desktop client's command line: ``run_client.py``, ``guigui-client`` and the single file.

It reads the settings (presets included), answers ``--help``, ``--version`` and
``--show-settings`` without opening a window, hands ``--cli ...`` to the
command-line client, and says in one line when there is no display to open a
window on, instead of a traceback. The GUI is imported only when a window opens.
"""

from __future__ import annotations

import argparse
import os
import sys
import tkinter
from importlib import metadata

from guigui.client.presets import PresetError, parse_server
from guigui.client.settings import ClientSettings, user_settings_path
from guigui.common.i18n import _, set_language

EXIT_NO_DISPLAY = 3


def no_display(prog: str) -> str:
    """Why the window cannot open, in the user's language, and what to do instead."""
    return _(
        "no display: set DISPLAY (or start a desktop session), "
        "or use the command-line client: {prog} --cli --help"
    ).format(prog=prog)


def program_name() -> str:
    """How the user started us: ``run_client.py``, ``guigui-client`` or the single file's name."""
    return os.path.basename(sys.argv[0]) or "guigui-client"


def version() -> str:
    """The installed version, or ``unknown`` (a source checkout that was not installed)."""
    try:
        return metadata.version("guigui-chat")
    except metadata.PackageNotFoundError:
        return "unknown"


def build_parser(prog: str) -> argparse.ArgumentParser:
    """The desktop client's options."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="GuiGui Chat, the desktop client. Without options: open its window.",
        epilog=(
            "The server address comes from, strongest first: a preset that locks it, --server, "
            "the user's own settings, GUIGUI_SERVER=host:port (or host:port,host:port), "
            "guigui-chat.json next to the program, the system-wide preset "
            "(/etc/guigui-chat/client.json; on Windows "
            "%ProgramData%\\GuiGui Chat\\client.json). See docs/DEPLOYMENT.md."
        ),
    )
    parser.add_argument(
        "--server",
        metavar="HOST[:PORT],...",
        help="the server for this run only (not saved); several, separated by commas "
        "(a cluster's nodes), are tried in turn",
    )
    parser.add_argument(
        "--show-settings",
        action="store_true",
        help="print the settings in effect and where each one comes from, then exit",
    )
    parser.add_argument(
        "--cli",
        nargs=argparse.REMAINDER,
        metavar="COMMAND",
        help="run the command-line client instead (run_client.py --cli --help)",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    return parser


def has_display() -> bool:
    """False where Tk surely cannot open a window: X11 systems without DISPLAY.

    (Windows and macOS always have one; a wrong DISPLAY is caught when Tk starts.)
    """
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY"))


def error(message: str) -> None:
    """One line on standard error, prefixed with the program's name."""
    print(f"{program_name()}: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the desktop client (or answer the command line); the exit status."""
    prog = program_name()
    args = build_parser(prog).parse_args(argv)
    if args.cli is not None:
        return run_cli(args.cli)
    settings = ClientSettings.load()
    for problem in settings.problems:
        error(problem)
    if args.server:
        try:
            server = parse_server(args.server, "--server")
        except PresetError as problem:
            error(str(problem))
            return 2
        if not settings.use_server(server.values["host"], server.values["port"]):
            error(f"--server ignored: the server address is locked by {settings.server_locked_by}")
    if args.show_settings:
        print(f"# {prog} {version()}: settings in effect (user file: {user_settings_path()})")
        print("\n".join(settings.describe()))
        return 0
    if not has_display():
        set_language(settings.language)
        error(no_display(prog))
        return EXIT_NO_DISPLAY
    return open_window(settings, prog)


def run_cli(argv: list[str]) -> int:
    """The command-line client, on the preset server unless ``--host`` or ``GUIGUI_HOST`` says."""
    from guigui.client import cli

    settings = ClientSettings.load()
    for problem in settings.problems:
        error(problem)
    preset: list[str] = []
    if not os.environ.get("GUIGUI_HOST") and not os.environ.get("GUIGUI_PORT"):
        preset = ["--host", settings.host, "--port", str(settings.port)]
        preset += ["--tls"] if settings.tls else []
        preset += ["--cafile", settings.cafile] if settings.cafile else []
    return cli.main(preset + argv)  # options given after these win


def open_window(settings: ClientSettings, prog: str) -> int:
    """Open the client's window and run it until it is closed."""
    from guigui.client.gui.app import ClientApp

    try:
        app = ClientApp(settings)
    except tkinter.TclError as problem:  # DISPLAY set, but no X server there
        error(f"{problem}: " + no_display(prog))
        return EXIT_NO_DISPLAY
    if settings.problems:
        app.after(300, lambda: show_problems(app, settings.problems))
    app.mainloop()
    return 0


def show_problems(app: tkinter.Misc, problems: list[str]) -> None:
    """Tell the user, in a dialog, which presets or settings were ignored."""
    import ttkbootstrap as ttk

    text = _("Some settings were ignored; tell your administrator:") + "\n\n" + "\n".join(problems)
    ttk.Messagebox.show_warning(text, title="GuiGui Chat", parent=app)
