#!/usr/bin/env python3
"""Minimal fake SMTP server with STARTTLS, for make.sh (scenario smtp-starttls) only.

usage: fake_smtp.py HOST PORT CERT KEY

Serves connections one at a time until killed: "220" greeting, answers EHLO/HELO with a
capability list that offers STARTTLS, answers STARTTLS with "220 Ready to start TLS", then runs
the TLS handshake as server (Python's ssl module, so OpenSSL underneath; one SSLContext for all
connections, so its session tickets stay valid across connections). Over TLS it answers QUIT
with 221 and closes; anything else gets 250. Not a mail server.
"""
import socket
import ssl
import sys


def lines(f):
    while True:
        line = f.readline()
        if not line:
            return
        yield line.rstrip(b"\r\n")


def serve(conn, ctx):
    f = conn.makefile("rb")
    conn.sendall(b"220 test.example ESMTP fake\r\n")
    for line in lines(f):
        verb = line.split(b" ", 1)[0].upper()
        if verb in (b"EHLO", b"HELO"):
            conn.sendall(b"250-test.example\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
        elif verb == b"STARTTLS":
            conn.sendall(b"220 Ready to start TLS\r\n")
            break
        elif verb == b"QUIT":
            conn.sendall(b"221 Bye\r\n")
            return
        else:
            conn.sendall(b"250 OK\r\n")
    else:
        return
    f.close()
    tls = ctx.wrap_socket(conn, server_side=True)  # handshake; TLS 1.3 tickets go out here
    tf = tls.makefile("rb")
    for line in lines(tf):
        if line.split(b" ", 1)[0].upper() == b"QUIT":
            tls.sendall(b"221 Bye\r\n")
            break
        tls.sendall(b"250 OK\r\n")
    tf.close()
    try:
        tls.unwrap()  # close_notify
    except (ssl.SSLError, OSError):
        pass
    tls.close()


def main():
    host, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as ls:
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((host, port))
        ls.listen(8)
        while True:
            conn, _ = ls.accept()
            with conn:
                try:
                    serve(conn, ctx)
                except (ssl.SSLError, OSError) as e:
                    print("fake_smtp:", e, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
