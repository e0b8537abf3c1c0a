package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/localca"
	"github.com/handoffmed/handoff/platform/natsauth"
)

// natsBus is serve's NATS: the embedded server (or the external one's
// URL), the identities, and one connection per role.
type natsBus struct {
	url     string
	ns      *server.Server // embedded, else nil
	keys    natsauth.Keys
	secured bool // the roles authenticate with keys of keys.Dir
	creds   string
	tls     *localca.Files // client TLS for an external NATS
	conns   []*nats.Conn
	buses   map[natsauth.Role]*bus.Bus

	storeKeyFile string
	storeKeyMade bool
}

// startBus starts the embedded NATS (locked down: one nkey user per role,
// TLS when tls has a certificate, storage encrypted) or prepares the
// connections to the external one.
func (c serveConfig) startBus(ctx context.Context, log *slog.Logger, tls localca.Files) (*natsBus, error) {
	nb := &natsBus{buses: map[natsauth.Role]*bus.Bus{}, creds: c.NATSCreds}
	if c.NATSURL != "" {
		nb.url = c.NATSURL
		if c.NATSKeys != "" {
			nb.keys, nb.secured = natsauth.Keys{Dir: c.NATSKeys}, true
		}
		if c.NATSCA != "" || c.NATSCert != "" {
			nb.tls = &localca.Files{CA: c.NATSCA, Cert: c.NATSCert, Key: c.NATSKey}
		}
		return nb, nil
	}
	nb.keys, nb.secured = natsauth.Keys{Dir: filepath.Join(c.Data, "nats-keys")}, true
	if err := nb.keys.Generate(); err != nil {
		return nil, err
	}
	nk, users, err := nb.keys.ServerAuth(natsauth.Options{BucketSubject: c.BucketSubject})
	if err != nil {
		return nil, err
	}
	key, file, made, err := c.storeKey()
	if err != nil {
		return nil, err
	}
	nb.storeKeyFile, nb.storeKeyMade = file, made
	host, port, err := splitPort(c.NATSAddr)
	if err != nil {
		return nil, err
	}
	opts := &server.Options{
		ServerName: "handoff", Host: host, Port: port, JetStream: true, StoreDir: filepath.Join(c.Data, "nats"),
		NoSigs: true, NoLog: true, MaxPayload: 8 << 20,
		// Nobody connects without a role's credentials.
		Nkeys: nk, Users: users,
		JetStreamKey: key, JetStreamCipher: server.AES,
	}
	if tls.Cert != "" {
		tc, err := localca.ServerTLS(tls.Cert, tls.Key)
		if err != nil {
			return nil, err
		}
		opts.TLSConfig, opts.TLS, opts.TLSTimeout = tc, true, 5
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("nats: not ready")
	}
	nb.ns, nb.url = ns, ns.ClientURL()
	if tls.Cert != "" {
		nb.url = strings.Replace(nb.url, "nats://", "tls://", 1)
	}
	return nb, nil
}

