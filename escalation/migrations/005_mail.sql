-- Delivery state for the outbox worker (escalation/sender.go).
--
-- A worker claims a due row by writing its lease_id and pushing
-- next_attempt_at to the end of its lease, in one UPDATE: two workers never
-- hold the same row, and a worker that dies mid-send loses the row when the
-- lease ends, so the mail is sent again rather than lost.
ALTER TABLE outbox ADD COLUMN lease_id TEXT;  -- the worker sending the row now; NULL when none
ALTER TABLE outbox ADD COLUMN failed_at TEXT; -- set when the worker gives up; the row is kept, never deleted

-- Due rows are those neither sent nor given up.
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
