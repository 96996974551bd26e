-- GuiGui Chat, SQLite schema version 4: counters kept by the database.
-- Several server nodes sharing one database (a cluster, docs/CLUSTER.md)
-- cannot each number messages from their own memory: they take ids from the
-- 'message_id' row here, inside the transaction that stores the messages
-- (RelationalStore.save_messages with number_ids). A single server numbers
-- messages itself and never reads nor moves this row.

-- name: what is counted ('message_id'); value: the last number given.
CREATE TABLE counters (
    name  TEXT    NOT NULL PRIMARY KEY,
    value INTEGER NOT NULL
);

-- Numbering goes on from the messages already stored.
INSERT INTO counters (name, value)
    SELECT 'message_id', COALESCE(MAX(id), 0) FROM messages;
