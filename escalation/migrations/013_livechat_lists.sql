-- The live-chat lists (escalation/livechat.go): every console reads the
-- chats under way, whoever holds them, whenever the queue changes, and an
-- agent's own. Without these, "ch.status = 'active' ORDER BY claimed_at"
-- walked chats_agent, that is every chat ever held, then sorted.
--
-- Partial indexes of active chats only, like chats_queue (011) for the
-- queue: they stay as small as the chats under way, however many have
-- ended, and hold the rows in the lists' order, so there is no sort.
-- One per status rather than one "WHERE status IN ('queued', 'active')":
-- SQLite uses a partial index only when the query's WHERE repeats the
-- index's term, and "status = 'active'" does not repeat an IN list.
-- livechat_plan_test.go reads the query plans.

-- All open chats, the oldest claim first (ActiveChats).
CREATE INDEX chats_active ON chats (claimed_at, conversation_id) WHERE status = 'active';

-- One agent's chats, the oldest claim first (AgentChats).
CREATE INDEX chats_agent_active ON chats (agent_id, claimed_at, conversation_id) WHERE status = 'active';
