// A TLS server or client on Node.js's own tls module, for the version tests
// (test_versions.py). Written for every Node.js from 8 on: no syntax newer
// than 8 knows (no ?., ??, class fields).
//
//   node node_peer.js server CERT KEY RECV_BYTES SEND_FILE OUT_FILE
//       Listens on 127.0.0.1 (free port) and prints {"port": P, "pid": ...}.
//       Takes one connection: reads exactly RECV_BYTES into OUT_FILE, then
//       sends SEND_FILE's content, then waits for the client to close.
//       Prints {"local": [...], "peer": [...], "protocol": ...} and exits 0.
//   node node_peer.js client PORT SEND_FILE RECV_BYTES OUT_FILE
//       Connects, sends SEND_FILE, reads exactly RECV_BYTES into OUT_FILE,
//       prints {"local": [...], "peer": [...], "protocol": ..., "pid": ...},
//       closes and exits 0.
// Anything unexpected: a line on stderr and exit status 1; a 60 s timer
// bounds the whole run.
'use strict';

var fs = require('fs');
var tls = require('tls');

var TIMEOUT_MS = 60000;

function say(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function die(msg) {
  process.stderr.write('node_peer: ' + msg + '\n');
  process.exit(1);
}

var timer = setTimeout(function () { die('timed out after ' + TIMEOUT_MS + ' ms'); }, TIMEOUT_MS);

// Collects exactly n bytes from a stream, then calls done(buffer).
function collect(sock, n, done) {
  var chunks = [];
  var got = 0;
  var finished = false;
  function check() {
    if (!finished && got >= n) {
      finished = true;
      var all = Buffer.concat(chunks, got);
      if (got > n) die('peer sent ' + got + ' bytes, expected ' + n);
      done(all);
    }
  }
  sock.on('data', function (d) {
    chunks.push(d);
    got += d.length;
    check();
  });
  sock.on('end', function () {
    if (!finished) die('peer closed after ' + got + ' of ' + n + ' bytes');
  });
  check();
}

function info(sock) {
  return {
    local: [sock.localAddress, sock.localPort],
    peer: [sock.remoteAddress, sock.remotePort],
    protocol: sock.getProtocol ? sock.getProtocol() : null,
    pid: process.pid
  };
}

function server(cert, key, recvBytes, sendFile, outFile) {
  var data = fs.readFileSync(sendFile);
  var srv = tls.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, function (sock) {
    srv.close();
    sock.on('error', function (e) { die('server socket: ' + e); });
    collect(sock, recvBytes, function (got) {
      fs.writeFileSync(outFile, got);
      var meta = info(sock);
      sock.write(data, function () {
        // Wait for the client to close: it has then read everything.
        sock.on('end', function () {
          say(meta);
          sock.end();
          clearTimeout(timer);
        });
        sock.resume();
      });
    });
  });
  srv.on('error', function (e) { die('server: ' + e); });
  srv.listen(0, '127.0.0.1', function () {
    say({ port: srv.address().port, pid: process.pid });
  });
}

function client(port, sendFile, recvBytes, outFile) {
  var data = fs.readFileSync(sendFile);
  var sock = tls.connect({ host: '127.0.0.1', port: port, rejectUnauthorized: false }, function () {
    sock.write(data);
    collect(sock, recvBytes, function (got) {
      fs.writeFileSync(outFile, got);
      say(info(sock));
      sock.end();
      clearTimeout(timer);
    });
  });
  sock.on('error', function (e) { die('client: ' + e); });
}

var a = process.argv.slice(2);
if (a[0] === 'server' && a.length === 6) {
  server(a[1], a[2], parseInt(a[3], 10), a[4], a[5]);
} else if (a[0] === 'client' && a.length === 5) {
  client(parseInt(a[1], 10), a[2], parseInt(a[3], 10), a[4]);
} else {
  die('usage: node_peer.js server CERT KEY RECV_BYTES SEND_FILE OUT_FILE | ' +
      'client PORT SEND_FILE RECV_BYTES OUT_FILE');
}
