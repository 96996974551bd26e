"""This server as one node of a cluster: what it tells the others, and what it does with theirs.

Several nodes share one MariaDB database (what is stored) and one Redis
pub/sub channel (what happens live). Each node keeps, as a single server does,
the chat's state in memory (users, rooms, memberships, requests, sanctions,
presence) and its own clients' connections. ``ClusterNode`` keeps those
copies in step:

- every change made here is announced (it is an ``Announcements``): the
  handlers, the delivery and moderation call it, and it publishes an event on
  the ``ClusterBus``;
- every event from another node is applied here, on the loop thread, with the
  same code a local change uses (``Delivery.messages_from_another_node``,
  ``Moderation.apply_decision``, ``Moderation.apply_sanction``...), and
  reaches this node's sessions.

Presence is cluster-wide: each node says how many sessions each user has on
it (``SessionsChanged``), and three times per ``heartbeat`` the whole list
(``NodeAlive``). A node not heard from for a whole heartbeat (three beats
missed) is taken as gone: its users' sessions there no longer count (they are
offline, unless logged in elsewhere), as a client silent for that long would
be pinged. A node that stops cleanly says so (``NodeGone``).

When Redis is unreachable, each node goes on alone: its own clients are
served, messages are stored, nothing acknowledged is lost (it is in the
database), and clients fill any gap from the history once the link is back.
The bus logs the outage once and the panel shows it (``ClusterNode.figures``).
When the link comes back, this node says at once who is logged in here, and
reloads from the database what the others may have changed meanwhile
(accounts, memberships, requests, sanctions).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from guigui.common.messages import ReadStateEvent, encode
from guigui.common.objects import ConversationState
from guigui.common.protocol import Status
from guigui.server.announcements import Announcements
from guigui.server.clock import now_ms
from guigui.server.cluster.bus import ClusterBus
from guigui.server.cluster.events import (
    ClusterEvent,
    MembershipChanged,
    MessagesSaved,
    NewFile,
    NewMessage,
    NodeAlive,
    NodeGone,
    ReadMoved,
    RequestDecided,
    RequestFiled,
    SanctionAdded,
    SanctionLifted,
    SessionsChanged,
    StopRequested,
    UserChanged,
)
from guigui.server.handoff import Outcome
from guigui.server.moderation import Moderation
from guigui.server.store import (
    AccessRequestRecord,
    FileRecord,
    SanctionRecord,
    Snapshot,
    StoredMessage,
    UserRecord,
)
from guigui.server.store.base import ERASED_LOGIN_PREFIX

if TYPE_CHECKING:
    from guigui.server.chat_server import ChatServer

log = logging.getLogger(__name__)

BEATS_PER_HEARTBEAT = 3
"""``NodeAlive`` beats per ``heartbeat``: a node silent for a whole heartbeat is gone."""


def channel_of(database_url: str) -> str:
    """The Redis channel of the cluster whose nodes share this database: ``guigui:NAME``."""
    name = urlsplit(database_url).path.strip("/") or "guigui"
    return f"guigui:{name}"


@dataclass(frozen=True)
class ClusterFigures:
    """What the admin sees of the cluster."""

    node: str
    """This node's name."""
    linked: bool
    """Whether the Redis link is up (False: this node delivers to its own clients only)."""
    nodes: list[str]
    """The other nodes heard from within the last heartbeats."""
    published: int
    received: int
    dropped: int
    """Events not sent while the link was down (what matters is in the database)."""
    outages: int


