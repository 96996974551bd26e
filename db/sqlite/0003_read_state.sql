-- GuiGui Chat, SQLite schema version 3: read state kept by the server.
-- How far each user has read each room and each direct conversation, so that
-- unread counts and the list of direct conversations follow the user from one
-- computer to the next (PROTOCOL.md, CONVERSATIONS and READ).

-- The newest message of the room the user has read (0: none). A row moves
-- only forward; joining a room starts it at the room's newest message.
CREATE TABLE room_reads (
    user_id   INTEGER NOT NULL REFERENCES users (id),
    room_id   INTEGER NOT NULL REFERENCES rooms (id),
    last_read INTEGER NOT NULL,
    PRIMARY KEY (user_id, room_id)
);

-- The newest message of the direct conversation with other_id that user_id
-- has read (0: none). A row moves only forward.
CREATE TABLE direct_reads (
    user_id   INTEGER NOT NULL REFERENCES users (id),
    other_id  INTEGER NOT NULL REFERENCES users (id),
    last_read INTEGER NOT NULL,
    PRIMARY KEY (user_id, other_id)
);

-- Direct messages received by a user, by sender: the list of a user's direct
-- conversations and their unread counts are index range scans.
CREATE INDEX messages_to ON messages (recipient_id, sender_id, id);

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
