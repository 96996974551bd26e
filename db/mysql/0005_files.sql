-- GuiGui Chat, MySQL/MariaDB schema version 5: files and images sent in conversations.
-- The content is not here: it lives outside these tables, content-addressed by
-- its SHA-256 (guigui/server/file_storage.py), one copy however many files
-- share it. A row is one file as sent: its name, its type (found in the
-- content), who sent it where. An admin's deletion sets deleted_at (the row
-- stays, its message too, without the file); retention deletes the row.

-- type: the media type found in the content ('image/png'); room_id or
-- recipient_id: where it was sent, as for its message; created_at and
-- deleted_at: milliseconds since the epoch.
CREATE TABLE files (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    sha256       CHAR(64)        NOT NULL,
    size         BIGINT UNSIGNED NOT NULL,
    name         VARCHAR(255)    NOT NULL,
    type         VARCHAR(129)    NOT NULL,
    owner_id     INT UNSIGNED    NOT NULL,
    room_id      INT UNSIGNED    NULL,
    recipient_id INT UNSIGNED    NULL,
    created_at   BIGINT          NOT NULL,
    deleted_at   BIGINT          NULL,
    KEY files_by_owner (owner_id, id),
    KEY files_by_sha256 (sha256),
    CONSTRAINT files_owner FOREIGN KEY (owner_id) REFERENCES users (id),
    CONSTRAINT files_room FOREIGN KEY (room_id) REFERENCES rooms (id),
    CONSTRAINT files_recipient FOREIGN KEY (recipient_id) REFERENCES users (id),
    CONSTRAINT files_one_target CHECK ((room_id IS NULL) <> (recipient_id IS NULL))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- file_id: the file a message carries (NULL: a text message). One statement,
-- so that MySQL (which commits each DDL statement) cannot leave the column
-- without its key.
ALTER TABLE messages
    ADD COLUMN file_id BIGINT UNSIGNED NULL,
    ADD CONSTRAINT messages_file FOREIGN KEY (file_id) REFERENCES files (id);

-- The content itself, in the database, where several server nodes share it
-- (a cluster, docs/CLUSTER.md: every node serves every file); a single server
-- keeps it in a directory instead and leaves these tables empty.
-- file_contents: one row per content (SHA-256), its size; file_chunks: its
-- bytes, as the chunks they came in ([start_offset, end_offset)); MEDIUMBLOB:
-- a chunk is at most max_frame bytes, which may pass BLOB's 64 KiB.
CREATE TABLE file_contents (
    sha256 CHAR(64)        NOT NULL PRIMARY KEY,
    size   BIGINT UNSIGNED NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE file_chunks (
    sha256       CHAR(64)        NOT NULL,
    start_offset BIGINT UNSIGNED NOT NULL,
    end_offset   BIGINT UNSIGNED NOT NULL,
    data         MEDIUMBLOB      NOT NULL,
    PRIMARY KEY (sha256, start_offset)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- Uploads in progress, keyed by (user, SHA-256) as in a directory: resumed
-- by the same user's FILE_OFFER of the same content, on any node.
CREATE TABLE file_partials (
    user_id      INT UNSIGNED    NOT NULL,
    sha256       CHAR(64)        NOT NULL,
    start_offset BIGINT UNSIGNED NOT NULL,
    end_offset   BIGINT UNSIGNED NOT NULL,
    data         MEDIUMBLOB      NOT NULL,
    PRIMARY KEY (user_id, sha256, start_offset)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
