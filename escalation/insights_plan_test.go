package escalation

import (
	"strings"
	"testing"
)

// TestInsightsQueriesSeekToThePeriod reads the plans of the insights
// page's queries: each reaches its table through the index on the time it
// cuts on (migrations 016 and 017), and the rows of a conversation through
// its key, so that a quarter's page reads the quarter, not every row ever
// stored. A "SCAN" step walks a whole table or index.
func TestInsightsQueriesSeekToThePeriod(t *testing.T) {
	s := openTest(t)
	window := []any{"2026-01-01T00:00:00", "2026-02-01T00:00:00", "", ""}
	tests := []struct {
		name, query string
		args        []any
		wantIndex   string // the index the first step must search
	}{
		{"questions offered a person", offeredQuestionsQuery, append(window, 5000), "messages_bot_kind"},
		{"votes on answers", answerVotesQuery, append(window, 5000), "answer_votes_updated"},
		{"votes on pages", articleVotesQuery, window, "article_votes_updated"},
		{"search counts", searchCountsQuery, window, "searches_created"},
		{"searches without a click", noClickQuery, append(window, 5000), "searches_created"},
		{"most read", mostReadQuery, []any{"2026-01-01", "2026-02-01", "", "", 20}, "sqlite_autoindex_article_views_1"},
		{"how conversations ended", outcomesQuery, window, "conversations_created"},
		{"hand-off reasons", reasonsQuery, window, "messages_bot_kind"},
		{"chats", chatsQuery, window, "chats_queued_at"},
		{"tickets", ticketsQuery, window, "tickets_created"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := queryPlan(t, s, tt.query, tt.args...)
			if len(plan) == 0 || !strings.HasPrefix(plan[0], "SEARCH ") || !strings.Contains(plan[0], "INDEX "+tt.wantIndex+" ") {
				t.Errorf("first step: got %q, want a search of %s", plan, tt.wantIndex)
			}
			for _, step := range plan {
				if strings.HasPrefix(step, "SCAN ") {
					t.Errorf("plan walks a whole table or index: %q in %q", step, plan)
				}
			}
		})
	}
}
