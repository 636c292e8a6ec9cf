package strict

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// ErrTooLarge is wrapped when the input is longer than allowed.
var ErrTooLarge = errors.New("too large")

// JSON decodes one JSON value from data into v: names are matched exactly,
// duplicate and unknown names are refused.
func JSON(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return errors.New("empty body: want a JSON object")
	}
	if err := json.Unmarshal(data, v, json.RejectUnknownMembers(true)); err != nil {
		return explain(err)
	}
	return nil
}

// ReadJSON reads at most max bytes from r and decodes them as JSON.
func ReadJSON(r io.Reader, max int64, v any) error {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if int64(len(data)) > max {
		return fmt.Errorf("body larger than %d bytes: %w", max, ErrTooLarge)
	}
	return JSON(data, v)
}

// explain turns the decoder's error into a sentence without Go type names.
func explain(err error) error {
	var se *json.SemanticError
	if errors.As(err, &se) {
		where := string(se.JSONPointer)
		if where == "" {
			where = "/"
		}
		if se.Err != nil && errors.Is(se.Err, json.ErrUnknownName) {
			return fmt.Errorf("unknown field at %s", where)
		}
		if se.JSONKind != 0 && se.GoType != nil {
			return fmt.Errorf("bad JSON at %s: wrong type (got %s)", where, kindName(se.JSONKind))
		}
		return fmt.Errorf("bad JSON at %s: %v", where, se.Err)
	}
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		if errors.Is(syn.Err, jsontext.ErrDuplicateName) {
			return fmt.Errorf("duplicate field at %s", syn.JSONPointer)
		}
		return fmt.Errorf("bad JSON at byte %d: %v", syn.ByteOffset, syn.Err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("bad JSON: the body ends too early")
	}
	return fmt.Errorf("bad JSON: %w", err)
}

func kindName(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 'f', 't':
		return "boolean"
	case '"':
		return "string"
	case '0':
		return "number"
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return k.String()
}
