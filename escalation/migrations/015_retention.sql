-- Retention (retention.go) picks the conversations whose last message is
-- older than a cutoff, oldest first, a batch at a time.
CREATE INDEX conversations_updated ON conversations (updated_at);
