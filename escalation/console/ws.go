package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/bulle-help/bulle/escalation"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/labstack/echo/v4"
)

// StatusSessionEnded closes a console socket whose session ended (signed
// out, expired, password reset, agent removed): the page should not
// reconnect but go back to sign-in.
const StatusSessionEnded = websocket.StatusCode(4001)

// writeTimeout bounds one frame write (Options.WriteTimeout): a console
// whose connection stalls longer is dropped and reconnects.
const writeTimeout = 10 * time.Second

// StatusTooSlow closes a console socket that fell behind the live-chat
// hub; the page reconnects at once and replays what it missed by seq.
const StatusTooSlow = websocket.StatusTryAgainLater

// events serves GET /console/events?csrf=…, the console socket. The
// handshake needs a live session cookie, an Origin of this site (the
// library alone would also let a request with no Origin through), and
// the session's CSRF token: a page of another site can open none. While
// it is open the agent counts as online. It carries presence and live
// chat (chat_session.go); the frames are in docs/console.md.
func (c *Console) events(ec echo.Context) error {
	r := ec.Request()
	sess, token, err := c.session(r)
	if err != nil {
		return err
	}
	if sess == nil {
		return echo.NewHTTPError(http.StatusUnauthorized, "Sign in to the console first.")
	}
	if !sameOrigin(r, c.opt.BaseURL, true) {
		c.log.Warn("console socket refused", "reason", "origin", "agent_id", sess.Agent.ID)
		return echo.NewHTTPError(http.StatusForbidden, "The console socket opens only from the console's own pages.")
	}
	if !sameToken(r.URL.Query().Get("csrf"), sessionCSRF(token)) {
		c.log.Warn("console socket refused", "reason", "csrf", "agent_id", sess.Agent.ID)
		return echo.NewHTTPError(http.StatusForbidden, "Reload the console page.")
	}
	if !c.enter() {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "Shutting down; try again in a moment.")
	}
	defer c.conns.Done()
	// The origin is checked above, base_url's included; the library checks
	// again, so it is told base_url's host too.
	opts := &websocket.AcceptOptions{}
	if u, err := url.Parse(c.opt.BaseURL); err == nil && u.Host != "" {
		opts.OriginPatterns = []string{u.Host}
	}
	conn, err := websocket.Accept(ec.Response(), r, opts)
	if err != nil {
		// Accept has answered (426 for a request that is no handshake).
		c.log.Debug("console socket accept", "err", err)
		return nil
	}
	sock, err := c.sessions.Attach(r.Context(), *sess)
	if err != nil {
		conn.Close(websocket.StatusGoingAway, "server shutting down")
		return nil
	}
	defer sock.Release()
	c.serveSocket(conn, sock, sess.Agent)
	return nil
}

// serveSocket runs one console socket until the client leaves, the
// socket's context ends (the session ended, the server stops), a write
// stalls, or the hub drops it as too slow; then it closes with the
// status that says why. A goroutine reads the agent's frames and hands
// them to the chat session; this loop sends presence, pings, and what
// the hub says.
func (c *Console) serveSocket(conn *websocket.Conn, sock *Socket, agent escalation.Agent) {
	ctx := sock.Context()
	conn.SetReadLimit(maxAgentFrame)
	// Writes are not cancelled by ctx: a write cut short closes the
	// connection without a status, and the close below says why.
	send := func(_ context.Context, v any) error {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opt.WriteTimeout)
		defer cancel()
		return wsjson.Write(wctx, conn, v)
	}
	chat := c.newChatSession(agent, send)
	defer chat.Close()

	// Reads use a context that ctx's end does not cancel either: a
	// cancelled read drops the TCP connection at once.
	readDone := make(chan error, 1)
	go func() {
		for {
			typ, data, err := conn.Read(context.WithoutCancel(ctx))
			if err == nil {
				err = chat.Handle(ctx, data, typ == websocket.MessageBinary, time.Now())
			}
			if err != nil {
				readDone <- err
				return
			}
		}
	}()
	defer func() {
		conn.CloseNow() // a no-op after a close; ends the read loop otherwise
		<-readDone
	}()

	presence := func() error {
		status := "online"
		if !c.sessions.Online(sock.AgentID) {
			status = "away"
		}
		return send(ctx, presenceFrame{Type: typePresence, Status: status, At: time.Now().UTC().Format(time.RFC3339)})
	}
	ping := time.NewTicker(c.opt.PingEvery)
	defer ping.Stop()
	err := presence()
	if err == nil {
		err = chat.Flush(ctx) // the queue
	}
	for {
		if err != nil {
			c.log.Debug("console socket write", "agent_id", sock.AgentID, "err", err)
			return
		}
		select {
		case err := <-readDone:
			readDone <- err // for the deferred wait
			switch {
			case errors.Is(err, errFlood):
				c.log.Warn("console socket closed: flooding past the rate limit", "agent_id", sock.AgentID)
				conn.Close(websocket.StatusPolicyViolation, "too many frames")
			case errors.Is(err, websocket.ErrMessageTooBig):
				c.log.Info("console socket closed: frame over the limit", "agent_id", sock.AgentID)
			}
			return // the client closed, or a write failed
		case <-ctx.Done():
			if context.Cause(ctx) == ErrSessionEnded {
				c.log.Info("console socket closed: session ended", "agent_id", sock.AgentID, "session_id", sock.SessionID)
				conn.Close(StatusSessionEnded, "session ended")
			} else {
				conn.Close(websocket.StatusGoingAway, "server shutting down")
			}
			return
		case ev, ok := <-chat.Events():
			if !ok {
				if chat.Dropped() {
					c.log.Warn("console socket closed: too slow for the live-chat hub", "agent_id", sock.AgentID)
					conn.Close(StatusTooSlow, "too slow; reconnect")
				}
				return
			}
			chat.Note(ev)
			// Take what else is waiting, so that a burst is one flush.
			for n := len(chat.Events()); n > 0; n-- {
				if ev, ok := <-chat.Events(); ok {
					chat.Note(ev)
				}
			}
			err = chat.Flush(ctx)
		case <-sock.Changed():
			err = presence()
		case <-ping.C:
			if err = presence(); err == nil {
				// A peer that vanished without closing answers no ping.
				pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opt.WriteTimeout)
				err = conn.Ping(pctx)
				cancel()
			}
		}
	}
}
