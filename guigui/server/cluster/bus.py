"""One node's Redis pub/sub link: publish its events, hand the other nodes' to the loop.

Why two threads and redis-py rather than RESP spoken from the event loop:
redis-py is a maintained client that parses RESP and reconnects, and the
server already runs its blocking work in worker threads that post results back
with ``EventLoop.call_soon_threadsafe`` (the store worker,
``guigui/server/workers.py``). A RESP parser of our own inside the loop would
be a home-made protocol implementation to maintain, for no gain: one Redis
round trip per batch of events is cheap next to a database commit.

- The **publisher** thread takes events from a queue and publishes them. What
  piled up while it was busy goes out in one pipeline (one round trip), the
  way the store worker group-commits messages. ``publish`` only puts an event
  in the queue, so the loop never waits on Redis.
- The **subscriber** thread holds the subscription, decodes what arrives off
  the loop, drops the node's own events (Redis sends a publisher its own
  messages too when it subscribes to the channel), and posts the others to the
  loop, a batch per post. It also owns the link's state: it connects,
  notices a loss, reconnects with backoff, and says so (one log line and one
  ``on_link`` call per change, never one per failed attempt).

While the link is down, events are dropped and counted, not queued for later:
what matters is in the database already (messages, sanctions, memberships),
clients fill gaps from history, and a node that comes back learns who is
online from the next heartbeats (``NodeAlive``). Replaying a backlog of stale
presence changes would be worse than skipping them.

Delivery is at most once, except that a publish retried after a cut
connection may arrive twice: events state facts (a message id, a session
COUNT), so a receiver that sees one twice does nothing new. Events from one
node arrive in the order it published them (one publishing connection; Redis
keeps each connection's order).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.client import PubSub
from redis.retry import Retry

from guigui.server.cluster.events import ClusterEvent, decode_event, encode_event
from guigui.server.loop import EventLoop
from guigui.server.thread_names import name_os_thread

log = logging.getLogger(__name__)

DEFAULT_CHANNEL = "guigui:events"
"""The Redis channel every node of a cluster publishes on and listens to."""

FIRST_RETRY_DELAY = 0.2
"""Seconds before the first reconnection attempt; doubled after each failure."""
MAX_RETRY_DELAY = 5.0
"""Longest wait between two reconnection attempts (seconds)."""

CONNECT_TIMEOUT = 2.0
"""Seconds a connection attempt may take (a host that drops packets must not hang us)."""
SOCKET_TIMEOUT = 5.0
"""Seconds a command may wait for its reply before the link counts as lost."""

POLL_INTERVAL = 0.2
"""Seconds the subscriber waits for a message before it looks whether to stop."""
PING_AFTER_SILENCE = 5.0
"""Seconds of silence after which the subscriber PINGs Redis to check the link.

A Redis that stops or restarts closes the connection, which the subscriber
sees at once; a cable pulled or a host that froze closes nothing, and only a
question that gets no answer reveals it."""

MAX_QUEUED = 10_000
"""Events waiting for the publisher beyond which ``publish`` drops (Redis too slow)."""
MAX_BATCH = 512
"""Most events published in one pipeline, or posted to the loop in one callback."""
MAX_LOGGED_ERROR = 200
"""Longest description of a Redis error in the log (characters)."""


@dataclass(frozen=True, slots=True)
class BusFigures:
    """What the bus has done since it started, for the admin panel and the benchmark."""

    connected: bool
    """The link as last told to the loop (``on_link``)."""
    published: int
    """Events sent to Redis."""
    received: int
    """Other nodes' events handed to the loop."""
    dropped: int
    """Events not sent: the link was down, Redis failed the publish, or the queue was full."""
    rejected: int
    """Messages on the channel that were not events (garbage, or a kind this node
    does not know, from a newer node)."""
    outages: int
    """Times the link was found down (the first failed connection included)."""
    failed_attempts: int
    """Reconnection attempts that failed in the current outage (0 while connected)."""
    since_ms: int
    """When the current state (connected or not) began: Unix time in milliseconds."""


