-- Tickets: a conversation handed to people by email. The ticket lives on
-- the conversation it came from (bot messages, then the visitor's message,
-- then email replies and agent replies, all numbered in that one thread),
-- so a conversation has at most one ticket; a new question opens a new
-- conversation and a new ticket.
CREATE TABLE tickets (
	id              INTEGER PRIMARY KEY,
	ref             TEXT NOT NULL UNIQUE,   -- the visitor's reference, "K7Q-4821"
	conversation_id INTEGER NOT NULL UNIQUE REFERENCES conversations (id),
	topic           TEXT NOT NULL,
	queue           TEXT NOT NULL,
	tags            TEXT NOT NULL DEFAULT '', -- space-separated
	email           TEXT NOT NULL,
	name            TEXT NOT NULL DEFAULT '',
	lang            TEXT NOT NULL,
	page_url        TEXT NOT NULL DEFAULT '',
	status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'solved')),
	verified_at     TEXT,                     -- when the visitor proved they own the account email
	root_message_id TEXT NOT NULL,            -- the confirmation mail's Message-ID: every later mail references it
	last_message_id TEXT NOT NULL,            -- the latest mail of the thread, for In-Reply-To
	created_at      TEXT NOT NULL,
	updated_at      TEXT NOT NULL
);

CREATE INDEX tickets_email ON tickets (email);
CREATE INDEX tickets_queue ON tickets (queue, status, updated_at);
