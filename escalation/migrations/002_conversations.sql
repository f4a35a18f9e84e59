-- Conversations between a visitor and the assistant (later, agents too).
-- The visitor holds a secret token; only its SHA-256 is kept, so a copy of
-- the database does not let anyone resume someone else's conversation.
CREATE TABLE conversations (
	id         INTEGER PRIMARY KEY,
	token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	lang       TEXT NOT NULL,
	origin     TEXT NOT NULL DEFAULT '', -- the site the bubble ran on
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL             -- the time of the last message
);

-- Messages, numbered 1, 2, 3… within their conversation with no gaps, so
-- a visitor who comes back asks for "everything after seq N".
CREATE TABLE messages (
	conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
	seq             INTEGER NOT NULL CHECK (seq > 0),
	role            TEXT NOT NULL CHECK (role IN ('visitor', 'bot', 'agent', 'system')),
	-- The visitor's own id for a message they sent: a resend after a lost
	-- acknowledgement finds the first copy instead of storing a second one.
	client_id       TEXT,
	-- The seq of the visitor message a bot message replies to: at most one
	-- reply each, even when two connections race to answer a resend.
	reply_to        INTEGER,
	kind            TEXT NOT NULL,
	body            TEXT NOT NULL,
	created_at      TEXT NOT NULL,
	PRIMARY KEY (conversation_id, seq),
	UNIQUE (conversation_id, client_id)
);

CREATE UNIQUE INDEX messages_reply_to ON messages (conversation_id, reply_to) WHERE reply_to IS NOT NULL;

-- "Was this answer helpful?" on the bot's answers: one vote per answer,
-- replaced when the visitor changes their mind.
CREATE TABLE answer_votes (
	conversation_id INTEGER NOT NULL,
	seq             INTEGER NOT NULL,
	helpful         INTEGER NOT NULL CHECK (helpful IN (0, 1)),
	created_at      TEXT NOT NULL,
	updated_at      TEXT NOT NULL,
	PRIMARY KEY (conversation_id, seq),
	FOREIGN KEY (conversation_id, seq) REFERENCES messages (conversation_id, seq) ON DELETE CASCADE
);
