package storetest

import (
	"net"
	"os"
	"strconv"
	"testing"
)

func TestClusterLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	c, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	a, b := c.NewDatabase(t), c.NewDatabase(t)
	if a == b {
		t.Errorf("two tests share database %s", a)
	}
	conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(c.Port()))
	if err != nil {
		t.Fatalf("server not listening: %v", err)
	}
	conn.Close()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.dir); !os.IsNotExist(err) {
		t.Errorf("cluster directory left behind: %v", err)
	}
	if conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(c.Port())); err == nil {
		conn.Close()
		t.Error("server still listening after Stop")
	}
}
