package escalation

import (
	"net/http"
	"slices"
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
