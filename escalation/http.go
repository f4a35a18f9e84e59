package escalation

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// AvailabilityOptions configures the availability endpoint.
type AvailabilityOptions struct {
	// DefaultLang is the language of the lines when ?lang= is absent or
	// neither en nor fr.
	DefaultLang string
	// AllowedOrigins are the sites, as scheme://host[:port], whose pages
	// may read the answer from a script (the bubble); same-origin pages
	// always can.
	AllowedOrigins []string
}

// availabilityMaxAge lets browsers and proxies keep an answer for a
// minute: an opening or a closing may show up to a minute late, which the
// bubble's own status (from the WebSocket) does not suffer from.
const availabilityMaxAge = "public, max-age=60"

// AvailabilityHandler serves GET /api/availability?lang=fr&tz=Europe/Paris:
// the Report of a at the current time, as JSON. tz is the visitor's IANA
// zone, optional; a bad one is answered 400 {"error": "tz: …"}.
func AvailabilityHandler(a *Availability, opt AvailabilityOptions) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		if o := c.Request().Header.Get(echo.HeaderOrigin); o != "" && slices.Contains(opt.AllowedOrigins, strings.TrimSuffix(o, "/")) {
			h.Set(echo.HeaderAccessControlAllowOrigin, o)
		}
		h.Add(echo.HeaderVary, echo.HeaderOrigin)
		loc, err := VisitorZone(c.QueryParam("tz"))
		if err != nil {
			// An API answers in JSON whatever the Accept header says, in
			// the shape of the server's own JSON errors.
			return c.JSON(http.StatusBadRequest, map[string]string{"error": ErrorMessage(err)})
		}
		r := a.Report(c.Request().Context(), a.Now(), ReportLang(c.QueryParam("lang"), opt.DefaultLang), loc)
		h.Set("Cache-Control", availabilityMaxAge)
		return c.JSON(http.StatusOK, r)
	}
}

// RegisterAgentAPI mounts the agents' HTTP API under /api/agent: an agent
// reads a ticket and answers it. Every request carries the agent's token
// as "Authorization: Bearer <token>" (no cookie, so no cross-site request
// can use it). The console of the live-chat issue builds on it.
func RegisterAgentAPI(e *echo.Echo, s *Store, d *Desk) {
	g := e.Group("/api/agent", agentAuth(s))
	g.GET("/tickets/:ref/attachments", agentTicketAttachments(s))
	g.GET("/attachments/:id", agentAttachment(d))
	g.GET("/tickets/:ref", func(c echo.Context) error {
		ctx := c.Request().Context()
		t, err := s.TicketByRef(ctx, c.Param("ref"))
		if err != nil {
			return err
		}
		msgs, err := s.MessagesAfter(ctx, t.ConversationID, 0, maxPage)
		if err != nil {
			return err
		}
		type message struct {
			Seq       int64  `json:"seq"`
			Role      Role   `json:"role"`
			Kind      string `json:"kind"`
			Body      string `json:"body"`
			CreatedAt string `json:"created_at"`
		}
		out := struct {
			Ref        string    `json:"ref"`
			Topic      string    `json:"topic"`
			Queue      string    `json:"queue"`
			Status     string    `json:"status"`
			Email      string    `json:"email"`
			Name       string    `json:"name"`
			Lang       string    `json:"lang"`
			Verified   bool      `json:"verified"`
			VerifiedBy string    `json:"verified_by,omitempty"` // "code" (by email) or "identity" (signed by the site)
			Messages   []message `json:"messages"`
		}{t.Ref, t.Topic, t.Queue, t.Status, t.Email, t.Name, t.Lang, t.Verified, t.VerifiedBy, nil}
		for _, m := range msgs {
			out.Messages = append(out.Messages, message{m.Seq, m.Role, m.Kind, m.Body, m.CreatedAt.Format("2006-01-02T15:04:05Z07:00")})
		}
		return c.JSON(http.StatusOK, out)
	})
	g.POST("/tickets/:ref/replies", func(c echo.Context) error {
		var in struct {
			Text string `json:"text"`
		}
		c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, 256<<10)
		if err := c.Bind(&in); err != nil {
			return invalid("body", "want JSON {\"text\": \"…\"}")
		}
		m, err := d.AgentReply(c.Request().Context(), c.Get(agentKey).(Agent), c.Param("ref"), in.Text)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, map[string]int64{"seq": m.Seq})
	})
}

const agentKey = "bulle.agent"

// agentAuth lets through requests bearing an agent's token.
func agentAuth(s *Store) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			token, ok := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
			if !ok {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="bulle agents"`)
				return echo.NewHTTPError(http.StatusUnauthorized, "Send your agent token: Authorization: Bearer <token>.")
			}
			a, err := s.AgentByToken(c.Request().Context(), strings.TrimSpace(token))
			if err != nil {
				if ErrorCode(err) == ENOTFOUND {
					c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="bulle agents", error="invalid_token"`)
					return echo.NewHTTPError(http.StatusUnauthorized, "This agent token is not valid.")
				}
				return err
			}
			c.Set(agentKey, a)
			return next(c)
		}
	}
}

// agentTicketAttachments lists a ticket's files: GET
// /api/agent/tickets/:ref/attachments.
func agentTicketAttachments(s *Store) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		t, err := s.TicketByRef(ctx, c.Param("ref"))
		if err != nil {
			return err
		}
		files, err := s.ConversationAttachments(ctx, t.ConversationID)
		if err != nil {
			return err
		}
		type file struct {
			ID          int64  `json:"id"`
			Seq         int64  `json:"seq"`
			Name        string `json:"name"`
			ContentType string `json:"content_type"`
			Size        int64  `json:"size"`
			URL         string `json:"url"`
		}
		out := []file{}
		for _, a := range files {
			out = append(out, file{a.ID, a.Seq, a.Name, a.ContentType, a.Size, "/api/agent/attachments/" + strconv.FormatInt(a.ID, 10)})
		}
		return c.JSON(http.StatusOK, map[string]any{"ref": t.Ref, "attachments": out})
	}
}

// agentAttachment downloads one file: GET /api/agent/attachments/:id,
// served as ServeAttachment says (a download, never rendered).
func agentAttachment(d *Desk) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := strconv.ParseInt(c.Param("id"), 10, 64)
		if err != nil || id <= 0 {
			return ErrNotFound
		}
		a, f, err := d.AgentAttachment(c.Request().Context(), id)
		if err != nil {
			return err
		}
		ServeAttachment(c.Response(), c.Request(), a, f)
		return nil
	}
}
