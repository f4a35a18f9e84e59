-- Agents: the people who answer tickets (and, later, chats). Each has an
-- API token for the agents' HTTP API; only its SHA-256 is stored.
CREATE TABLE agents (
	id         INTEGER PRIMARY KEY,
	email      TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL,
	token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	created_at TEXT NOT NULL
);

-- Which agent wrote an agent message.
CREATE TABLE message_agents (
	conversation_id INTEGER NOT NULL,
	seq             INTEGER NOT NULL,
	agent_id        INTEGER NOT NULL REFERENCES agents (id),
	PRIMARY KEY (conversation_id, seq),
	FOREIGN KEY (conversation_id, seq) REFERENCES messages (conversation_id, seq) ON DELETE CASCADE
);
