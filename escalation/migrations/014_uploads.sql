-- The bubble, complete: files staged before the ticket form is sent, and
-- a conversation that keeps its visitor across several tickets.

-- Staged uploads (escalation/attachment_upload.go). The bubble's ticket
-- form sends each file over HTTP first (POST /widget/uploads, a WebSocket
-- frame is at most 8 KB), then names them in its ticket frame. The bytes
-- are stored as an attachment's are, under a random name in the
-- attachments folder; this row says whose they are until a ticket takes
-- them: then, in the ticket's transaction, the row is deleted and an
-- attachments row takes over the same file. A row no ticket took within
-- an hour is deleted with its file (SweepUploads).
CREATE TABLE uploads (
	id              INTEGER PRIMARY KEY,
	public_id       TEXT NOT NULL UNIQUE,   -- random, what the bubble quotes: ids say nothing about volume
	conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
	name            TEXT NOT NULL,          -- the sender's file name, made safe
	content_type    TEXT NOT NULL,          -- sniffed from the bytes
	size            INTEGER NOT NULL,
	file            TEXT NOT NULL UNIQUE,   -- random name in the attachments folder
	-- Fixed width (nanoseconds always written), so that the sweep compares
	-- it as text, through the index below.
	created_at      TEXT NOT NULL
);

CREATE INDEX uploads_conversation ON uploads (conversation_id);
CREATE INDEX uploads_created ON uploads (created_at);

-- Several tickets per conversation. A returning visitor keeps the bubble's
-- conversation (its token is in their browser) and asks something new
-- once the earlier request is solved: that opens a new ticket on the same
-- conversation, as Zendesk's and Intercom's messengers do, so the agents
-- see everything said before. 004 made conversation_id UNIQUE; SQLite
-- cannot drop a constraint, so the table is rebuilt, ids kept.
--
-- verification_codes refers to tickets (id). With foreign keys on (and
-- they are: the pragma cannot change inside this transaction), dropping
-- tickets deletes its rows first and fails on those codes, even deferred:
-- the counter of broken references only drops when a row is inserted into
-- the parent, and a rename inserts nothing. So the codes step aside in a
-- temporary table while the table is replaced, and come back unchanged.
CREATE TABLE tickets_new (
	id              INTEGER PRIMARY KEY,
	ref             TEXT NOT NULL UNIQUE,
	conversation_id INTEGER NOT NULL REFERENCES conversations (id),
	topic           TEXT NOT NULL,
	queue           TEXT NOT NULL,
	tags            TEXT NOT NULL DEFAULT '',
	email           TEXT NOT NULL,
	name            TEXT NOT NULL DEFAULT '',
	lang            TEXT NOT NULL,
	page_url        TEXT NOT NULL DEFAULT '',
	status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'solved')),
	verified_at     TEXT,
	root_message_id TEXT NOT NULL,
	last_message_id TEXT NOT NULL,
	created_at      TEXT NOT NULL,
	updated_at      TEXT NOT NULL,
	verified_by     TEXT CHECK (verified_by IN ('code', 'identity'))
);

INSERT INTO tickets_new (id, ref, conversation_id, topic, queue, tags, email, name, lang, page_url, status,
	verified_at, root_message_id, last_message_id, created_at, updated_at, verified_by)
SELECT id, ref, conversation_id, topic, queue, tags, email, name, lang, page_url, status,
	verified_at, root_message_id, last_message_id, created_at, updated_at, verified_by
FROM tickets;

CREATE TEMP TABLE verification_codes_kept AS SELECT * FROM verification_codes;
DELETE FROM verification_codes;
DROP TABLE tickets;
ALTER TABLE tickets_new RENAME TO tickets;
INSERT INTO verification_codes SELECT * FROM verification_codes_kept;
DROP TABLE verification_codes_kept;

-- The indexes of 004 and 012, which went with the old table.
CREATE INDEX tickets_email ON tickets (email);
CREATE INDEX tickets_queue ON tickets (queue, status, updated_at);
CREATE INDEX tickets_status ON tickets (status, updated_at);
CREATE INDEX tickets_topic ON tickets (topic, status, updated_at);
CREATE INDEX tickets_email_lower ON tickets (lower(email));
-- "The conversation's ticket" is its latest (ticket.go,
-- latestTicketOfConversation): id DESC, so that even a lookup without
-- ORDER BY meets the newest first.
CREATE INDEX tickets_conversation ON tickets (conversation_id, id DESC);
