-- Transcripts mailed from the bubble: which conversation went to which
-- address, and when. It limits how often one conversation mails (no mail
-- bomb from the bubble), and lets "My requests" show that address the
-- conversations it was sent.
CREATE TABLE transcripts (
	id              INTEGER PRIMARY KEY,
	conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
	email           TEXT NOT NULL,          -- lower-cased
	seq             INTEGER NOT NULL,       -- the system note that records it
	message_id      TEXT NOT NULL,          -- the mail's, in the outbox
	created_at      TEXT NOT NULL,          -- fixed width (outboxTimeLayout), compared as text
	FOREIGN KEY (conversation_id, seq) REFERENCES messages (conversation_id, seq) ON DELETE CASCADE
);

CREATE INDEX transcripts_email ON transcripts (email);
CREATE INDEX transcripts_conversation ON transcripts (conversation_id, created_at);

-- "My requests" sign-in links: one row per link mailed. Only the SHA-256
-- of the link's random token is kept, so a copy of the database opens no
-- one's requests. A link works once (used_at) and until expires_at.
CREATE TABLE request_links (
	token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32),
	email      TEXT NOT NULL,               -- lower-cased
	lang       TEXT NOT NULL,
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL,               -- fixed width, compared as text
	used_at    TEXT
);

CREATE INDEX request_links_expiry ON request_links (expires_at);

-- "My requests" sessions, opened by a link: the cookie holds a random
-- token, the table its SHA-256. A session ends at expires_at, after
-- last_seen_at plus the idle limit, or when the visitor signs out.
CREATE TABLE request_sessions (
	token_hash   BLOB PRIMARY KEY CHECK (length(token_hash) = 32),
	email        TEXT NOT NULL,             -- lower-cased: every query of the pages filters on it
	lang         TEXT NOT NULL,
	created_at   TEXT NOT NULL,
	expires_at   TEXT NOT NULL,             -- fixed width, compared as text
	last_seen_at TEXT NOT NULL              -- fixed width
);

CREATE INDEX request_sessions_expiry ON request_sessions (expires_at);
