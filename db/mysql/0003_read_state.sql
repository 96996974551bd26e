-- GuiGui Chat, MySQL/MariaDB schema version 3: read state kept by the server.
-- How far each user has read each room and each direct conversation, so that
-- unread counts and the list of direct conversations follow the user from one
-- computer to the next (PROTOCOL.md, CONVERSATIONS and READ).

-- The newest message of the room the user has read (0: none). A row moves
-- only forward; joining a room starts it at the room's newest message.
CREATE TABLE room_reads (
    user_id   INT UNSIGNED    NOT NULL,
    room_id   INT UNSIGNED    NOT NULL,
    last_read BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (user_id, room_id),
    CONSTRAINT room_reads_user FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT room_reads_room FOREIGN KEY (room_id) REFERENCES rooms (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The newest message of the direct conversation with other_id that user_id
-- has read (0: none). A row moves only forward.
CREATE TABLE direct_reads (
    user_id   INT UNSIGNED    NOT NULL,
    other_id  INT UNSIGNED    NOT NULL,
    last_read BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (user_id, other_id),
    CONSTRAINT direct_reads_user FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT direct_reads_other FOREIGN KEY (other_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Direct messages received by a user, by sender: the list of a user's direct
-- conversations and their unread counts are index range scans.
ALTER TABLE messages ADD KEY messages_to (recipient_id, sender_id, id);

-- What was there before the upgrade counts as read: nobody logs in to find
-- every old message of every room unread.
INSERT INTO room_reads (user_id, room_id, last_read)
    SELECT user_id, room_id,
           COALESCE((SELECT MAX(id) FROM messages WHERE messages.room_id = memberships.room_id), 0)
    FROM memberships;

INSERT INTO direct_reads (user_id, other_id, last_read)
    SELECT recipient_id, sender_id, MAX(id) FROM messages
    WHERE recipient_id IS NOT NULL
    GROUP BY recipient_id, sender_id;
