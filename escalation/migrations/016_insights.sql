-- What editors learn from visitors (insights*.go): the help center's
-- searches and which result, if any, was opened; and how often each
-- article is read, a counter per day, so the table stays small whatever
-- the traffic. Searches hold what visitors typed, so retention deletes
-- them with the conversations; the counters hold nothing personal.
-- Neither table holds an address, a cookie or any visitor id. Rows are
-- written in batches (insights_record.go).
CREATE TABLE searches (
	id              INTEGER PRIMARY KEY, -- random, 63 bits: the result links carry it (?s=)
	lang            TEXT NOT NULL,
	query           TEXT NOT NULL,   -- as typed, trimmed, at most 200 characters
	results         INTEGER NOT NULL CHECK (results >= 0),
	clicked_article TEXT,            -- the first article opened from the results; NULL: none
	created_at      TEXT NOT NULL    -- fixed width, like the outbox's times
);

-- Retention deletes searches older than its cutoff (retention.go).
CREATE INDEX searches_created ON searches (created_at);

CREATE TABLE article_views (
	day        TEXT NOT NULL,        -- YYYY-MM-DD, UTC
	lang       TEXT NOT NULL,
	article_id TEXT NOT NULL,
	views      INTEGER NOT NULL CHECK (views > 0),
	PRIMARY KEY (day, lang, article_id)
);
