// An HTTPS server and client of net/http for tests/e2e/test_gotls.py: HTTP/2
// is negotiated unless -h1 forces HTTP/1.1. Each side writes its TLS secrets
// to -keylog (Config.KeyLogWriter), so a capture of the run decrypts to the
// exact plaintext each side wrote and read, with no help from plainsight.
//
//	https server -cert CERT.pem -keylog FILE -port N [-h1]   prints "port N", serves until killed
//	https client -cert CERT.pem -keylog FILE -port N -sizes 1,102400 [-h1]
//	https load -cert CERT.pem -port N -count N -workers W -stop FILE [-h1]
//	https unix -cert CERT.pem -dir DIR -sizes N
//
// load posts 100-byte bodies from W goroutines, until it has made -count
// requests and FILE exists; it fails at the first request not answered
// right, and prints "ok N requests" at the end.
//
// unix is a TLS client and server of one process over a unix socket in DIR,
// not TCP: the client writes body(N, 3), the server reads it and writes it
// back, the client checks it and prints "ok".
//
// POST /echo?size=N: the server reads the request body and answers N bytes.
// Bodies are a pattern the client checks (body(i) below).
package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"math/big"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// body is n bytes of a pattern that differs per size and byte, so a misplaced
// chunk shows.
func body(n int, salt byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + (i*7+int(salt)+i/251)%26)
	}
	return b
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "https: "+format+"\n", args...)
	os.Exit(1)
}

func keylog(path string) io.Writer {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0600)
	if err != nil {
		fail("%v", err)
	}
	return f
}

// selfSigned makes a certificate for 127.0.0.1 and writes it (PEM) to path.
func selfSigned(path string) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		fail("%v", err)
	}
	tmpl := x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, &key.PublicKey, key)
	if err != nil {
		fail("%v", err)
	}
	if err := ioutil.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0644); err != nil {
		fail("%v", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func server(certPath, keylogPath string, port int, h1 bool) {
	cfg := &tls.Config{Certificates: []tls.Certificate{selfSigned(certPath)}, KeyLogWriter: keylog(keylogPath)}
	if !h1 {
		cfg.NextProtos = []string{"h2", "http/1.1"}
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		fail("%v", err)
	}
	srv := &http.Server{TLSConfig: cfg, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := ioutil.ReadAll(r.Body)
		size, _ := strconv.Atoi(r.URL.Query().Get("size"))
		if err != nil || !bytes.Equal(in, body(len(in), 1)) {
			http.Error(w, "bad request body", 400)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(body(size, 2))
	})}
	if h1 {
		srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	}
	fmt.Printf("port %d\n", ln.Addr().(*net.TCPAddr).Port)
	os.Stdout.Sync()
	fail("%v", srv.ServeTLS(ln, "", ""))
}

func transport(certPath string, kl io.Writer, h1 bool, conns int) *http.Transport {
	pemBytes, err := ioutil.ReadFile(certPath)
	if err != nil {
		fail("%v", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool, KeyLogWriter: kl},
		ForceAttemptHTTP2: !h1,
		MaxConnsPerHost:   conns,
	}
	if h1 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return tr
}

// post sends body(n, 1) and checks that body(n, 2) comes back; it returns the protocol.
func post(c *http.Client, port, n int) string {
	url := fmt.Sprintf("https://127.0.0.1:%d/echo?size=%d", port, n)
	resp, err := c.Post(url, "application/octet-stream", bytes.NewReader(body(n, 1)))
	if err != nil {
		fail("%v", err)
	}
	got, err := ioutil.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !bytes.Equal(got, body(n, 2)) {
		fail("size %d: status %d, %d bytes back, err %v", n, resp.StatusCode, len(got), err)
	}
	return resp.Proto
}

func client(certPath, keylogPath string, port int, sizes string, h1 bool) {
	tr := transport(certPath, keylog(keylogPath), h1, 1)
	c := &http.Client{Transport: tr}
	for _, s := range strings.Split(sizes, ",") {
		n, _ := strconv.Atoi(s)
		fmt.Printf("ok %d %s\n", n, post(c, port, n))
	}
	tr.CloseIdleConnections()
}

func load(certPath string, port, count, workers int, stop string, h1 bool) {
	c := &http.Client{Transport: transport(certPath, nil, h1, workers)}
	var made int64
	done := make(chan bool)
	for w := 0; w < workers; w++ {
		go func() {
			for {
				if atomic.LoadInt64(&made) >= int64(count) {
					if _, err := os.Stat(stop); err == nil {
						done <- true
						return
					}
				}
				post(c, port, 100)
				atomic.AddInt64(&made, 1)
			}
		}()
	}
	for w := 0; w < workers; w++ {
		<-done
	}
	fmt.Printf("ok %d requests\n", atomic.LoadInt64(&made))
}

func unixPair(certPath, dir string, n int) {
	path := dir + "/tls.sock"
	ln, err := net.Listen("unix", path)
	if err != nil {
		fail("%v", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{selfSigned(certPath)}}
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		s := tls.Server(c, cfg)
		buf := make([]byte, n)
		if _, err = io.ReadFull(s, buf); err == nil {
			_, err = s.Write(buf)
		}
		served <- err
	}()
	raw, err := net.Dial("unix", path)
	if err != nil {
		fail("%v", err)
	}
	c := tls.Client(raw, &tls.Config{InsecureSkipVerify: true})
	want := body(n, 3)
	if _, err := c.Write(want); err != nil {
		fail("client write: %v", err)
	}
	got := make([]byte, n)
	if _, err := io.ReadFull(c, got); err != nil {
		fail("client read: %v", err)
	}
	if err := <-served; err != nil {
		fail("server: %v", err)
	}
	if !bytes.Equal(got, want) {
		fail("the echo differs from what was sent")
	}
	fmt.Println("ok")
}

func main() {
	fs := flag.NewFlagSet("https", flag.ExitOnError)
	cert := fs.String("cert", "", "certificate PEM (written by the server, read by the client)")
	kl := fs.String("keylog", "", "SSLKEYLOGFILE to append to")
	h1 := fs.Bool("h1", false, "HTTP/1.1 only")
	port := fs.Int("port", 0, "the server's port (0: any, for the server)")
	sizes := fs.String("sizes", "1", "request and response body sizes, one request each (client)")
	count := fs.Int("count", 10000, "requests at least (load)")
	workers := fs.Int("workers", 4, "goroutines posting (load)")
	stop := fs.String("stop", "", "stop once this file exists (load)")
	dir := fs.String("dir", "", "where the unix socket goes (unix)")
	if len(os.Args) < 2 {
		fail("usage: https server|client [flags]")
	}
	fs.Parse(os.Args[2:])
	switch os.Args[1] {
	case "server":
		server(*cert, *kl, *port, *h1)
	case "client":
		client(*cert, *kl, *port, *sizes, *h1)
	case "load":
		load(*cert, *port, *count, *workers, *stop, *h1)
	case "unix":
		n, err := strconv.Atoi(*sizes)
		if err != nil {
			fail("-sizes: %v", err)
		}
		unixPair(*cert, *dir, n)
	default:
		fail("unknown mode %q", os.Args[1])
	}
}
