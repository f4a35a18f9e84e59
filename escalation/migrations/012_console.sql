-- The agents' console (escalation/notes.go, canned.go, search.go,
-- ticket_list.go): internal notes, canned responses, the ticket lists and
-- the search over conversations.

-- Internal notes: what agents write about a conversation for each other.
-- They have their own table, never a row of messages: everything that
-- shows a conversation to its visitor (the bubble's replay by seq, the
-- transcript mail, "My requests", the ticket mails) reads messages, so no
-- note can reach a visitor whatever those readers do. Times are fixed
-- width (compared as text).
CREATE TABLE agent_notes (
	id              INTEGER PRIMARY KEY,
	conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
	agent_id        INTEGER NOT NULL REFERENCES agents (id),
	body            TEXT NOT NULL,
	created_at      TEXT NOT NULL
);

CREATE INDEX agent_notes_conversation ON agent_notes (conversation_id, id);

-- Canned responses: answers agents insert into a reply and adapt, one
-- language each. Admins write them; every agent uses them.
CREATE TABLE canned_responses (
	id         INTEGER PRIMARY KEY,
	title      TEXT NOT NULL,
	lang       TEXT NOT NULL CHECK (lang IN ('fr', 'en')),
	body       TEXT NOT NULL,
	updated_by INTEGER REFERENCES agents (id),
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	UNIQUE (lang, title)
);

-- The ticket lists: by status, and by topic and status, in update order.
CREATE INDEX tickets_status ON tickets (status, updated_at);
CREATE INDEX tickets_topic ON tickets (topic, status, updated_at);

-- Search by address matches case-insensitively (ASCII, as lower() does).
CREATE INDEX tickets_email_lower ON tickets (lower(email));
CREATE INDEX conversations_identity_email ON conversations (lower(identity_email));

-- Search by date and time: "précisez la date et l'heure de votre échange".
CREATE INDEX messages_created ON messages (created_at);

-- Full-text search over what was said. FTS4, not FTS5: mattn/go-sqlite3
-- compiles FTS3/FTS4 in by default, while FTS5 needs the sqlite_fts5
-- build tag on every go build, test and run. unicode61 with
-- remove_diacritics=2 folds case and accents, so "reinitialiser" finds
-- "réinitialiser".
--
-- message_search holds the searchable text of each message: a visitor's
-- or an agent's as written, and for bot and system messages (JSON) their
-- text, the passage quoted and the article's title, never the JSON keys.
-- Its docid is (conversation_id << 32) | seq, computed, not messages'
-- rowid: messages has no INTEGER PRIMARY KEY, so its rowids may change
-- on VACUUM. Triggers keep it in step, in the transaction of the write.
CREATE VIRTUAL TABLE message_search USING fts4 (body, tokenize=unicode61 "remove_diacritics=2");

CREATE TRIGGER message_search_insert AFTER INSERT ON messages BEGIN
	INSERT INTO message_search (docid, body) VALUES ((new.conversation_id << 32) | new.seq,
		CASE WHEN new.role IN ('bot', 'system') AND json_valid(new.body)
			THEN concat_ws(' ', json_extract(new.body, '$.text'), json_extract(new.body, '$.quote'),
				json_extract(new.body, '$.article.title'))
			ELSE new.body END);
END;

CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN
	DELETE FROM message_search WHERE docid = (old.conversation_id << 32) | old.seq;
END;

INSERT INTO message_search (docid, body)
	SELECT (conversation_id << 32) | seq,
		CASE WHEN role IN ('bot', 'system') AND json_valid(body)
			THEN concat_ws(' ', json_extract(body, '$.text'), json_extract(body, '$.quote'),
				json_extract(body, '$.article.title'))
			ELSE body END
	FROM messages;

-- The notes are searched too (by agents, like everything here); their
-- docid is the note's id.
CREATE VIRTUAL TABLE agent_note_search USING fts4 (body, tokenize=unicode61 "remove_diacritics=2");

CREATE TRIGGER agent_note_search_insert AFTER INSERT ON agent_notes BEGIN
	INSERT INTO agent_note_search (docid, body) VALUES (new.id, new.body);
END;

CREATE TRIGGER agent_note_search_delete AFTER DELETE ON agent_notes BEGIN
	DELETE FROM agent_note_search WHERE docid = old.id;
END;
