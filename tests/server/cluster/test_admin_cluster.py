"""The admin of one node sees and acts on the whole cluster (issue 16, item 2).

Two nodes in this process on a fresh MariaDB database and the machine's Redis;
the admin API of node a, and its panel in a real Tk window (screenshots in
both languages, for docs/CLUSTER.md).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from guigui.common.i18n import set_language
from guigui.common.protocol import MessageType
from guigui.server.admin.api import AdminAPI
from guigui.server.chat_server import ChatServer
from guigui.server.clock import now_ms
from guigui.server.handoff import Done, run_on_loop
from guigui.server.hashing import hash_password
from guigui.server.store import AdminRecord
from tests.server.admin.test_panel import pump, window_id
from tests.server.cluster.test_nodes import Node, node, user_on
from tests.support.display import display, screenshot
from tests.support.wire import WireClient

__all__ = ["display", "node"]  # fixtures, used by name


def admin_of(server: ChatServer) -> AdminAPI:
    """The admin API of a node, logged in as ``chief`` (one account for the whole cluster)."""
    password_hash = hash_password("chief password", 4)

    def create(done: Done[AdminRecord]) -> None:
        server.store_worker.submit(
            lambda store: (
                store.find_admin("chief") or store.create_admin("chief", password_hash, now_ms())
            ),
            done,
        )

    run_on_loop(server, create).result(10)
    api = AdminAPI(server)
    api.login("chief", "chief password").result(10)
    return api


def test_the_admin_of_one_node_sees_who_is_online_on_every_node(node: Node) -> None:
    a, b = node("a"), node("b")
    alice = user_on(a, "alice")
    bob = user_on(b, "bob")
    api = admin_of(a.server)
    deadline = time.monotonic() + 10
    while len(users := api.users().result(10)) < 2:
        assert time.monotonic() < deadline, f"node a never saw bob: {users}"
        time.sleep(0.05)
    assert [(u.login, u.node) for u in users] == [("alice", ""), ("bob", "b")]
    status = api.status().result(10)
    assert status.cluster is not None and status.cluster.linked
    assert status.cluster.node == "a" and status.cluster.nodes == ["b"]
    api.kick("bob", 60, "calm down").result(10)  # acts on node b's session
    assert bob.next_event(MessageType.SANCTIONED)["kind"] == "kick"
    alice.close()


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_panel_of_a_node_shows_the_cluster(node: Node, display: str, language: str) -> None:
    from guigui.server.admin.panel import AdminPanel

    a, b = node("a"), node("b")
    bob = user_on(b, "bob")
    admin_of(a.server)  # creates the admin account; the panel logs in through its form
    set_language(language)
    window: Any = AdminPanel(a.server, AdminAPI(a.server), theme="bootstrap-light")
    try:
        window.login_entry.insert(0, "chief")
        window.password_entry.insert(0, "chief password")
        window.login_button.invoke()
        pump(window, lambda: window.admin == "chief")
        linked = (
            "linked to 1 other node(s) b" if language == "en" else "relié à 1 autre(s) nœud(s) b"
        )
        pump(window, lambda: linked in window.status_text.get(), timeout=15)
        pump(window, lambda: "chief" in window.status_text.get())  # not "not logged in"
        on_node = "on node b" if language == "en" else "sur le nœud b"
        tree = window.users_table.tree
        pump(
            window,
            lambda: any(on_node in tree.item(item, "values") for item in tree.get_children()),
        )
        window.tabs.select(0)
        window.update()
        screenshot(window_id(window), f"admin-cluster-users-{language}")
        stop_tab = window.tabs.tabs()[-1]
        window.tabs.select(stop_tab)
        window.update()
        assert window.stop_whole_cluster.get() is False  # this node only, unless asked
        screenshot(window_id(window), f"admin-cluster-stop-{language}")
    finally:
        window.destroy()
        set_language("en")
        bob.close()


def test_stop_stops_this_node_and_stop_cluster_every_node(node: Node) -> None:
    a, b, c = node("a"), node("b"), node("c")
    carol = user_on(c, "carol")
    admin_of(a.server).stop(1, "maintenance de a").result(10)
    assert a.server.wait(20)
    assert carol.ok(MessageType.SAY, room="Général", text="c sert encore")["message"]
    bob = user_on(b, "bob")
    admin_of(b.server).stop(1, "fin de journée", whole_cluster=True).result(10)
    assert carol.next_event(MessageType.SHUTDOWN)["reason"] == "fin de journée"
    assert bob.next_event(MessageType.SHUTDOWN)["reason"] == "fin de journée"
    assert b.server.wait(20) and c.server.wait(20)


def test_an_account_erased_on_one_node_is_gone_from_every_node(node: Node) -> None:
    a, b = node("a"), node("b")
    bob = user_on(b, "bob")
    deadline = time.monotonic() + 10
    while a.server.users.find("bob") is None:  # node a reads bob's account once told
        assert time.monotonic() < deadline, "node a never learnt of bob"
        time.sleep(0.05)
    erased = admin_of(a.server).erase_user("bob").result(10)
    assert erased.startswith("deleted#")
    bob.expect_closed()
    again = WireClient(b.address)
    again.hello()
    refused = again.error(MessageType.LOGIN, login="bob", password="correct horse")
    assert refused["code"] == "bad_credentials"
