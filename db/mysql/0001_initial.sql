-- GuiGui Chat, MySQL/MariaDB schema version 1 (database sae_r309).
-- Times are BIGINT milliseconds since the Unix epoch (UTC), as on the wire.
-- utf8mb4 everywhere (4-byte emoji); utf8mb4_bin so that keys compare exactly
-- (the *_key columns are casefolded by the server: 'Général' is not 'general').

-- Registered users; login_key and email_key make uniqueness case-insensitive.
CREATE TABLE users (
    id            INT UNSIGNED    NOT NULL AUTO_INCREMENT PRIMARY KEY,
    login         VARCHAR(32)     NOT NULL,
    login_key     VARCHAR(32)     NOT NULL,
    email         VARCHAR(254)    NOT NULL,
    email_key     VARCHAR(254)    NOT NULL,
    first_name    VARCHAR(64)     NOT NULL,
    last_name     VARCHAR(64)     NOT NULL,
    password_hash VARBINARY(128)  NOT NULL,
    created_at    BIGINT          NOT NULL,
    UNIQUE KEY users_login (login_key),
    UNIQUE KEY users_email (email_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The rooms and how each is joined.
CREATE TABLE rooms (
    id       INT UNSIGNED NOT NULL PRIMARY KEY,
    name     VARCHAR(64)  NOT NULL,
    access   ENUM('open', 'on_request', 'approval') NOT NULL,
    position INT          NOT NULL,
    UNIQUE KEY rooms_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT INTO rooms (id, name, access, position) VALUES
    (1, 'Général',      'open',       1),
    (2, 'Blabla',       'on_request', 2),
    (3, 'Comptabilité', 'approval',   3),
    (4, 'Informatique', 'approval',   4),
    (5, 'Marketing',    'approval',   5);

-- Who is a member of which room.
CREATE TABLE memberships (
    user_id   INT UNSIGNED NOT NULL,
    room_id   INT UNSIGNED NOT NULL,
    joined_at BIGINT       NOT NULL,
    PRIMARY KEY (user_id, room_id),
    KEY memberships_by_room (room_id),
    CONSTRAINT memberships_user FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT memberships_room FOREIGN KEY (room_id) REFERENCES rooms (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Requests to join an approval room, with the admin's decision.
CREATE TABLE access_requests (
    id         INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id    INT UNSIGNED NOT NULL,
    room_id    INT UNSIGNED NOT NULL,
    state      ENUM('pending', 'granted', 'refused') NOT NULL,
    created_at BIGINT       NOT NULL,
    decided_at BIGINT       NULL,
    decided_by VARCHAR(64)  NULL,
    KEY access_requests_pending (state, id),
    CONSTRAINT access_requests_user FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT access_requests_room FOREIGN KEY (room_id) REFERENCES rooms (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Room messages (recipient_id NULL) and direct messages (room_id NULL).
-- id is given by the server; (sender_id, nonce) is unique for deduplication.
CREATE TABLE messages (
    id           BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    room_id      INT UNSIGNED    NULL,
    sender_id    INT UNSIGNED    NOT NULL,
    recipient_id INT UNSIGNED    NULL,
    text         TEXT            NOT NULL,
    ts           BIGINT          NOT NULL,
    nonce        VARCHAR(128)    NULL,
    UNIQUE KEY messages_nonce (sender_id, nonce),
    KEY messages_by_room (room_id, id),
    KEY messages_direct (sender_id, recipient_id, id),
    CONSTRAINT messages_room FOREIGN KEY (room_id) REFERENCES rooms (id),
    CONSTRAINT messages_sender FOREIGN KEY (sender_id) REFERENCES users (id),
    CONSTRAINT messages_recipient FOREIGN KEY (recipient_id) REFERENCES users (id),
    CONSTRAINT messages_one_target CHECK ((room_id IS NULL) <> (recipient_id IS NULL))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Kicks and bans, on a login, an IP, or both; until NULL = permanent.
CREATE TABLE sanctions (
    id         INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    kind       ENUM('kick', 'ban') NOT NULL,
    login      VARCHAR(64)  NULL,
    ip         VARCHAR(64)  NULL,
    until      BIGINT       NULL,
    reason     TEXT         NOT NULL,
    created_at BIGINT       NOT NULL,
    created_by VARCHAR(64)  NOT NULL,
    lifted_at  BIGINT       NULL,
    lifted_by  VARCHAR(64)  NULL,
    KEY sanctions_in_force (lifted_at, until),
    CONSTRAINT sanctions_target CHECK (login IS NOT NULL OR ip IS NOT NULL)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Resume tokens by their SHA-256 hash (the token itself is never stored).
CREATE TABLE tokens (
    token_hash VARBINARY(64) NOT NULL PRIMARY KEY,
    user_id    INT UNSIGNED NOT NULL,
    created_at BIGINT       NOT NULL,
    expires_at BIGINT       NOT NULL,
    revoked_at BIGINT       NULL,
    KEY tokens_by_user (user_id),
    CONSTRAINT tokens_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Sessions: who, from which IP, from when to when.
CREATE TABLE connection_log (
    id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id    INT UNSIGNED    NOT NULL,
    login      VARCHAR(32)     NOT NULL,
    ip         VARCHAR(64)     NOT NULL,
    started_at BIGINT          NOT NULL,
    ended_at   BIGINT          NULL,
    KEY connection_log_by_user (user_id, started_at),
    CONSTRAINT connection_log_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Admin accounts of the server side (separate from chat users).
CREATE TABLE admins (
    id            INT UNSIGNED   NOT NULL AUTO_INCREMENT PRIMARY KEY,
    login         VARCHAR(32)    NOT NULL,
    login_key     VARCHAR(32)    NOT NULL,
    password_hash VARBINARY(128) NOT NULL,
    created_at    BIGINT         NOT NULL,
    UNIQUE KEY admins_login (login_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Every admin action: who did what to whom, and when.
CREATE TABLE admin_audit (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    admin_login VARCHAR(64)     NOT NULL,
    action      VARCHAR(64)     NOT NULL,
    target      VARCHAR(255)    NOT NULL,
    details     TEXT            NOT NULL,
    ts          BIGINT          NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
