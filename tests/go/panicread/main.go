// A TLS client and server in one process for tests/e2e/test_faults.py: a
// call into crypto/tls's (*Conn).Read that never returns through a RET. The
// client's first connection reads through a net.Conn whose Read panics, so
// the panic unwinds (*Conn).Read (in the handshake it starts with) and the
// client recovers; the same goroutine
// then makes a second connection, writes -send bytes of FILE and reads
// -recv bytes, which the server answers from -answer.
//
//	panicread -cert CERT.pem -key KEY.pem -send FILE -answer FILE
//
// Prints "port N" once listening, "recovered" after the panic, and
// "done LOCALPORT" once the second exchange is complete and the server's
// reads have all returned.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sync"
)

// panicking is a net.Conn whose Read panics: the caller's call is left by unwinding.
type panicking struct{ net.Conn }

func (p panicking) Read(b []byte) (int, error) { panic("the connection's Read panics") }

// serve answers both connections; done once its reads have all returned (the
// process must not end inside one: that call would be interrupted too).
func serve(ln net.Listener, cfg *tls.Config, want int, answer []byte, done *sync.WaitGroup) {
	defer done.Done()
	// the first connection: the client gives up on it inside the handshake
	first, err := ln.Accept()
	if err != nil {
		log.Fatal(err)
	}
	done.Add(1)
	go func() {
		defer done.Done()
		c := tls.Server(first, cfg)
		io.Copy(io.Discard, c)
		c.Close()
	}()
	second, err := ln.Accept()
	if err != nil {
		log.Fatal(err)
	}
	c := tls.Server(second, cfg)
	got := make([]byte, want)
	if _, err := io.ReadFull(c, got); err != nil {
		log.Fatal("server: ", err)
	}
	if _, err := c.Write(answer); err != nil {
		log.Fatal("server: ", err)
	}
	io.Copy(io.Discard, c)
	c.Close()
}

func readPanicking(conn *tls.Conn) {
	defer func() {
		if recover() != nil {
			fmt.Println("recovered")
		}
	}()
	conn.Read(make([]byte, 16))
}

func main() {
	certFile := flag.String("cert", "", "certificate (PEM)")
	keyFile := flag.String("key", "", "key (PEM)")
	sendFile := flag.String("send", "", "what the client sends")
	answerFile := flag.String("answer", "", "what the server answers")
	flag.Parse()
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatal(err)
	}
	send, err := os.ReadFile(*sendFile)
	if err != nil {
		log.Fatal(err)
	}
	answer, err := os.ReadFile(*answerFile)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("port", ln.Addr().(*net.TCPAddr).Port)
	var served sync.WaitGroup
	served.Add(1)
	go serve(ln, &tls.Config{Certificates: []tls.Certificate{cert}}, len(send), answer, &served)
	client := &tls.Config{InsecureSkipVerify: true}

	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	// (*Conn).Read begins with the handshake, whose first read panics
	readPanicking(tls.Client(panicking{raw}, client))
	raw.Close()

	conn, err := tls.Dial("tcp", ln.Addr().String(), client)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := conn.Write(send); err != nil {
		log.Fatal(err)
	}
	got := make([]byte, len(answer))
	if _, err := io.ReadFull(conn, got); err != nil {
		log.Fatal(err)
	}
	port := conn.LocalAddr().(*net.TCPAddr).Port
	conn.Close()
	served.Wait()
	fmt.Println("done", port)
}
