package console

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/labstack/echo/v4"
)

// StatusSessionEnded closes a console socket whose session ended (signed
// out, expired, password reset, agent removed): the page should not
// reconnect but go back to sign-in.
const StatusSessionEnded = websocket.StatusCode(4001)

// writeTimeout bounds one frame write: a console whose connection stalls
// longer is dropped and reconnects.
const writeTimeout = 10 * time.Second

// presenceFrame is what the socket sends: the agent's presence, when it
// changes and every PingEvery.
type presenceFrame struct {
	Type   string `json:"type"`   // "presence"
	Status string `json:"status"` // "online" or "away"
	At     string `json:"at"`     // RFC 3339, UTC
}

// events serves GET /console/events?csrf=…, the console socket. The
// handshake needs a live session cookie, an Origin of this site (the
// library alone would also let a request with no Origin through), and
// the session's CSRF token: a page of another site can open none. While
// it is open the agent counts as online. Today it only carries presence;
// live chat will add its frames.
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
	c.serveSocket(conn, sock)
	return nil
}

// serveSocket sends presence until the client leaves or the socket's
// context ends, then closes with the status that says why.
func (c *Console) serveSocket(conn *websocket.Conn, sock *Socket) {
	ctx := sock.Context()
	// The client sends nothing yet; CloseRead answers pings and closes,
	// and ends readDone when the client goes. It reads with a context
	// that ctx's end does not cancel: a cancelled read drops the TCP
	// connection at once, before the close below can say why.
	readDone := conn.CloseRead(context.WithoutCancel(ctx))
	send := func() error {
		status := "online"
		if !c.sessions.Online(sock.AgentID) {
			status = "away"
		}
		// Not cancelled by ctx either: a write cut short closes the
		// connection without a status.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
		defer cancel()
		return wsjson.Write(wctx, conn, presenceFrame{Type: "presence", Status: status, At: time.Now().UTC().Format(time.RFC3339)})
	}
	ping := time.NewTicker(c.opt.PingEvery)
	defer ping.Stop()
	for err := send(); ; {
		if err != nil {
			c.log.Debug("console socket write", "agent_id", sock.AgentID, "err", err)
			conn.CloseNow()
			return
		}
		select {
		case <-readDone.Done():
			return // the client closed (or sent a frame, which CloseRead refuses)
		case <-ctx.Done():
			if context.Cause(ctx) == ErrSessionEnded {
				c.log.Info("console socket closed: session ended", "agent_id", sock.AgentID, "session_id", sock.SessionID)
				conn.Close(StatusSessionEnded, "session ended")
			} else {
				conn.Close(websocket.StatusGoingAway, "server shutting down")
			}
			return
		case <-sock.Changed():
			err = send()
		case <-ping.C:
			err = send()
		}
	}
}
