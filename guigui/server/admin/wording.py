"""What the panel and the console say about sanctions, in the admin's language.

One place for the words, so that the panel's notices and dialogs and the
console's lines name the same people the same way: a preview before a kick or
ban (whom the IP sanction would hit), the feedback after it (whom it hit), and
one line per sanction in force.
"""

from __future__ import annotations

from collections.abc import Sequence

from guigui.common.i18n import _
from guigui.common.protocol import SanctionKind
from guigui.server.admin import moments
from guigui.server.admin.search import FoundMessage
from guigui.server.cluster.node import ClusterFigures
from guigui.server.moderation import SanctionPreview, SanctionResult
from guigui.server.store import SanctionRecord


def names(items: Sequence[str]) -> str:
    """``bob``, ``bob and carol``, ``bob, carol and dave`` (``et`` in French)."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return _("{first} and {last}").format(first=", ".join(items[:-1]), last=items[-1])


def cluster_line(figures: ClusterFigures) -> str:
    """This node's link with the others, in a sentence for the status line."""
    if not figures.linked:
        return _(
            "cluster node {node}: Redis unreachable, serving its own clients only"
            " ({dropped} events not sent)"
        ).format(node=figures.node, dropped=figures.dropped)
    return _("cluster node {node}: linked to {count} other node(s) {nodes}").format(
        node=figures.node, count=len(figures.nodes), nodes=names(figures.nodes)
    )


def kind_name(kind: SanctionKind | str) -> str:
    """``kick`` or ``ban`` in words."""
    return _("kick") if str(kind) == str(SanctionKind.KICK) else _("ban")


def length(seconds: int | None) -> str:
    """``for 5 min`` or ``permanently``."""
    if seconds is None:
        return _("permanently")
    return _("for {span}").format(span=moments.span(seconds))


def access_name(access: str) -> str:
    """A room's access rule in words (``open``, ``on_request`` or ``approval``)."""
    words = {"open": _("open"), "on_request": _("on request"), "approval": _("approval")}
    return words.get(access, access)


def action_name(action: str) -> str:
    """An audit line's action in words (the stored word when it has no translation)."""
    words = {
        "login": _("login"),
        "logout": _("logout"),
        "accept": _("accept"),
        "refuse": _("refuse"),
        "kick": _("kick"),
        "ban": _("ban"),
        "lift kick": _("lift kick"),
        "lift ban": _("lift ban"),
        "lift all": _("lift all"),
        "messages": _("messages"),
        "delete file": _("delete file"),
        "stop": _("stop"),
    }
    return words.get(action, action)


def place(message: FoundMessage) -> str:
    """Where a message was said, in words: the room, or ``to bob`` for a direct message."""
    if message.room is not None:
        return message.room
    return _("to {login}").format(login=message.to)


def describe_sanction(sanction: SanctionRecord, now_ms: float | None = None) -> str:
    """One line for a sanction in force: what, on whom, until when (date and words), by whom."""
    target = " ".join(part for part in (sanction.login, sanction.ip) if part)
    return _("#{number} {kind} {target} {until}, by {admin}: {reason}").format(
        number=sanction.id,
        kind=kind_name(sanction.kind),
        target=target,
        until=moments.until(sanction.until, now_ms),
        admin=sanction.created_by,
        reason=sanction.reason or "-",
    )


def describe_result(result: SanctionResult) -> str:
    """The feedback after a kick or ban: ``kicked bob and carol (same IP 10.0.0.5) for 5 min``."""
    hit = names(result.hit or [result.target])
    ips = ", ".join(result.ips)
    if not result.ips:
        scope = _(" (login only)")
    elif result.target in result.ips:  # an IP alone: whoever was on it
        scope = _(" (IP {ips})").format(ips=ips)
    elif len(result.hit) > 1:
        scope = _(" (same IP {ips})").format(ips=ips)
    else:
        scope = _(" (and IP {ips})").format(ips=ips)
    if result.kind is SanctionKind.KICK:
        template = _("kicked {names}{scope} {length}")
    else:
        template = _("banned {names}{scope} {length}")
    return template.format(names=hit, scope=scope, length=length(result.seconds))


def preview_lines(preview: SanctionPreview) -> list[str]:
    """Whom the IP sanction would hit, one line each: people online, connections, known accounts."""
    ips = ", ".join(preview.ips)
    if not preview.ips:
        return [_("{login} has no live session: only the login is sanctioned.").format(
            login=preview.target
        )]  # fmt: skip
    lines = []
    if preview.login is not None:
        lines.append(_("{login} is connected from {ips}.").format(login=preview.login, ips=ips))
    if preview.others_online:
        lines.append(
            _("Also logged in on that IP, they are disconnected too: {names}.").format(
                names=names(preview.others_online)
            )
        )
    if preview.anonymous:
        lines.append(
            _("Connections not logged in on that IP, closed too: {count}.").format(
                count=preview.anonymous
            )
        )
    if preview.seen_from_ips:
        lines.append(
            _("Accounts that connected from that IP lately, who could not log in from it: "
              "{names}.").format(names=names(preview.seen_from_ips))
        )  # fmt: skip
    if not preview.hits_others:
        lines.append(_("Nobody else is on that IP."))
    return lines


__all__ = [
    "access_name",
    "action_name",
    "describe_result",
    "describe_sanction",
    "kind_name",
    "length",
    "names",
    "place",
    "preview_lines",
]