func splitPort(addr string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("nats address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return "", 0, fmt.Errorf("nats address %q: %w", addr, err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port, nil
}

// connect opens a connection as role.
func (nb *natsBus) connect(ctx context.Context, log *slog.Logger, role natsauth.Role) (*nats.Conn, error) {
	o := bus.ConnectOptions{Name: "handoff-" + string(role), InboxPrefix: natsauth.InboxPrefix(role)}
	if nb.ns != nil {
		o.InProcess = nb.ns
	} else {
		o.URL, o.Creds = nb.url, nb.creds
		if nb.tls != nil {
			tc, err := localca.ClientTLS(nb.tls.CA)
			if err != nil {
				return nil, err
			}
			if nb.tls.Cert != "" {
				pair, err := tls.LoadX509KeyPair(nb.tls.Cert, nb.tls.Key)
				if err != nil {
					return nil, fmt.Errorf("nats client certificate: %w", err)
				}
				tc.Certificates = []tls.Certificate{pair}
			}
			o.TLS = tc
		}
	}
	switch {
	case role == natsauth.S3 && nb.secured:
		// The notification sender's password (the role of MinIO's and
		// versitygw's own connections).
		pass, err := nb.keys.S3Password()
		if err != nil {
			return nil, err
		}
		o.User, o.Password = natsauth.S3User, pass
		o.InboxPrefix = ""
	case nb.secured:
		o.NKeySeedFile = nb.keys.SeedFile(role)
	}
	nc, err := bus.Connect(ctx, o, log)
	if err != nil {
		return nil, fmt.Errorf("nats as %s: %w", role, err)
	}
	nb.conns = append(nb.conns, nc)
	return nc, nil
}

// roleBus returns the bus of role, connecting once.
func (nb *natsBus) roleBus(ctx context.Context, log *slog.Logger, m *bus.Metrics, role natsauth.Role) (*bus.Bus, error) {
	if b := nb.buses[role]; b != nil {
		return b, nil
	}
	nc, err := nb.connect(ctx, log, role)
	if err != nil {
		return nil, err
	}
	b, err := bus.New(nc, "/handoff/"+string(role), log, bus.Options{Metrics: m})
	if err != nil {
		return nil, err
	}
	nb.buses[role] = b
	return b, nil
}

// setup creates the streams and the case store as the administrator, when
// this process holds that identity (embedded, an open NATS, or a keys
// directory with admin.nk); otherwise a set-up job did it.
func (nb *natsBus) setup(ctx context.Context, log *slog.Logger, m *bus.Metrics, c serveConfig) error {
	if nb.secured && !nb.keys.Has(natsauth.Admin) {
		log.Info("nats set-up left to the administrator: no admin key here")
		return nil
	}
	b, err := nb.roleBus(ctx, log, m, natsauth.Admin)
	if err != nil {
		return err
	}
	if err := b.Setup(ctx, bus.Topology{BucketSubject: c.BucketSubject, Replicas: c.Replicas, AuditMaxAge: c.AuditMaxAge}); err != nil {
		return err
	}
	_, err = casestore.Open(ctx, b.JetStream(), casestore.Options{Replicas: c.Replicas})
	return err
}

// ready reports whether every connection is up.
func (nb *natsBus) ready() error {
	for _, nc := range nb.conns {
		if !nc.IsConnected() {
			return fmt.Errorf("%s: not connected", nc.Opts.Name)
		}
	}
	return nil
}

func (nb *natsBus) close() {
	for _, nc := range nb.conns {
		nc.Close()
	}
	if nb.ns != nil {
		nb.ns.Shutdown()
	}
}

// storeKey is the key that encrypts the embedded NATS's storage: from the
// environment, from --nats-store-key's file, or from a file made once in
// the user's configuration directory (never in the data directory it
// protects), named by the data directory's ID.
func (c serveConfig) storeKey() (key, file string, made bool, err error) {
	if c.NATSStoreKey != "" {
		return c.NATSStoreKey, "", false, nil
	}
	file = c.NATSStoreKeyFile
	if file == "" {
		id, err := dataID(c.Data)
		if err != nil {
			return "", "", false, err
		}
		dir, err := os.UserConfigDir()
		if err != nil {
			return "", "", false, fmt.Errorf("nats storage key: no configuration directory (set HANDOFF_NATS_STORE_KEY_FILE): %w", err)
		}
		file = filepath.Join(dir, "handoff", "keys", id+".key")
	}
	if b, err := os.ReadFile(file); err == nil {
		if k := strings.TrimSpace(string(b)); len(k) >= 32 {
			return k, file, false, nil
		}
		return "", "", false, fmt.Errorf("nats storage key %s: too short", file)
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", "", false, fmt.Errorf("nats storage key: %w", err)
	}
	// Encrypted streams keep their (wrapped) key beside them: without the
	// storage key they cannot be read, and a new key would not help.
	if keys, _ := filepath.Glob(filepath.Join(c.Data, "nats", "jetstream", "*", "streams", "*", "meta.key")); len(keys) > 0 {
		return "", "", false, fmt.Errorf("nats storage key %s is missing, and the data directory's storage is encrypted with it: restore the key", file)
	}
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	key = hex.EncodeToString(raw[:])
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return "", "", false, fmt.Errorf("nats storage key: %w", err)
	}
	if err := os.WriteFile(file, []byte(key+"\n"), 0o600); err != nil {
		return "", "", false, fmt.Errorf("nats storage key: %w", err)
	}
	return key, file, true, nil
}

// dataID is the data directory's random ID, made once: it names the
// directory's storage key elsewhere.
func dataID(data string) (string, error) {
	p := filepath.Join(data, "id")
	if b, err := os.ReadFile(p); err == nil && len(strings.TrimSpace(string(b))) >= 16 {
		return strings.TrimSpace(string(b)), nil
	}
	var raw [12]byte
	_, _ = rand.Read(raw[:])
	id := hex.EncodeToString(raw[:])
	if err := os.WriteFile(p, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("data directory ID: %w", err)
	}
	return id, nil
}

// tlsFiles are the certificate files serve presents: made by the local CA
// (--tls auto), given (--tls cert), or none.
func (c serveConfig) tlsFiles() (localca.Files, error) {
	switch c.TLS {
	case "auto":
		hosts := []string{"localhost", "127.0.0.1", "::1"}
		if h, err := os.Hostname(); err == nil {
			hosts = append(hosts, h)
		}
		for _, addr := range []string{c.HTTP, c.S3Addr, c.NATSAddr} {
			if h, _, err := net.SplitHostPort(addr); err == nil && h != "" && h != "0.0.0.0" && h != "::" {
				hosts = append(hosts, h)
			}
		}
		return localca.Ensure(filepath.Join(c.Data, "tls"), hosts)
	case "cert":
		return localca.Files{Cert: c.TLSCert, Key: c.TLSKey}, nil
	}
	return localca.Files{}, nil
}
