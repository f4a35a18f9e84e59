package escalation

import (
	"errors"
	"fmt"
)

// Error codes, generic enough to map onto HTTP statuses in one place.
const (
	EINTERNAL = "internal"
	EINVALID  = "invalid"
	ENOTFOUND = "not_found"
	ECONFLICT = "conflict"
	ETOOMANY  = "too_many"
	// EUNAUTHORIZED: credentials (a password, a session) were refused.
	EUNAUTHORIZED = "unauthorized"
	// EUNAVAILABLE: the database cannot take a write for now (locked by
	// another program past the busy timeout, a full disk, an I/O error);
	// nothing was stored, and the same request may succeed later.
	EUNAVAILABLE = "unavailable"
)

// Sentinel errors; callers test for them with errors.Is.
var (
	// ErrNotFound means the conversation, ticket or agent asked for does not exist.
	ErrNotFound = errors.New("escalation: not found")
	// ErrConflict means the change clashes with the stored state.
	ErrConflict = errors.New("escalation: conflict")
	// ErrTooMany means the same thing was asked too often; try later.
	ErrTooMany = errors.New("escalation: too many requests")
	// ErrUnauthorized means a password, link or session was refused, without
	// saying which part was wrong.
	ErrUnauthorized = errors.New("escalation: unauthorized")
	// errClosed means the store was closed while a write waited.
	errClosed = errors.New("escalation: store closed")
)

// ValidationError says which input was refused and why, in words that can be
// shown to the person who typed it.
type ValidationError struct {
	Field string
	Msg   string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Msg }

// invalid builds a ValidationError.
func invalid(field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// ErrorCode unwraps err and returns its code; anything unexpected is EINTERNAL.
func ErrorCode(err error) string {
	var ve *ValidationError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ve):
		return EINVALID
	case errors.Is(err, ErrNotFound):
		return ENOTFOUND
	case errors.Is(err, ErrConflict):
		return ECONFLICT
	case errors.Is(err, ErrTooMany):
		return ETOOMANY
	case errors.Is(err, ErrUnauthorized):
		return EUNAUTHORIZED
	case storageFault(err): // store.go
		return EUNAVAILABLE
	}
	return EINTERNAL
}

// ErrorMessage returns the message a user may see. Internal details are
// for the logs only, so they become "Internal error.".
func ErrorMessage(err error) string {
	var ve *ValidationError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ve):
		return ve.Error()
	case errors.Is(err, ErrNotFound):
		return "Not found."
	case errors.Is(err, ErrConflict):
		return "Conflict."
	case errors.Is(err, ErrTooMany):
		return "Too many requests: try again later."
	case errors.Is(err, ErrUnauthorized):
		return "Wrong email or password."
	}
	return "Internal error."
}
