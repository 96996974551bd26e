"""Several server nodes as one chat: what they tell each other, and how.

A node is one ``run_server.py`` process with its own event loop and its own
clients. Nodes share MariaDB for everything that is stored (messages,
accounts, rooms, sanctions), and tell each other what happens live (a message
was saved, a user came online, a ban was added) through Redis pub/sub: every
node publishes its events on one channel and hears everyone else's.

- ``events``: one frozen ``msgspec.Struct`` per kind of news a node can
  publish, and the JSON encoding they travel in.
- ``bus``: ``ClusterBus``, one node's link to Redis. Two worker threads talk
  to Redis so the loop thread never waits on the network; what arrives is
  handed to the loop with ``EventLoop.call_soon_threadsafe``, like the store
  worker's results. When Redis is away, the node carries on with local
  delivery only and the bus reconnects by itself.

Redis is a messenger here, not a store: an event lost in an outage costs a
live update, never a message, because what matters is in the database
already, and clients fill gaps from history.
"""
