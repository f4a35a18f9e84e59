-- Ownership verification (escalation/verify.go, escalation/identity.go).
--
-- A visitor proves they own a ticket's email address with a 6-digit code
-- sent to it. Only an HMAC of the code is stored, under a key kept out of
-- the database (derived from data/reply.key): a copy of the database does
-- not let anyone try the million codes offline. Every code sent is a row;
-- the newest row of a ticket is its one active code, and the rows of the
-- last hour count against the sending limit.
CREATE TABLE verification_codes (
	id         INTEGER PRIMARY KEY,
	ticket_id  INTEGER NOT NULL REFERENCES tickets (id),
	code_hash  BLOB NOT NULL CHECK (length(code_hash) = 32),
	email      TEXT NOT NULL,              -- the address the code went to
	attempts   INTEGER NOT NULL DEFAULT 0, -- codes typed against it, right or wrong
	expires_at TEXT NOT NULL,
	used_at    TEXT,                       -- set by the right code: a code works once
	created_at TEXT NOT NULL
);

CREATE INDEX verification_codes_ticket ON verification_codes (ticket_id, id);

-- How a verified ticket was verified: a code sent by email, or a signed
-- identity from the site that embeds the bubble.
ALTER TABLE tickets ADD COLUMN verified_by TEXT CHECK (verified_by IN ('code', 'identity'));

-- The email address the embedding site vouched for in the bubble's last
-- hello (an HMAC-signed identity), until the signature expires. A ticket
-- opened on the conversation with that same address is created verified.
ALTER TABLE conversations ADD COLUMN identity_email TEXT;
ALTER TABLE conversations ADD COLUMN identity_expires_at TEXT;
