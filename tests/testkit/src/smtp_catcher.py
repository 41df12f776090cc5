"""A real SMTP server for the workspace's tests and demo, built on aiosmtpd (Debian's
python3-aiosmtpd): every message it accepts is decoded with Python's own e-mail package and
written to a directory as one JSON file, so tests read what a mail client would show.

    smtp_catcher.py --listen 127.0.0.1:2525 --dir DIR [--starttls CERT KEY | --tls CERT KEY]
                    [--auth USER:PASSWORD] [--print]

It prints `ready` on standard output once it accepts connections and exits on SIGTERM/SIGINT.
Recipients whose local part starts with `nobody` are refused with 550 (no such mailbox).
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import signal
import ssl
import sys
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class JsonDir:
    """aiosmtpd handler: one JSON file per accepted message, written atomically."""

    def __init__(self, directory, echo):
        self.directory = directory
        self.echo = echo
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # A mailbox that does not exist, for tests of permanent failures.
        if address.split("@")[0].startswith("nobody"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "from": str(msg.get("From", "")),
            "to": str(msg.get("To", "")),
            "subject": str(msg.get("Subject", "")),
            "message_id": str(msg.get("Message-ID", "")),
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "authenticated": bool(session.authenticated),
            "raw": raw.decode("utf-8", "replace"),
        }
        self.count += 1
        name = "%020d-%06d.json" % (time.time_ns(), self.count)
        tmp = os.path.join(self.directory, "." + name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(self.directory, name))
        if self.echo:
            print("--- mail to %s: %s" % (", ".join(record["rcpt_tos"]), record["subject"]))
            print(record["text"] or "")
            sys.stdout.flush()
        return "250 Message accepted for delivery"


def tls_context(cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        # handled=False: aiosmtpd answers 535 itself (handled=True would leave the client waiting).
        return AuthResult(success=ok, handled=False)

    return check


async def serve(args):
    host, _, port = args.listen.rpartition(":")
    handler = JsonDir(args.dir, args.print)
    starttls = tls_context(*args.starttls) if args.starttls else None
    implicit = tls_context(*args.tls) if args.tls else None
    auth = None
    if args.auth:
        user, _, password = args.auth.partition(":")
        auth = authenticator(user, password)

    def factory():
        return SMTP(
            handler,
            hostname="catcher.test",
            tls_context=starttls,
            require_starttls=starttls is not None,
            authenticator=auth,
            # AUTH only over TLS; with implicit TLS the whole connection is encrypted.
            auth_require_tls=starttls is not None,
            auth_required=auth is not None,
        )

    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, host, int(port), ssl=implicit, reuse_address=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("ready", flush=True)
    await stop.wait()
    server.close()
    await server.wait_closed()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--auth", metavar="USER:PASSWORD")
    p.add_argument("--print", action="store_true", help="also print each mail on stdout")
    args = p.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
