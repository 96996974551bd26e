"""What this node tells the other nodes of a cluster, as the chat changes.

Handlers, the delivery and moderation call an ``Announcements`` after each
change that users on other nodes must see. On a single node there is nobody
to tell: ``Announcements`` itself does nothing, and costs a method call. In a
cluster (``run_server.py --cluster redis://...``), its subclass
``guigui.server.cluster.node.ClusterNode`` publishes each announcement as an
event on Redis, and the other nodes apply it to their own state and sessions.

Every method is called on the loop thread, after the change is stored (when
it is stored at all) and applied here.
"""

from __future__ import annotations

from guigui.common.objects import ConversationState
from guigui.common.protocol import Status
from guigui.server.store import AccessRequestRecord, SanctionRecord, StoredMessage


class Announcements:
    """The changes other nodes must hear of; as such, for a single node, it tells nobody."""

    def join_cluster(self) -> None:
        """The server starts (before its loop runs): a single node has no cluster to join."""

    def leave_cluster(self) -> None:
        """The server has stopped: a single node has no cluster to leave."""

    def messages_saved(self, messages: list[StoredMessage]) -> None:
        """New messages are stored by one group commit (and delivered to this node's sessions)."""

    def sessions_changed(self, user_id: int, login: str, sessions: int, status: Status) -> None:
        """The user's sessions on this node, or their status, changed."""

    def user_changed(self, user_id: int) -> None:
        """An account was created or erased: the others reload it from the store."""

    def membership_changed(self, user_id: int, room_id: int, member: bool) -> None:
        """A user joined or left a room."""

    def request_filed(self, request: AccessRequestRecord) -> None:
        """A user asked to join a room that needs an admin's approval."""

    def request_decided(self, request_id: int, user_id: int, room_id: int, granted: bool) -> None:
        """An admin granted or refused a request."""

    def sanction_added(self, sanction: SanctionRecord) -> None:
        """A kick or a ban is stored: every node closes the sessions it hits."""

    def sanction_lifted(self, sanction_id: int) -> None:
        """A sanction was lifted."""

    def read_moved(self, user_id: int, state: ConversationState) -> None:
        """The user read further: their sessions on other nodes show it."""

    def stop_requested(self, seconds: int, reason: str) -> None:
        """An admin stops the whole cluster: the other nodes count down and stop too."""
