-- Files a visitor or an agent attached to a message: screenshots, logs,
-- PDFs. The bytes live in a folder outside anything served, under a random
-- name; this table knows what each file is and whom it belongs to.
CREATE TABLE attachments (
	id              INTEGER PRIMARY KEY,
	conversation_id INTEGER NOT NULL,
	seq             INTEGER NOT NULL,
	name            TEXT NOT NULL,          -- the sender's file name, made safe, for display and download
	content_type    TEXT NOT NULL,          -- sniffed from the bytes
	size            INTEGER NOT NULL,
	file            TEXT NOT NULL UNIQUE,   -- random name in the attachments folder
	created_at      TEXT NOT NULL,
	FOREIGN KEY (conversation_id, seq) REFERENCES messages (conversation_id, seq) ON DELETE CASCADE
);

CREATE INDEX attachments_message ON attachments (conversation_id, seq);
