package widget

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/labstack/echo/v4"
)

// writeTimeout bounds one frame write: a visitor whose connection stalls
// longer is dropped, and reconnects to resume.
const writeTimeout = 10 * time.Second

// hardLimit is how far past MaxFrameBytes the server reads a frame in
// order to answer too_large and carry on. Past it, coder/websocket closes
// the connection with 1009 (message too big): no visitor types that much,
// and reading megabytes to discard them would be the attacker's win.
func hardLimit(maxFrame int) int64 { return max(64<<10, 8*int64(maxFrame)) }

// handleWS upgrades a visitor's request to the WebSocket of docs/protocol.md
// and serves it until either side closes or the server shuts down.
func (w *Widget) handleWS(c echo.Context) error {
	r := c.Request()
	origin := r.Header.Get("Origin")
	if !w.origins.allows(origin, r.Host) {
		w.log.Warn("websocket origin refused", "origin", origin)
		return echo.NewHTTPError(http.StatusForbidden,
			"This site may not open the Bulle assistant: add its origin to widget.allowed_origins.")
	}
	if !w.enter() {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "Shutting down; try again in a moment.")
	}
	conn, err := websocket.Accept(c.Response(), r, &websocket.AcceptOptions{OriginPatterns: w.origins.patterns()})
	if err != nil {
		w.conns.Done()
		// Accept has written the response (426 for a request that is not a
		// WebSocket handshake, 403 for an origin).
		w.log.Debug("websocket accept", "err", err)
		return nil
	}
	go func() {
		defer w.conns.Done()
		w.serve(context.Background(), conn, origin)
	}()
	return nil
}

// serve runs one connection: a read loop that hands frames to a Session,
// and a goroutine that flushes messages other tabs of the conversation
// stored. ctx is the request's: the server cancels it on shutdown.
func (w *Widget) serve(ctx context.Context, conn *websocket.Conn, origin string) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// On shutdown (the server's base context, or Shutdown), say goodbye
	// with 1001 so the bubble reconnects later, instead of cutting the TCP
	// connection.
	var goingAway = make(chan struct{})
	stopShutdown := context.AfterFunc(w.stopping, cancel)
	defer stopShutdown()
	stopClose := context.AfterFunc(ctx, func() {
		close(goingAway)
		conn.Close(websocket.StatusGoingAway, "server shutting down")
	})
	defer stopClose()
	// Reads use a context that shutdown does not cancel: a cancelled read
	// context makes coder/websocket drop the TCP connection at once, before
	// the close handshake above can say why.
	readCtx := context.WithoutCancel(ctx)

	conn.SetReadLimit(hardLimit(w.opt.MaxFrameBytes))
	send := func(ctx context.Context, v any) error {
		ctx, cancel := context.WithTimeout(ctx, writeTimeout)
		defer cancel()
		return wsjson.Write(ctx, conn, v)
	}
	var here int64 // the conversation this socket counts for, from its hello (abandon.go)
	defer func() { w.absent.leave(here) }()
	s := w.NewSession(origin, send)
	defer s.Close() // after cancel, below: flushes under way fail fast
	s.Start(ctx, cancel)
	defer cancel()

	for {
		in, err := w.read(readCtx, conn)
		if err != nil {
			w.logClose(err, goingAway)
			return
		}
		if err := s.Handle(ctx, in); err != nil {
			if errors.Is(err, errFlood) {
				w.log.Warn("websocket closed: flooding past the rate limit")
				conn.Close(websocket.StatusPolicyViolation, "too many frames")
			}
			return
		}
		if here == 0 {
			if c := s.conversation(); c != nil {
				here = c.ID
				w.absent.arrive(here)
			}
		}
	}
}

// read returns the next frame. A frame over MaxFrameBytes (and under the
// hard limit) is read to its end and discarded, and reported Oversize, so
// the visitor gets too_large and the connection goes on.
func (w *Widget) read(ctx context.Context, conn *websocket.Conn) (Input, error) {
	typ, r, err := conn.Reader(ctx)
	if err != nil {
		return Input{}, err
	}
	max := int64(w.opt.MaxFrameBytes)
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return Input{}, err
	}
	in := Input{Data: data, Binary: typ == websocket.MessageBinary, At: time.Now()}
	if int64(len(data)) > max {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return Input{}, err // past the hard limit: the library closed with 1009
		}
		in.Data, in.Oversize = nil, true
	}
	return in, nil
}

// logClose logs how a connection ended; normal closes are not errors.
func (w *Widget) logClose(err error, goingAway <-chan struct{}) {
	select {
	case <-goingAway:
		return // shutdown
	default:
	}
	switch websocket.CloseStatus(err) {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway, websocket.StatusNoStatusRcvd:
		return
	}
	if errors.Is(err, websocket.ErrMessageTooBig) {
		w.log.Info("websocket closed: frame over the hard limit")
		return
	}
	if errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) {
		return
	}
	w.log.Debug("websocket ended", "err", err)
}
