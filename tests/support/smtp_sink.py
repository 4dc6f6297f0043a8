#!/usr/bin/python3
"""A real SMTP server for the tests (aiosmtpd, from Debian's python3-aiosmtpd).

Listens on 127.0.0.1:PORT and delivers every accepted message into the Maildir of each
recipient's local part under MAIL_ROOT (MAIL_ROOT/<local>/Maildir/new), where the test's
Dovecot serves it. Rejects recipients whose local part starts with "reject" (550), so
tests can see permanent failures.

usage: smtp_sink.py PORT MAIL_ROOT
"""

import asyncio
import os
import socket
import sys
import time

from aiosmtpd.controller import Controller

counter = 0


class MaildirHandler:
    def __init__(self, root):
        self.root = root

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 <%s>: Recipient address rejected: user unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        global counter
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        for rcpt in envelope.rcpt_tos:
            local = rcpt.split("@", 1)[0].lower().split("+", 1)[0]
            maildir = os.path.join(self.root, local, "Maildir")
            for sub in ("tmp", "new", "cur"):
                os.makedirs(os.path.join(maildir, sub), mode=0o777, exist_ok=True)
            counter += 1
            name = "%d.P%dQ%d.%s" % (time.time(), os.getpid(), counter, socket.gethostname())
            tmp = os.path.join(maildir, "tmp", name)
            with open(tmp, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o666)
            os.rename(tmp, os.path.join(maildir, "new", name))
        return "250 Message accepted for delivery"


def main():
    port = int(sys.argv[1])
    root = sys.argv[2]
    os.umask(0)
    controller = Controller(MaildirHandler(root), hostname="127.0.0.1", port=port)
    controller.start()
    print("smtp sink listening on 127.0.0.1:%d" % port, flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
