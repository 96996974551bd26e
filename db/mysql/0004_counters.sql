-- GuiGui Chat, MySQL/MariaDB schema version 4: counters kept by the database.
-- Several server nodes sharing one database (a cluster, docs/CLUSTER.md)
-- cannot each number messages from their own memory: they take ids from the
-- 'message_id' row here, inside the transaction that stores the messages
-- (RelationalStore.save_messages with number_ids). The row stays locked until
-- that transaction commits, so the nodes' commits of messages happen one after
-- the other, in id order. A single server numbers messages itself and never
-- reads nor moves this row.

-- name: what is counted ('message_id'); value: the last number given.
CREATE TABLE counters (
    name  VARCHAR(64)     NOT NULL PRIMARY KEY,
    value BIGINT UNSIGNED NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Numbering goes on from the messages already stored.
INSERT INTO counters (name, value)
    SELECT 'message_id', COALESCE(MAX(id), 0) FROM messages;
