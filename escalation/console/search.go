package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bulle-help/bulle/escalation"
)

// Search: GET /console/search?q=…&from=…&to=…&page=N. q is a ticket's
// reference, an address (both exact) or words (escalation.Search); from
// and to come from datetime-local inputs, with no zone, and are read in
// the desk's zone (the business hours', else UTC), which the page names.
// to includes its minute: "to 14:35" covers 14:35:59.

// dateTimeLocal is the value of an <input type="datetime-local">; some
// browsers add seconds.
const dateTimeLocal = "2006-01-02T15:04"

// searchView is the search form and its hits.
type searchView struct {
	Q, From, To string
	Mode        string
	Summary     string
	Hits        []hitRow
	Searched    bool
	Page        int
	PrevURL     string
	NextURL     string
}

// hitRow is a conversation found, as its result shows it.
type hitRow struct {
	URL         string
	Ref         string
	ID          int64
	Email       string
	Name        string
	StatusLabel string // the ticket's status
	ChatStatus  string
	Verified    bool
	When, ISO   string
	Who         string // who wrote the text shown
	InNote      bool
	Snippet     []escalation.SnippetPart
	Matches     int
}

// parseLocal reads a datetime-local value in loc; zero for "".
func parseLocal(v string, loc *time.Location) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(dateTimeLocal, v, loc)
	if err != nil {
		t, err = time.ParseInLocation(dateTimeLocal+":05", v, loc)
	}
	return t, err
}

// searchPage serves the search form and, when asked, its results.
func (c *Console) searchPage(w http.ResponseWriter, r *http.Request, _ string) error {
	lang := pickLang(r, c.opt.DefaultLang)
	sess, token, err := c.deskSession(w, r, lang)
	if err != nil || sess == nil {
		return err
	}
	pg := c.newDeskPage("search", r, lang, sess, token)
	q := r.URL.Query()
	v := &searchView{Q: strings.TrimSpace(q.Get("q")), From: q.Get("from"), To: q.Get("to"), Page: pageNumber(r)}
	pg.Search = v
	loc := c.zone()
	from, errFrom := parseLocal(v.From, loc)
	to, errTo := parseLocal(v.To, loc)
	if errFrom != nil || errTo != nil {
		pg.Error = pg.W["bad_date"]
		return renderDesk(w, http.StatusUnprocessableEntity, pg)
	}
	if !to.IsZero() {
		to = to.Add(time.Minute) // the minute typed is included
	}
	if v.Q == "" && from.IsZero() && to.IsZero() {
		return renderDesk(w, http.StatusOK, pg)
	}
	res, err := c.store.Search(r.Context(), escalation.SearchQuery{Text: v.Q, From: from, To: to,
		Limit: escalation.DefaultSearchPage, Offset: (v.Page - 1) * escalation.DefaultSearchPage})
	if escalation.ErrorCode(err) == escalation.EINVALID {
		pg.Error = pg.W["invalid"] + " " + escalation.ErrorMessage(err)
		return renderDesk(w, http.StatusUnprocessableEntity, pg)
	} else if err != nil {
		return fmt.Errorf("console: search: %w", err)
	}
	v.Searched, v.Mode, v.Summary = true, string(res.Mode), pg.W["hits_"+string(res.Mode)]
	for _, h := range res.Hits {
		v.Hits = append(v.Hits, c.hitRow(h, pg))
	}
	link := func(page int) string {
		u := url.Values{"lang": {lang}}
		for k, val := range map[string]string{"q": v.Q, "from": v.From, "to": v.To} {
			if val != "" {
				u.Set(k, val)
			}
		}
		if page > 1 {
			u.Set("page", strconv.Itoa(page))
		}
		return "/console/search?" + u.Encode()
	}
	if v.Page > 1 {
		v.PrevURL = link(v.Page - 1)
	}
	if res.More {
		v.NextURL = link(v.Page + 1)
	}
	return renderDesk(w, http.StatusOK, pg)
}

// hitRow says what a hit is and links to it: a ticket's page, else the
// conversation's.
func (c *Console) hitRow(h escalation.SearchHit, pg deskPage) hitRow {
	row := hitRow{ID: h.ID, Email: h.Email, When: c.when(h.At, pg.Lang), ISO: h.At.UTC().Format(time.RFC3339),
		InNote: h.InNote, Snippet: h.Snippet, Matches: h.Matches,
		URL: "/console/conversations/" + strconv.FormatInt(h.ID, 10) + "?lang=" + pg.Lang}
	if t := h.Ticket; t != nil {
		row.URL = "/console/tickets/" + url.PathEscape(t.Ref) + "?lang=" + pg.Lang
		row.Ref, row.Name, row.Verified, row.StatusLabel = t.Ref, t.Name, t.Verified, pg.W["status_"+t.Status]
	}
	if h.Chat != nil {
		row.ChatStatus = pg.W["chat_"+string(h.Chat.Status)]
		row.Verified = row.Verified || h.Chat.Verified
	}
	switch {
	case h.InNote:
		row.Who = pg.W["internal_note"]
	case h.Role != "":
		row.Who = pg.W[string(h.Role)]
	}
	return row
}
