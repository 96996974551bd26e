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
