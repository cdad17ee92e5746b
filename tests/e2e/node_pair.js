// Two TLS connections at once over Node.js's tls module, for the memory-BIO
// connection test (test_node.py): which socket each SSL object's plaintext
// belongs to. Written for Node.js 8 and later (no ?., ??, class fields).
//
//   node node_pair.js servers CERT KEY REQ_A RESP_A REQ_B RESP_B
//       Two servers on 127.0.0.1 (free ports); prints {"a": PORT, "b": PORT}.
//       Server X takes one connection, reads exactly the size of REQ_X,
//       checks it against REQ_X, sends RESP_X and waits for the close.
//       Exits 0 once both are done.
//   node node_pair.js client PORT_A PORT_B REQ_A RESP_A REQ_B RESP_B
//       Connects to both ports at once, sends REQ_X on connection X while
//       the other is open, reads exactly RESP_X (checked), and prints
//       {"a": {"local": [...], "peer": [...]}, "b": {...}, "pid": ...},
//       then waits for stdin to close.
// Anything unexpected: a line on stderr and exit status 1; a 60 s timer
// bounds the whole run.
'use strict';

var fs = require('fs');
var tls = require('tls');

var timer = setTimeout(function () { die('timed out after 60 s'); }, 60000);

function die(msg) {
  process.stderr.write('node_pair: ' + msg + '\n');
  process.exit(1);
}

// Calls done() once exactly want.length bytes came, and they are want.
function expect(sock, want, what, done) {
  var chunks = [];
  var got = 0;
  sock.on('data', function (d) {
    chunks.push(d);
    got += d.length;
    if (got > want.length) die(what + ': ' + got + ' bytes, expected ' + want.length);
    if (got === want.length) {
      if (!Buffer.concat(chunks, got).equals(want)) die(what + ': the bytes differ from what was sent');
      done();
    }
  });
  sock.on('end', function () {
    if (got < want.length) die(what + ': closed after ' + got + ' of ' + want.length + ' bytes');
  });
}

// Calls done() after n calls of the function it returns.
function after(n, done) {
  return function () {
    if (--n === 0) done();
  };
}

function servers(cert, key, reqs, resps) {
  var opts = { cert: fs.readFileSync(cert), key: fs.readFileSync(key) };
  var ports = {};
  var finished = after(2, function () {
    clearTimeout(timer);
  });
  var listening = after(2, function () {
    process.stdout.write(JSON.stringify(ports) + '\n');
  });
  ['a', 'b'].forEach(function (x) {
    var srv = tls.createServer(opts, function (sock) {
      srv.close();
      sock.on('error', function (e) { die('server ' + x + ': ' + e); });
      expect(sock, reqs[x], 'server ' + x, function () {
        sock.write(resps[x]);
        sock.on('end', function () {
          sock.end();
          finished();
        });
      });
    });
    srv.on('error', function (e) { die('server ' + x + ': ' + e); });
    srv.listen(0, '127.0.0.1', function () {
      ports[x] = srv.address().port;
      listening();
    });
  });
}

function client(ports, reqs, resps) {
  var result = { pid: process.pid };
  var socks = {};
  var finished = after(2, function () {
    process.stdout.write(JSON.stringify(result) + '\n');
    socks.a.end();
    socks.b.end();
    clearTimeout(timer);
    // Stays until stdin closes: the tracer names a process by /proc/PID, so
    // the test lets it read the records before this process is gone.
    process.stdin.on('end', function () { process.exit(0); });
    process.stdin.resume();
  });
  // Both are connected before either sends: their traffic interleaves.
  var connected = after(2, function () {
    ['a', 'b'].forEach(function (x) {
      var sock = socks[x];
      result[x] = { local: [sock.localAddress, sock.localPort], peer: [sock.remoteAddress, sock.remotePort] };
      expect(sock, resps[x], 'client ' + x, finished);
      sock.write(reqs[x]);
    });
  });
  ['a', 'b'].forEach(function (x) {
    socks[x] = tls.connect({ host: '127.0.0.1', port: ports[x], rejectUnauthorized: false }, connected);
    socks[x].on('error', function (e) { die('client ' + x + ': ' + e); });
  });
}

function files(a) {
  return {
    reqs: { a: fs.readFileSync(a[0]), b: fs.readFileSync(a[2]) },
    resps: { a: fs.readFileSync(a[1]), b: fs.readFileSync(a[3]) }
  };
}

var args = process.argv.slice(2);
var f;
if (args[0] === 'servers' && args.length === 7) {
  f = files(args.slice(3));
  servers(args[1], args[2], f.reqs, f.resps);
} else if (args[0] === 'client' && args.length === 7) {
  f = files(args.slice(3));
  client({ a: parseInt(args[1], 10), b: parseInt(args[2], 10) }, f.reqs, f.resps);
} else {
  die('usage: node_pair.js servers CERT KEY REQ_A RESP_A REQ_B RESP_B | ' +
      'client PORT_A PORT_B REQ_A RESP_A REQ_B RESP_B');
}
