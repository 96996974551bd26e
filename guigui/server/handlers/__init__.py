"""Request handlers: one module per family of requests.

Each handler runs on the loop thread, checks the request against the core,
hands blocking work to a worker and answers when the worker's result is back.
Every request gets exactly one answer: a handler answers with
``replies.reply``, and refuses by raising ``ProtocolError``, before or after
the trip to the worker (see ``guigui/server/replies.py``).

A family receives, when it is built, the parts of the server it uses, and
nothing else: ``ChatServer`` builds them and joins their tables (request class
to method) into the one it dispatches with.
"""
