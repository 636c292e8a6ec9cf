package password

import (
	"errors"
	"strings"
	"testing"
)

func TestHashCheck(t *testing.T) {
	h, err := Hash("correct horse", Cheap)
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash %q, %v", h, err)
	}
	if h2, _ := Hash("correct horse", Cheap); h2 == h {
		t.Error("two hashes of one password share a salt")
	}
	if ok, err := Check("correct horse", h); !ok || err != nil {
		t.Errorf("the right password: %v %v", ok, err)
	}
	if ok, err := Check("correct horsf", h); ok || err != nil {
		t.Errorf("a wrong password: %v %v", ok, err)
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=1024,t=1,p=1$!!$aGFzaA"} {
		if ok, err := Check("x", bad); ok || !errors.Is(err, ErrBadHash) {
			t.Errorf("%q: %v %v", bad, ok, err)
		}
	}
}