class ClusterNode(Announcements):
    """This node's link with the others: announces its changes, applies theirs."""

    def __init__(self, server: ChatServer) -> None:
        config = server.config
        assert config.cluster_url is not None, "a cluster node needs --cluster redis://..."
        self.server = server
        self.node = config.node_name or f"{config.host}:{config.port}"
        self.moderation = Moderation(server)
        self.channel = config.cluster_channel or channel_of(config.database_url)
        """The Redis channel this cluster's nodes share."""
        self.bus = ClusterBus(
            config.cluster_url,
            self.node,
            server.loop,
            self._on_event,
            self._on_link,
            channel=self.channel,
        )
        self._last_heard: dict[str, float] = {}
        """Other nodes by name: when they were last heard from (monotonic seconds)."""
        self._users_on: dict[str, set[int]] = {}
        """Other nodes by name: the users they last said had sessions there."""
        self._newest_seen = 0
        """The highest message id stored here or heard of from the others."""
        self._gap_from: int | None = None
        """While the link is down: the newest id seen before it went down."""
        self._ours_in_gap: set[int] = set()
        """Messages stored here while the link was down (already delivered here)."""

    # ---- lifecycle -------------------------------------------------------------

    def join_cluster(self) -> None:
        """Connect to Redis and start the heartbeat (before the loop runs)."""
        self._newest_seen = self.server.message_ids.last
        self.bus.start()
        self.server.loop.call_later(0.0, self._heartbeat)
        log.info("cluster: node %s on Redis channel %s", self.node, self.channel)

    def leave_cluster(self) -> None:
        """Say goodbye (the others mark this node's users offline at once), then disconnect."""
        self.bus.publish(NodeGone(self.node))
        self.bus.stop()

    def _heartbeat(self) -> None:
        """Say who is logged in here; take as gone the nodes silent for a whole heartbeat."""
        self._say_alive()
        silence = self.server.config.heartbeat
        now = time.monotonic()
        for node, heard in list(self._last_heard.items()):
            if now - heard > silence:
                log.warning("cluster: node %s silent for %.0f s: taken as gone", node, now - heard)
                self._node_gone(node)
        if not self.server.stopping:
            beat = self.server.config.heartbeat / BEATS_PER_HEARTBEAT
            self.server.loop.call_later(beat, self._heartbeat)

    def _say_alive(self) -> None:
        sessions = [
            (user_id, login, str(status), count)
            for user_id, login, status, count in self.server.presence.local()
        ]
        self.bus.publish(NodeAlive(self.node, now_ms(), sessions))

    @property
    def figures(self) -> ClusterFigures:
        """The link's state and counts, and the nodes heard from (loop thread)."""
        bus = self.bus.figures
        return ClusterFigures(
            node=self.node,
            linked=self.bus.connected,
            nodes=sorted(self._last_heard),
            published=bus.published,
            received=bus.received,
            dropped=bus.dropped,
            outages=bus.outages,
        )

    # ---- what this node announces ----------------------------------------------

    def messages_saved(self, messages: list[StoredMessage]) -> None:
        """A group commit's new messages: the other nodes give them to their readers."""
        self._newest_seen = max(self._newest_seen, messages[-1].id)
        if self._gap_from is not None:
            self._ours_in_gap.update(message.id for message in messages)
        facts = [
            NewMessage(m.id, m.room_id, m.sender_id, m.recipient_id, m.text, m.ts)
            if m.file is None
            else NewMessage(
                m.id, m.room_id, m.sender_id, m.recipient_id, m.text, m.ts, _new_file(m.file)
            )
            for m in messages
        ]
        self.bus.publish(MessagesSaved(self.node, facts))

    def sessions_changed(self, user_id: int, login: str, sessions: int, status: Status) -> None:
        """The user's sessions here, or status, changed."""
        self.bus.publish(SessionsChanged(self.node, user_id, login, sessions, str(status)))

    def user_changed(self, user_id: int) -> None:
        """An account was created or erased here."""
        self.bus.publish(UserChanged(self.node, user_id))

    def membership_changed(self, user_id: int, room_id: int, member: bool) -> None:
        """A user joined or left a room here."""
        self.bus.publish(MembershipChanged(self.node, user_id, room_id, member))

    def request_filed(self, request: AccessRequestRecord) -> None:
        """A request to join an approval room, for every node's admin to see."""
        self.bus.publish(
            RequestFiled(
                self.node, request.id, request.user_id, request.room_id, request.created_at
            )
        )

    def request_decided(self, request_id: int, user_id: int, room_id: int, granted: bool) -> None:
        """An admin of this node decided a request."""
        self.bus.publish(RequestDecided(self.node, request_id, user_id, room_id, granted))

    def sanction_added(self, sanction: SanctionRecord) -> None:
        """A sanction stored here: every node closes the sessions it hits."""
        self.bus.publish(SanctionAdded.from_record(self.node, sanction))

    def sanction_lifted(self, sanction_id: int) -> None:
        """A sanction lifted here."""
        self.bus.publish(SanctionLifted(self.node, sanction_id))

    def read_moved(self, user_id: int, state: ConversationState) -> None:
        """The user's read marker moved: their sessions on other nodes show it."""
        self.bus.publish(ReadMoved(self.node, user_id, state.to_json()))

    def stop_requested(self, seconds: int, reason: str) -> None:
        """An admin here stops the whole cluster."""
        self.bus.publish(StopRequested(self.node, None, reason, seconds))

    # ---- what the other nodes say ----------------------------------------------

    def _on_event(self, event: ClusterEvent) -> None:
        """Apply another node's event here (loop thread); one that fails is logged, not fatal."""
        self._last_heard[event.node] = time.monotonic()
        try:
            self._apply(event)
        except Exception:
            log.exception(
                "cluster: could not apply %s from node %s", type(event).__name__, event.node
            )

    def _apply(self, event: ClusterEvent) -> None:
        server = self.server
        match event:
            case MessagesSaved():
                self._messages_from(event.node, list(event.messages))
            case SessionsChanged():
                self._remote_sessions(
                    event.node, event.user_id, event.login, event.sessions, event.status
                )
            case NodeAlive():
                self._node_alive(event)
            case NodeGone():
                self._node_gone(event.node)
            case UserChanged():
                self._reload_user(event.user_id)
            case MembershipChanged():
                if event.member:
                    server.rooms.add_member(event.user_id, event.room_id)
                    server.sessions.subscribe(event.user_id, event.room_id)
                else:
                    server.rooms.remove_member(event.user_id, event.room_id)
                    server.sessions.unsubscribe(event.user_id, event.room_id)
            case RequestFiled():
                if not server.rooms.has_pending(event.request_id):
                    server.rooms.add_pending(
                        AccessRequestRecord(
                            event.request_id,
                            event.user_id,
                            event.room_id,
                            "pending",
                            event.created_at,
                        )
                    )
            case RequestDecided():
                if server.rooms.has_pending(event.request_id):
                    self.moderation.apply_decision(event.request_id, event.granted)
            case SanctionAdded():
                self.moderation.apply_sanction(event.record())
            case SanctionLifted():
                server.sanctions.remove(event.sanction_id)
            case ReadMoved():
                frame = encode(ReadStateEvent(ConversationState.from_json(event.state)))
                readers = [c for c in server.sessions.of_user(event.user_id) if c.wants_read_state]
                server.send_to(readers, frame)
            case StopRequested():
                if event.target is None or event.target == self.node:
                    log.warning("cluster: node %s stops the cluster (%s)", event.node, event.reason)
                    server.stop_in(event.seconds, event.reason)

    def _messages_from(self, node: str, facts: list[NewMessage]) -> None:
        """Give this node's readers the messages another node stored.

        A message from (or to) an account this node has not read yet waits
        until it is read, and the ones after it with it, so the order holds.
        """
        server = self.server
        messages: list[StoredMessage] = []
        for index, fact in enumerate(facts):
            people = (fact.sender_id, fact.recipient_id)
            unknown = [u for u in people if u is not None and not server.users.knows(u)]
            if unknown:  # an account made elsewhere, not read here yet: read it first
                server.delivery.messages_from_another_node(messages)
                then = partial(self._messages_from, node, facts[index:])
                self._reload_user(unknown[0], then=then)
                return
            self._newest_seen = max(self._newest_seen, fact.id)
            messages.append(
                StoredMessage(
                    fact.id,
                    fact.room_id,
                    fact.sender_id,
                    fact.recipient_id,
                    fact.text,
                    fact.ts,
                    None,
                    "",
                    None if fact.file is None else _file_record(fact),
                )
            )
        server.delivery.messages_from_another_node(messages)

    def _remote_sessions(
        self, node: str, user_id: int, login: str, sessions: int, status: str
    ) -> None:
        users = self._users_on.setdefault(node, set())
        if sessions > 0:
            users.add(user_id)
        else:
            users.discard(user_id)
        change = self.server.presence.remote_sessions(
            node, user_id, login, sessions, Status(status)
        )
        if change is not None:
            self.server.delivery.presence(change)

    def _node_alive(self, event: NodeAlive) -> None:
        """A heartbeat: the node's users with sessions; those it no longer lists have none.

        A node heard from for the first time (it just started, or the link came
        back) is told at once who is logged in here, rather than at the next
        heartbeat.
        """
        if event.node not in self._users_on:
            self._users_on[event.node] = set()
            self._say_alive()
        listed = {user_id for user_id, _, _, _ in event.sessions}
        for user_id in self._users_on.get(event.node, set()) - listed:
            # No sessions there any more (the login is only needed for a new entry).
            self._remote_sessions(event.node, user_id, "", 0, str(Status.OFFLINE))
        for user_id, login, status, count in event.sessions:
            self._remote_sessions(event.node, user_id, login, count, status)

    def _node_gone(self, node: str) -> None:
        self._last_heard.pop(node, None)
        self._users_on.pop(node, None)
        for change in self.server.presence.node_gone(node):
            self.server.delivery.presence(change)

    def _reload_user(self, user_id: int, then: Callable[[], object] | None = None) -> None:
        """An account created or erased on another node: read it from the store, then ``then``."""
        server = self.server

        def loaded(outcome: Outcome[UserRecord | None]) -> None:
            if isinstance(outcome, BaseException):
                log.warning("cluster: could not read user #%d: %s", user_id, outcome)
                return
            if outcome is None:
                return
            if outcome.login.startswith(ERASED_LOGIN_PREFIX):
                if not server.users.knows(user_id):
                    return
                server.users.replace(outcome)
                server.rooms.forget_user(user_id)
                for connection in list(server.sessions.of_user(user_id)):
                    connection.close_after_flush("account deleted by an admin")
            elif server.users.find(outcome.login) is None:
                server.users.add(outcome)
                server.rooms.add_member(user_id, server.rooms.arrival_room().id)
            if then is not None and server.users.knows(user_id):
                then()

        server.store_worker.submit(lambda store: store.user(user_id), loaded)

    # ---- the link ---------------------------------------------------------------

    def _on_link(self, up: bool) -> None:
        """The Redis link went down (the bus logged it) or came back."""
        if not up:
            if self._gap_from is None:
                self._gap_from = self._newest_seen
            return
        self._say_alive()
        self._catch_up()
        if self._gap_from is not None:
            after, ours = self._gap_from, self._ours_in_gap
            self._gap_from, self._ours_in_gap = None, set()
            self._fill_gap(after, ours)

    def _fill_gap(self, after: int, ours: set[int]) -> None:
        """Give this node's readers the messages other nodes stored while the link was down.

        They are in the database: read them in id order, page by page, and
        deliver those this node did not store itself (those it did were
        delivered here already). A reader may get them after newer ones; each
        carries its id, and the client places it by id.
        """
        server = self.server
        page_size = 500

        def loaded(outcome: Outcome[list[StoredMessage]]) -> None:
            if isinstance(outcome, BaseException):
                log.warning("cluster: could not read the messages missed: %s", outcome)
                return
            for message in outcome:
                self._newest_seen = max(self._newest_seen, message.id)
            server.delivery.messages_from_another_node(
                [message for message in outcome if message.id not in ours]
            )
            if len(outcome) == page_size:
                self._fill_gap(outcome[-1].id, ours)
            elif outcome:
                log.info("cluster: delivered the messages missed while cut off")

        server.store_worker.submit(lambda store: store.messages_after(after, page_size), loaded)

    def _catch_up(self) -> None:
        """Reload what other nodes may have changed while the link was down."""
        server = self.server
        now = now_ms()

        def loaded(outcome: Outcome[Snapshot]) -> None:
            if isinstance(outcome, BaseException):
                log.warning("cluster: could not reload the shared state: %s", outcome)
                return
            for user in outcome.users:
                if server.users.find(user.login) is None:
                    server.users.add(user)
            for user_id, room_id in outcome.memberships:
                if not server.rooms.is_member(user_id, room_id):
                    server.rooms.add_member(user_id, room_id)
                    server.sessions.subscribe(user_id, room_id)
            for request in outcome.pending_requests:
                if not server.rooms.has_pending(request.id):
                    server.rooms.add_pending(request)
            for sanction in outcome.active_sanctions:
                if not server.sanctions.has(sanction.id):
                    self.moderation.apply_sanction(sanction)
            log.info("cluster: shared state reloaded after the outage")

        server.store_worker.submit(lambda store: store.load_snapshot(now), loaded)


def _new_file(file: FileRecord) -> NewFile:
    """What the other nodes are told of a message's file."""
    return NewFile(file.id, file.sha256, file.size, file.name, file.type, file.owner_id,
                   file.created_at)  # fmt: skip


def _file_record(fact: NewMessage) -> FileRecord:
    """The file of a message another node stored, as the store would give it."""
    assert fact.file is not None
    file = fact.file
    return FileRecord(file.id, file.sha256, file.size, file.name, file.type, file.owner_id,
                      fact.room_id, fact.recipient_id, file.created_at)  # fmt: skip
