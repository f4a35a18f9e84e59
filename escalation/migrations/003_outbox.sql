-- Outgoing email, written in the same transaction as the event that causes
-- it (a ticket, an agent reply, a transcript request) and sent later by a
-- worker, so that mail is never lost when SMTP is down and never sent for
-- an event that was rolled back. message_id is the idempotency key: a mail
-- is sent at most once per Message-ID.
CREATE TABLE outbox (
	id              INTEGER PRIMARY KEY,
	message_id      TEXT NOT NULL UNIQUE,  -- "<random@domain>", without the angle brackets' meaning lost
	conversation_id INTEGER REFERENCES conversations (id) ON DELETE SET NULL,
	kind            TEXT NOT NULL,         -- confirmation, agent_reply, transcript, code, magic_link, bounce…
	from_addr       TEXT NOT NULL,
	to_addr         TEXT NOT NULL,
	reply_to        TEXT NOT NULL DEFAULT '',
	in_reply_to     TEXT NOT NULL DEFAULT '',
	refs            TEXT NOT NULL DEFAULT '', -- References, space-separated Message-IDs
	subject         TEXT NOT NULL,
	text_body       TEXT NOT NULL,
	html_body       TEXT NOT NULL DEFAULT '',
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at TEXT NOT NULL,
	last_error      TEXT NOT NULL DEFAULT '',
	sent_at         TEXT,
	created_at      TEXT NOT NULL
);

CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL;
