-- GuiGui Chat, MySQL/MariaDB schema version 2: each message keeps the sender's IP.
-- The admin lists messages by login or by IP; the connection log alone cannot
-- say which of a user's two sessions (two addresses) sent a given message.

-- ip: the address the message came from, as the server saw it ('127.0.0.1',
-- '2001:db8::1'); NULL for messages stored before this migration.
-- messages_by_ip: messages from one address, newest first, in one backward
-- range scan. One statement, so that MySQL (which commits each DDL statement)
-- cannot leave the column without its index; InnoDB does it without copying
-- the table.
ALTER TABLE messages
    ADD COLUMN ip VARCHAR(64) NULL,
    ADD KEY messages_by_ip (ip, id);
