"""SQLite only: the write-ahead log is checkpointed off the writer's path, and stays small."""

from __future__ import annotations

from pathlib import Path

from guigui.server.store import StoredMessage
from guigui.server.store.sqlite_store import SQLiteStore


def test_the_log_stays_small_under_continuous_writes_and_the_thread_ends(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "guigui.db")
    store.migrate()
    store._db.execute("PRAGMA foreign_keys=OFF")  # messages without users, for speed
    next_id = 1
    for _ in range(1500):  # about 40 MiB of log without checkpoints
        batch = [
            StoredMessage(next_id + n, 1, 1, None, f"message {next_id + n} " * 4, 0, None)
            for n in range(40)
        ]
        next_id += 40
        store.save_messages(batch)
    wal = tmp_path / "guigui.db-wal"
    assert wal.stat().st_size < 16 * 2**20
    store.close()
    assert not store._checkpointer._thread.is_alive()
    reopened = SQLiteStore(tmp_path / "guigui.db")
    assert reopened._db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 60000
    reopened.close()
