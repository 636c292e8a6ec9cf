package shop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tixgate/tixgate/ticket/strict"
)

// Every route of the box office is in docs/openapi.yaml, with its method,
// and the document names no shop path the API does not serve.
func TestOpenAPICoversRoutes(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := strict.YAML(data, &doc); err != nil {
		t.Fatal(err)
	}
	paths := map[string]map[string]any{}
	for p, ops := range doc["paths"].(map[string]any) {
		paths[p] = ops.(map[string]any)
	}
	served := map[string]bool{}
	for _, rt := range (&Shop{}).routes() {
		p := PathPrefix + rt.path
		served[strings.ToLower(rt.method)+" "+p] = true
		if _, ok := paths[p][strings.ToLower(rt.method)]; !ok {
			t.Errorf("%s %s is not in docs/openapi.yaml", rt.method, p)
		}
	}
	for p, ops := range paths {
		if !strings.HasPrefix(p, PathPrefix) {
			continue
		}
		for m := range ops {
			if !served[m+" "+p] {
				t.Errorf("docs/openapi.yaml has %s %s, which the shop does not serve", m, p)
			}
		}
	}
}
