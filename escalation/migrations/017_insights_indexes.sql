-- The insights page (insights.go, insights_series.go) reads one period
-- (7, 30 or 90 days) of each table; these let it seek to the period
-- instead of reading everything ever stored. Each is on the time the page
-- cuts on.

-- The conversations started in the period, and how each ended.
CREATE INDEX conversations_created ON conversations (created_at);
-- The tickets opened in it (first response by email).
CREATE INDEX tickets_created ON tickets (created_at);
-- The chats queued in it (first response in chat, ratings).
CREATE INDEX chats_queued_at ON chats (queued_at);
-- The bot's decisions of a kind in it: offers, hand-offs and declines (the
-- reasons, the questions not answered). Bot messages only: SQLite uses a
-- partial index when the query repeats "role = 'bot'".
CREATE INDEX messages_bot_kind ON messages (kind, created_at) WHERE role = 'bot';
-- The votes cast or changed in it.
CREATE INDEX answer_votes_updated ON answer_votes (updated_at);
CREATE INDEX article_votes_updated ON article_votes (updated_at);
