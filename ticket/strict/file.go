package strict

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
	"gopkg.in/yaml.v3"
)

// File decodes a configuration file's contents by its name's extension:
// .toml, .yaml or .yml. Unknown and repeated keys are errors.
func File(name string, data []byte, v any) error {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".toml":
		return TOML(data, v)
	case ".yaml", ".yml":
		return YAML(data, v)
	}
	return fmt.Errorf("%s: want a .toml, .yaml or .yml file", name)
}

// TOML decodes a TOML document, refusing keys v does not have.
func TOML(data []byte, v any) error {
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(v)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return fmt.Errorf("line %d: %s", pe.Position.Line, pe.Message)
		}
		return err
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return fmt.Errorf("unknown key %s", strings.Join(keys, ", "))
	}
	return nil
}

// YAML decodes one YAML document, refusing keys v does not have (yaml.v3
// refuses repeated keys itself).
func YAML(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty document")
		}
		return errors.New(yamlWords(strings.TrimPrefix(err.Error(), "yaml: ")))
	}
	return nil
}

var (
	yamlUnknown = regexp.MustCompile(`field (\S+) not found in type \S+`)
	yamlType    = regexp.MustCompile("cannot unmarshal !!(\\w+) `([^`]*)` into (\\S+)")
)

// yamlWords says yaml.v3's errors without Go type names: "field x not
// found in type pkg.T" is an unknown key, "cannot unmarshal !!str `two`
// into int" a value of the wrong kind.
func yamlWords(msg string) string {
	msg = yamlUnknown.ReplaceAllString(msg, "unknown key $1")
	return yamlType.ReplaceAllStringFunc(msg, func(m string) string {
		p := yamlType.FindStringSubmatch(m)
		want := p[3]
		switch {
		case strings.Contains(want, "int") || strings.Contains(want, "float"):
			want = "a number"
		case want == "bool":
			want = "true or false"
		case strings.HasPrefix(want, "[]"):
			want = "a list"
		case strings.HasPrefix(want, "map") || strings.Contains(want, "."):
			want = "a mapping of keys"
		case want == "string":
			want = "text"
		case strings.Contains(want, "Duration"):
			want = "a duration such as 90s or 5m"
		}
		return fmt.Sprintf("%q is not %s", p[2], want)
	})
}
