package kernel

import "errors"

// ErrTooLong is returned for payloads over 255 bytes.
var ErrTooLong = errors.New("beacon: payload longer than 255 bytes")
