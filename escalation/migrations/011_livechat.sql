-- Live chat (escalation/livechat*.go): a conversation handed to a person
-- in real time. One row per conversation: the bubble's conversation is
-- the chat, and every change of status is also a system message in it
-- (chat_queued, chat_claimed…), so whoever reconnects replays it by seq.
-- A visitor who asks again after a chat ended queues the same row again;
-- the notes in the conversation keep the earlier rounds.
--
-- Times the store compares as text (the queue's order, the recent claims
-- behind the wait estimate) are fixed width, like the outbox's.
CREATE TABLE chats (
	conversation_id INTEGER PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
	status          TEXT NOT NULL CHECK (status IN ('queued', 'active', 'closed', 'abandoned', 'converted')),
	queued_at       TEXT NOT NULL,             -- fixed width: the queue is served in this order
	claimed_at      TEXT,                      -- fixed width; the first claim, kept by a transfer
	agent_id        INTEGER REFERENCES agents (id), -- the agent who holds (or held) the chat
	closed_at       TEXT,                      -- when it left the queue or ended, whichever way
	page_url        TEXT NOT NULL DEFAULT '',  -- the page the visitor asked from
	topic           TEXT NOT NULL DEFAULT '',  -- a short label for agents: a ticket topic, an article id
	rating          INTEGER CHECK (rating BETWEEN 1 AND 5),
	rating_comment  TEXT NOT NULL DEFAULT '',
	-- An active chat always has its agent, and only a closed one is rated.
	CHECK (status <> 'active' OR agent_id IS NOT NULL),
	CHECK (rating IS NULL OR status = 'closed')
);

-- The queue, oldest first.
CREATE INDEX chats_queue ON chats (queued_at, conversation_id) WHERE status = 'queued';
-- An agent's chats.
CREATE INDEX chats_agent ON chats (agent_id, status);
-- The latest claims, for the wait estimate.
CREATE INDEX chats_claimed ON chats (claimed_at) WHERE claimed_at IS NOT NULL;
