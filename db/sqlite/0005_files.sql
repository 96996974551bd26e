-- GuiGui Chat, SQLite schema version 5: files and images sent in conversations.
-- The content is not here: it lives outside the database, content-addressed by
-- its SHA-256 (guigui/server/file_storage.py), one copy however many files
-- share it. A row is one file as sent: its name, its type (found in the
-- content), who sent it where. An admin's deletion sets deleted_at (the row
-- stays, its message too, without the file); retention deletes the row.

-- type: the media type found in the content ('image/png'); room_id or
-- recipient_id: where it was sent, as for its message; created_at and
-- deleted_at: milliseconds since the epoch.
CREATE TABLE files (
    id           INTEGER PRIMARY KEY,
    sha256       TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    type         TEXT    NOT NULL,
    owner_id     INTEGER NOT NULL REFERENCES users (id),
    room_id      INTEGER REFERENCES rooms (id),
    recipient_id INTEGER REFERENCES users (id),
    created_at   INTEGER NOT NULL,
    deleted_at   INTEGER,
    CHECK ((room_id IS NULL) <> (recipient_id IS NULL))
);
-- A user's files (their quota, the admin's list by owner).
CREATE INDEX files_by_owner ON files (owner_id, id);
-- Whether a live file still uses some content (before removing it).
CREATE INDEX files_by_sha256 ON files (sha256);

-- The file a message carries (NULL: a text message).
ALTER TABLE messages ADD COLUMN file_id INTEGER REFERENCES files (id);

-- The content itself, in the database, where several server nodes share it
-- (a cluster, docs/CLUSTER.md: every node serves every file); a single server
-- keeps it in a directory instead and leaves these tables empty.
-- file_contents: one row per content (SHA-256), its size; file_chunks: its
-- bytes, as the chunks they came in ([start_offset, end_offset)).
CREATE TABLE file_contents (
    sha256 TEXT    NOT NULL PRIMARY KEY,
    size   INTEGER NOT NULL
);
CREATE TABLE file_chunks (
    sha256       TEXT    NOT NULL,
    start_offset INTEGER NOT NULL,
    end_offset   INTEGER NOT NULL,
    data         BLOB    NOT NULL,
    PRIMARY KEY (sha256, start_offset)
);
-- Uploads in progress, keyed by (user, SHA-256) as in a directory: resumed
-- by the same user's FILE_OFFER of the same content, on any node.
CREATE TABLE file_partials (
    user_id      INTEGER NOT NULL,
    sha256       TEXT    NOT NULL,
    start_offset INTEGER NOT NULL,
    end_offset   INTEGER NOT NULL,
    data         BLOB    NOT NULL,
    PRIMARY KEY (user_id, sha256, start_offset)
);
