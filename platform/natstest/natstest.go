// Package natstest starts real NATS servers with JetStream for tests.
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Server is an in-process NATS server with JetStream.
type Server struct {
	*server.Server
	dir string
}

// Start starts a NATS server with JetStream on a free port, storing under a
// test temp dir, and shuts it down when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartDir(t, t.TempDir(), -1)
}

// StartDir starts a server storing under dir on port (-1: any free port);
// starting it again on the same dir resumes its streams.
func StartDir(t testing.TB, dir string, port int) *Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{
		Host:      "127.0.0.1",
		Port:      port,
		JetStream: true,
		StoreDir:  dir,
		NoLog:     true,
		NoSigs:    true,
	})
	if err != nil {
		t.Fatalf("nats server: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(s.Shutdown)
	return &Server{Server: s, dir: dir}
}

// Conn connects to the server in-process and closes the connection when the
// test ends.
func (s *Server) Conn(t testing.TB) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect("", nats.InProcessServer(s.Server))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// URL is the server's client URL, for clients in other processes.
func (s *Server) URL() string { return s.ClientURL() }
