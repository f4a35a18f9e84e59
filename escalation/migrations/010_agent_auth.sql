-- Agents sign in to the console (escalation/agent_auth.go, escalation/console).
--
-- role: what the agent may do; admin will manage agents and settings.
-- password_hash: argon2id in the PHC string format, NULL until the agent
-- follows their setup link. removed_at: an agent is never deleted, because
-- their messages name them (message_agents); a removed agent signs in to
-- nothing and their API token is overwritten with random bytes.
-- away: the agent said they are away; presence is "a console socket is
-- open and not away", so this stays across sign-ins until they come back.
ALTER TABLE agents ADD COLUMN role TEXT NOT NULL DEFAULT 'agent' CHECK (role IN ('agent', 'admin'));
ALTER TABLE agents ADD COLUMN password_hash TEXT;
ALTER TABLE agents ADD COLUMN removed_at TEXT;
ALTER TABLE agents ADD COLUMN away INTEGER NOT NULL DEFAULT 0 CHECK (away IN (0, 1));

-- Sign-in compares addresses case-insensitively (ASCII, as lower() does).
CREATE INDEX agents_email_lower ON agents (lower(email));

-- One-time password-setup links: `bulle agent add` (or `reset`) prints
-- one. Only the SHA-256 of the random token is kept. A link works once
-- (used_at) and until expires_at; issuing a new one deletes the unused.
CREATE TABLE agent_setup_tokens (
	token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32),
	agent_id   INTEGER NOT NULL REFERENCES agents (id),
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL,               -- fixed width, compared as text
	used_at    TEXT
);

CREATE INDEX agent_setup_tokens_agent ON agent_setup_tokens (agent_id);

-- Console sessions: the cookie holds a random token, the table its
-- SHA-256. A session ends at expires_at, after last_seen_at plus the idle
-- limit, at logout (row deleted), or when its agent is removed (all the
-- agent's rows deleted). Open console sockets check their row every second.
CREATE TABLE console_sessions (
	id           INTEGER PRIMARY KEY,
	token_hash   BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	agent_id     INTEGER NOT NULL REFERENCES agents (id),
	created_at   TEXT NOT NULL,
	expires_at   TEXT NOT NULL,             -- fixed width, compared as text
	last_seen_at TEXT NOT NULL              -- fixed width
);

CREATE INDEX console_sessions_agent ON console_sessions (agent_id);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
