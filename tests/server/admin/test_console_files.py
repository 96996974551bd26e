"""The console's ``files`` and ``delete-file``, through the standard input of a real server."""

from __future__ import annotations

import re

from guigui.common.protocol import MessageType
from tests.server.admin.test_admin_files import PICTURE, QUOTE, upload
from tests.server.admin.test_console import ServerProcess, admin_server, user

__all__ = ["admin_server"]  # the fixture, used by name


def test_files_are_listed_filtered_and_deleted_from_the_console(
    admin_server: ServerProcess,
) -> None:
    for command in ("files", "delete-file 1 --yes"):
        admin_server.command(command, "error: log in first")
    alice, bob = user(admin_server.address, "alice"), user(admin_server.address, "bob")
    plan = upload(alice, "plan.png", PICTURE, room="Général")["file"]
    quote = upload(bob, "devis 2026.pdf", QUOTE, to="alice")["file"]
    admin_server.login()
    admin_server.send("files")
    first = admin_server.expect(r"^#\d+ ")
    assert re.fullmatch(
        rf"#{quote['id']} \d{{4}}-\d\d-\d\d [\d:]{{8}} bob to alice 117 KiB application/pdf:"
        r" devis 2026\.pdf",
        first,
    )
    admin_server.expect(rf"^#{plan['id']} .* alice Général 50\.0 KiB image/png: plan\.png$")
    admin_server.expect(r"^2 file\(s\)$")
    admin_server.expect(r"^storage used: 2 file\(s\), 167 KiB$")
    admin_server.command("files bob", rf"^#{quote['id']} .* bob to alice ")
    admin_server.expect(r"^1 file\(s\) sent by bob$")
    admin_server.command("files nobody", "error: no user named 'nobody'")
    admin_server.command("files alice bob", r"error: usage: files \[LOGIN\]")
    admin_server.command("status", r"^listening on .*admin: chief$")
    admin_server.expect(r"^storage used: 2 file\(s\), 167 KiB$")

    admin_server.command(
        f"delete-file #{quote['id']} --yes",
        rf"^deleted file #{quote['id']} devis 2026\.pdf \(117 KiB\), sent by bob$",
    )
    assert alice.error(MessageType.FILE_GET, file=quote["id"])["code"] == "no_such_file"
    admin_server.command(
        f"delete-file {quote['id']} --yes", rf"error: no file #{quote['id']} \(unknown, or already"
    )
    admin_server.command("delete-file plan.png --yes", r"error: usage: delete-file ID --yes")
    admin_server.command("delete-file 1", r"error: usage: delete-file ID --yes")  # no --yes
    admin_server.command("files", r"^#\d+ .* plan\.png$")
    admin_server.expect(r"^1 file\(s\)$")
    admin_server.send("audit 1")
    admin_server.expect(
        rf"chief delete file #{quote['id']} devis 2026\.pdf by bob, {len(QUOTE)} bytes$"
    )
    alice.close()
    bob.close()
