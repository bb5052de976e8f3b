// Command gitserver is the e2e's Git server over SSH: it serves the bare repositories under
// -repos on -listen (loopback only), presents the ed25519 host key in -host-key and accepts only
// the public keys listed in -authorized-keys. It shells out to git-upload-pack/git-receive-pack
// (github.com/fluxcd/gitkit v0.6.0, ssh.go), so Git must be on PATH.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/fluxcd/gitkit"
	"golang.org/x/crypto/ssh"
)

func main() {
	listen := flag.String("listen", "", "address to listen on, host:port on loopback (required)")
	repos := flag.String("repos", "", "directory holding the bare repositories (required)")
	hostKey := flag.String("host-key", "", "OpenSSH ed25519 private host key file (required)")
	authorized := flag.String("authorized-keys", "", "authorized_keys file: the only client keys accepted (required)")
	flag.Parse()
	if err := run(*listen, *repos, *hostKey, *authorized); err != nil {
		log.Fatalf("gitserver: %v", err)
	}
}

func run(listen, repos, hostKey, authorized string) error {
	if listen == "" || repos == "" || hostKey == "" || authorized == "" {
		return errors.New("-listen, -repos, -host-key and -authorized-keys are all required")
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("-listen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-listen %q: must be a loopback IP address", listen)
	}
	keyBytes, err := os.ReadFile(hostKey)
	if err != nil {
		return err
	}
	signer, err := ssh.ParsePrivateKey(keyBytes)
	if err != nil {
		return fmt.Errorf("-host-key: %w", err)
	}
	if t := signer.PublicKey().Type(); t != ssh.KeyAlgoED25519 {
		return fmt.Errorf("-host-key: want an ssh-ed25519 key, got %s", t)
	}
	allowed, err := readAuthorizedKeys(authorized)
	if err != nil {
		return fmt.Errorf("-authorized-keys: %w", err)
	}
	// gitkit loads the host key from <KeyDir>/gitkit.rsa whatever its type and generates an RSA
	// key there when the file is missing; a private key dir holding our ed25519 key avoids that.
	keyDir, err := os.MkdirTemp("", "gitserver-hostkey-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(keyDir)
	if err := os.WriteFile(filepath.Join(keyDir, "gitkit.rsa"), keyBytes, 0o600); err != nil {
		return err
	}
	srv := gitkit.NewSSH(gitkit.Config{Dir: repos, KeyDir: keyDir, Auth: true})
	srv.PublicKeyLookupFunc = func(line string) (*gitkit.PublicKey, error) {
		pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, err
		}
		id, ok := allowed[string(pk.Marshal())]
		if !ok {
			log.Printf("refused client key %s", ssh.FingerprintSHA256(pk))
			return nil, errors.New("public key not authorized")
		}
		return &gitkit.PublicKey{Id: id}, nil
	}
	if err := srv.Listen(listen); err != nil {
		return err
	}
	log.Printf("serving %s on %s with host key %s", repos, srv.Address(), ssh.FingerprintSHA256(signer.PublicKey()))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() { <-sig; _ = srv.Stop() }()
	if err := srv.Serve(); err != nil && !strings.Contains(err.Error(), "use of closed network connection") {
		return err
	}
	return nil
}

// readAuthorizedKeys maps each key's wire form to its comment (or fingerprint) as the key id.
func readAuthorizedKeys(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	keys := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		pk, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, err
		}
		if comment == "" {
			comment = ssh.FingerprintSHA256(pk)
		}
		keys[string(pk.Marshal())] = comment
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, errors.New("no keys")
	}
	return keys, nil
}