class _Link(Enum):
    """The link as the subscriber thread knows it."""

    STARTING = "starting"
    UP = "up"
    DOWN = "down"


_STOP = object()
"""Put in the publisher's queue by ``stop``: publish what is before it, then end."""


def _now_ms() -> int:
    return int(time.time() * 1000)


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= MAX_LOGGED_ERROR else text[: MAX_LOGGED_ERROR - 1] + "…"


class ClusterBus:
    """One node's Redis pub/sub link: publishes its events, hands the other nodes' to the loop.

    ``on_event(event)`` and ``on_link(up)`` run ON THE LOOP THREAD, in the
    order the subscriber saw things happen, never after ``stop`` (called on
    the loop thread) has returned. ``on_link(True)`` comes once the
    subscription is confirmed by Redis, so from then on nothing another node
    publishes is missed until ``on_link(False)``.

    ``url``: ``redis://HOST:PORT/DB`` (redis-py's URL forms, ``unix://`` too);
    ``node``: this node's name, unique in the cluster; ``channel``: the Redis
    channel of this cluster (a test may use one of its own).
    """

    def __init__(
        self,
        url: str,
        node: str,
        loop: EventLoop,
        on_event: Callable[[ClusterEvent], None],
        on_link: Callable[[bool], None],
        channel: str = DEFAULT_CHANNEL,
    ) -> None:
        self.node = node
        self.channel = channel
        self._loop = loop
        self._on_event = on_event
        self._on_link = on_link
        # One client per thread: a redis-py connection is not to be shared
        # between threads, and the subscriber's connection is taken by SUBSCRIBE.
        # The publisher retries a command once: the first publish after Redis came
        # back finds its pooled connection dead, and reconnecting at once saves
        # that event. The subscriber does not retry: it reconnects itself, with
        # backoff and a log line.
        self._publish_client = self._client(url, retries=1)
        self._subscribe_client = self._client(url, retries=0)
        self.address = self._address_of(self._publish_client)
        """Where Redis is (``HOST:PORT`` or a socket path), for the log; never the password."""

        self.connected = False
        """The link as last told to the loop (``on_link``); read and written on the loop."""
        self._since_ms = _now_ms()
        self._outages = 0
        self._closed = False
        """``stop`` was called: posted callbacks that run now do nothing."""

        # The subscriber thread's own view of the link. The publisher thread and
        # ``publish`` read ``_up`` (one bool: reading it needs no lock) to drop
        # events at once while the link is down.
        self._link = _Link.STARTING
        self._up = False
        self._ever_up = False
        self._retry_delay = FIRST_RETRY_DELAY
        self._failed_attempts = 0
        self._told_bad_event = False

        # Counters written by several threads (``dropped``: the loop and the
        # publisher), read by the loop: under one lock.
        self._counts_lock = threading.Lock()
        self._published = 0
        self._received = 0
        self._dropped = 0
        self._rejected = 0

        self._queue: queue.Queue[Any] = queue.Queue(maxsize=MAX_QUEUED)
        self._stopping = threading.Event()
        self._publisher = threading.Thread(
            target=self._publish_forever, name=f"bus-publish-{node}", daemon=True
        )
        self._subscriber = threading.Thread(
            target=self._subscribe_forever, name=f"bus-subscribe-{node}", daemon=True
        )
        self._started = False

    @staticmethod
    def _client(url: str, *, retries: int) -> redis.Redis:
        return redis.Redis.from_url(
            url,
            retry=Retry(NoBackoff(), retries),
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=SOCKET_TIMEOUT,
        )

    @staticmethod
    def _address_of(client: redis.Redis) -> str:
        settings = client.connection_pool.connection_kwargs
        if "path" in settings:
            return str(settings["path"])
        return f"{settings.get('host', 'localhost')}:{settings.get('port', 6379)}"

    # ---- the loop's side -----------------------------------------------------

    def start(self) -> None:
        """Start the publisher and the subscriber threads; the subscriber connects."""
        self._started = True
        self._publisher.start()
        self._subscriber.start()

    def publish(self, event: ClusterEvent) -> None:
        """Send ``event`` to the other nodes; from any thread, and it never blocks.

        The event is queued for the publisher thread. While the link is down
        (or before it is first up, or after ``stop``), or when the queue is
        full, it is dropped and counted instead.
        """
        if not self._up or self._closed:
            self._count_dropped(1)
            return
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self._count_dropped(1)

    def stop(self, timeout: float = 5) -> None:
        """Publish what is queued (for at most ``timeout`` seconds), then close the link.

        Call it on the loop thread: callbacks already posted and not yet run
        then do nothing. It blocks while the queue drains (a clean stop
        publishes ``NodeGone`` last and wants it sent).
        """
        self._closed = True
        if not self._started:
            return
        deadline = time.monotonic() + timeout
        with contextlib.suppress(queue.Full):
            self._queue.put(_STOP, timeout=timeout)
        self._publisher.join(max(0.0, deadline - time.monotonic()))
        self._stopping.set()
        self._subscriber.join(max(0.0, deadline - time.monotonic()))
        if self._publisher.is_alive():
            log.warning(
                "cluster: stopped with about %d events not published to Redis at %s",
                self._queue.qsize(),
                self.address,
            )
        else:
            self._publish_client.close()

    @property
    def figures(self) -> BusFigures:
        """What the bus has done so far (read it on the loop thread)."""
        with self._counts_lock:
            return BusFigures(
                connected=self.connected,
                published=self._published,
                received=self._received,
                dropped=self._dropped,
                rejected=self._rejected,
                outages=self._outages,
                failed_attempts=0 if self.connected else self._failed_attempts,
                since_ms=self._since_ms,
            )

    def _count_dropped(self, count: int) -> None:
        with self._counts_lock:
            self._dropped += count

    # ---- the publisher thread ------------------------------------------------

    def _publish_forever(self) -> None:
        """Take events in order until ``_STOP``; publish each batch in one round trip."""
        name_os_thread("bus-publish")
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH and batch[-1] is not _STOP:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = batch[-1] is _STOP
            events: list[ClusterEvent] = batch[:-1] if stop else batch
            if events:
                self._publish_batch(events)
            if stop:
                return

    def _publish_batch(self, events: list[ClusterEvent]) -> None:
        if not self._up:  # the link went down since they were queued
            self._count_dropped(len(events))
            return
        payloads = []
        for event in events:
            try:
                payloads.append(encode_event(event))
            except (TypeError, ValueError):  # not an event: a bug of the caller
                log.exception("cluster: cannot encode %r", event)
                self._count_dropped(1)
        try:
            if len(payloads) == 1:
                self._publish_client.publish(self.channel, payloads[0])
            else:
                pipeline = self._publish_client.pipeline(transaction=False)
                for payload in payloads:
                    pipeline.publish(self.channel, payload)
                pipeline.execute()
        except (redis.RedisError, OSError):
            # No log line here: if the link is really down, the subscriber says
            # so once; the figure counts what was lost.
            self._count_dropped(len(payloads))
            return
        with self._counts_lock:
            self._published += len(payloads)

    # ---- the subscriber thread -----------------------------------------------

    def _subscribe_forever(self) -> None:
        """Subscribe, listen until the link fails, wait, subscribe again; until ``stop``."""
        name_os_thread("bus-subscribe")
        while not self._stopping.is_set():
            pubsub = self._subscribe_client.pubsub()  # type: ignore[no-untyped-call]
            try:
                pubsub.subscribe(self.channel)
                self._listen(pubsub)
            except (redis.RedisError, OSError) as error:
                self._link_failed(_describe(error))
            except Exception as error:  # a bug: say it, and carry on as after a cut
                log.exception("cluster: the subscriber failed")
                self._link_failed(_describe(error))
            finally:
                with contextlib.suppress(redis.RedisError, OSError):
                    pubsub.close()
            if self._link is _Link.DOWN:
                self._stopping.wait(self._retry_delay)
                self._retry_delay = min(self._retry_delay * 2, MAX_RETRY_DELAY)
        self._subscribe_client.close()

    def _listen(self, pubsub: PubSub) -> None:
        """Hand what arrives to the loop until ``stop``; raise when the link fails."""
        last_heard = time.monotonic()
        ping_sent_at: float | None = None
        while not self._stopping.is_set():
            message = pubsub.get_message(timeout=POLL_INTERVAL)
            now = time.monotonic()
            if message is None:
                if ping_sent_at is not None:
                    if now - ping_sent_at > SOCKET_TIMEOUT:
                        raise redis.TimeoutError(f"no answer to PING in {SOCKET_TIMEOUT:g} s")
                elif now - last_heard > PING_AFTER_SILENCE:
                    pubsub.ping()
                    ping_sent_at = now
                continue
            last_heard, ping_sent_at = now, None
            events: list[ClusterEvent] = []
            while message is not None:
                kind = message["type"]
                if kind == "message":
                    self._take(message["data"], events)
                elif kind == "subscribe":
                    # Redis confirmed the subscription: from now on nothing is missed.
                    self._post_events(events)
                    events = []
                    self._link_established()
                if len(events) >= MAX_BATCH:
                    break
                message = pubsub.get_message(timeout=0)
            self._post_events(events)

    def _take(self, data: bytes, events: list[ClusterEvent]) -> None:
        """Decode one message into ``events``, unless it is ours or not an event."""
        try:
            event = decode_event(data)
        except ValueError as error:
            with self._counts_lock:
                self._rejected += 1
            if not self._told_bad_event:
                self._told_bad_event = True
                log.warning(
                    "cluster: ignoring a message on %s that is not an event (%s);"
                    " further ones are only counted",
                    self.channel,
                    _describe(error),
                )
            return
        if event.node == self.node:
            return
        events.append(event)

    def _post_events(self, events: list[ClusterEvent]) -> None:
        if not events:
            return
        with self._counts_lock:
            self._received += len(events)

        def deliver() -> None:
            for event in events:
                if self._closed:
                    return
                try:
                    self._on_event(event)
                except Exception:  # one failing event must not lose the rest of the batch
                    log.exception("cluster: handling %r failed", event)

        self._loop.call_soon_threadsafe(deliver)

    def _link_established(self) -> None:
        if self._link is _Link.UP:
            return
        self._link = _Link.UP
        self._up = True
        self._retry_delay = FIRST_RETRY_DELAY
        self._failed_attempts = 0
        if self._ever_up:
            log.info("cluster: Redis link back (%s)", self.address)
        else:
            log.info("cluster: linked to Redis at %s, channel %s", self.address, self.channel)
        self._ever_up = True
        self._post_link(True)

    def _link_failed(self, reason: str) -> None:
        if self._stopping.is_set():
            return  # a connection cut by our own stop is not an outage
        if self._link is _Link.DOWN:
            self._failed_attempts += 1
            return
        self._link = _Link.DOWN
        self._up = False
        log.warning(
            "cluster: Redis at %s unreachable (%s): local delivery only", self.address, reason
        )
        self._post_link(False)

    def _post_link(self, up: bool) -> None:
        since_ms = _now_ms()

        def tell() -> None:
            if self._closed:
                return
            self.connected = up
            self._since_ms = since_ms
            if not up:
                self._outages += 1
            self._on_link(up)

        self._loop.call_soon_threadsafe(tell)
