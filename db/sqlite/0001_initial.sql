-- GuiGui Chat, SQLite schema version 1.
-- Times are integer milliseconds since the Unix epoch (UTC), as on the wire.

-- Registered users. login keeps the spelling chosen at registration;
-- login_key and email_key (casefolded) make uniqueness case-insensitive.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    login         TEXT    NOT NULL,
    login_key     TEXT    NOT NULL UNIQUE,
    email         TEXT    NOT NULL,
    email_key     TEXT    NOT NULL UNIQUE,
    first_name    TEXT    NOT NULL,
    last_name     TEXT    NOT NULL,
    password_hash BLOB    NOT NULL,           -- bcrypt, never the password
    created_at    INTEGER NOT NULL
);

-- The rooms ("salons") and how each is joined.
CREATE TABLE rooms (
    id       INTEGER PRIMARY KEY,
    name     TEXT    NOT NULL UNIQUE,
    access   TEXT    NOT NULL CHECK (access IN ('open', 'on_request', 'approval')),
    position INTEGER NOT NULL                  -- display order
);

INSERT INTO rooms (id, name, access, position) VALUES
    (1, 'Général',      'open',       1),
    (2, 'Blabla',       'on_request', 2),
    (3, 'Comptabilité', 'approval',   3),
    (4, 'Informatique', 'approval',   4),
    (5, 'Marketing',    'approval',   5);

-- Who is a member of which room (remembered across sessions).
CREATE TABLE memberships (
    user_id   INTEGER NOT NULL REFERENCES users (id),
    room_id   INTEGER NOT NULL REFERENCES rooms (id),
    joined_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, room_id)
);
CREATE INDEX memberships_by_room ON memberships (room_id);

-- Requests to join an approval room, with the admin's decision.
CREATE TABLE access_requests (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    room_id    INTEGER NOT NULL REFERENCES rooms (id),
    state      TEXT    NOT NULL CHECK (state IN ('pending', 'granted', 'refused')),
    created_at INTEGER NOT NULL,
    decided_at INTEGER,
    decided_by TEXT
);
CREATE INDEX access_requests_pending ON access_requests (state, id);

-- Room messages (recipient_id NULL) and direct messages (room_id NULL).
-- id is given by the server, increasing in send order. (sender_id, nonce)
-- is unique so that a message sent again after a reconnection is stored once.
CREATE TABLE messages (
    id           INTEGER PRIMARY KEY,
    room_id      INTEGER REFERENCES rooms (id),
    sender_id    INTEGER NOT NULL REFERENCES users (id),
    recipient_id INTEGER REFERENCES users (id),
    text         TEXT    NOT NULL,
    ts           INTEGER NOT NULL,
    nonce        TEXT,
    CHECK ((room_id IS NULL) <> (recipient_id IS NULL)),
    UNIQUE (sender_id, nonce)
);
-- History of a room, newest first from any id: an index range scan.
CREATE INDEX messages_by_room ON messages (room_id, id);
-- History of a direct conversation, one index range per direction.
CREATE INDEX messages_direct ON messages (sender_id, recipient_id, id);

-- Kicks and bans, on a login, an IP, or both; until NULL = permanent.
CREATE TABLE sanctions (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL CHECK (kind IN ('kick', 'ban')),
    login      TEXT,
    ip         TEXT,
    until      INTEGER,
    reason     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT    NOT NULL,
    lifted_at  INTEGER,
    lifted_by  TEXT,
    CHECK (login IS NOT NULL OR ip IS NOT NULL)
);
CREATE INDEX sanctions_in_force ON sanctions (lifted_at, until);

-- Resume tokens, by their SHA-256 hash (the token itself is never stored).
CREATE TABLE tokens (
    token_hash BLOB    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX tokens_by_user ON tokens (user_id);

-- Sessions: who, from which IP, from when to when.
CREATE TABLE connection_log (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    login      TEXT    NOT NULL,
    ip         TEXT    NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER
);
CREATE INDEX connection_log_by_user ON connection_log (user_id, started_at);

-- Admin accounts of the server side (separate from chat users).
CREATE TABLE admins (
    id            INTEGER PRIMARY KEY,
    login         TEXT    NOT NULL,
    login_key     TEXT    NOT NULL UNIQUE,
    password_hash BLOB    NOT NULL,
    created_at    INTEGER NOT NULL
);

-- Every admin action: who did what to whom, and when.
CREATE TABLE admin_audit (
    id          INTEGER PRIMARY KEY,
    admin_login TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    details     TEXT    NOT NULL,
    ts          INTEGER NOT NULL
);
