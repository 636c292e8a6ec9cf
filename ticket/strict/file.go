package strict

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
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
		return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return nil
}
