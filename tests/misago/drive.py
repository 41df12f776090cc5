"""Drives a real Misago 0.39 site for scripts/checks/50-misago.

Runs in Misago's virtualenv (Django, requests, Pillow, psycopg come with Misago):

  drive.py setup STATE.json            migrate and create data with Misago's own commands;
                                       the public categories go to STATE.json
  drive.py traffic URL STATE.json EXPECTED.json
                                       real HTTP requests through nginx, each checked against
                                       Misago's answer; the counts they should give go to
                                       EXPECTED.json
  drive.py compare EXPECTED.json NGINX_METRICS PG_METRICS
                                       the exporters' figures against the requests made and
                                       against Misago's tables

Environment: DJANGO_SETTINGS_MODULE=misagosite.settings and what that module reads.
"""

import io
import json
import re
import sys
import time
from collections import Counter

ADMIN = ("admin", "admin@example.com", "admin password 1")
# Registered through the API by the traffic: (username, e-mail, password).
MEMBERS = [
    ("alice", "alice@example.com", "alice password 1"),
    ("bob", "bob@example.com", "bob password 1"),
    ("carol", "carol@example.com", "carol password 1"),
]
FAKE_USERS = 5
FAKE_CATEGORIES = 3
FAKE_THREADS = 12
# Misago refuses a second post by the same user within 3 seconds.
POSTING_INTERVAL = 3.2


class Failure(Exception):
    pass


def setup_django():
    import django

    django.setup()


def cmd_setup(state_path):
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    # No request may leave the machine: avatars are drawn, not fetched from Gravatar.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE misago_conf_setting SET dry_value = 'dynamic' WHERE setting = 'default_avatar'"
        )
    from misago.conf.cache import clear_settings_cache

    clear_settings_cache()
    call_command(
        "createsuperuser",
        username=ADMIN[0],
        email=ADMIN[1],
        password=ADMIN[2],
        interactive=False,
        verbosity=0,
    )
    out = io.StringIO()
    call_command("createfakeusers", FAKE_USERS, stdout=out)
    call_command("createfakecategories", FAKE_CATEGORIES, stdout=out)
    call_command("createfakethreads", FAKE_THREADS, stdout=out)
    from misago.categories.models import Category

    # Threads go to open categories (a fake category may be closed).
    categories = [c.id for c in Category.objects.all_categories() if not c.is_closed]
    with open(state_path, "w") as f:
        json.dump({"categories": categories}, f)
    print(
        f"misago data: superuser {ADMIN[0]}, {FAKE_USERS} fake users, "
        f"{FAKE_CATEGORIES} fake categories, {FAKE_THREADS} fake threads"
    )


class Client:
    """One browser: a cookie jar, Misago's CSRF token sent back as X-CSRFToken."""

    def __init__(self, base):
        import requests

        self.base = base
        self.http = requests.Session()
        self.http.headers["User-Agent"] = "misago-check"
        self.log = []
        self.get("/", expect=200)
        if "csrftoken" not in self.http.cookies:
            raise Failure("Misago set no csrftoken cookie on GET /")

    def _headers(self, extra=None):
        headers = {
            "X-CSRFToken": self.http.cookies.get("csrftoken", ""),
            "Referer": self.base + "/",
        }
        headers.update(extra or {})
        return headers

    def request(self, method, path, expect, **kw):
        r = self.http.request(
            method,
            self.base + path,
            headers=self._headers(kw.pop("headers", None)),
            allow_redirects=False,
            timeout=60,
            **kw,
        )
        self.log.append((method, path, r.status_code))
        if expect is not None and r.status_code != expect:
            raise Failure(
                f"{method} {path}: Misago answered {r.status_code}, expected {expect}: "
                f"{r.text[:300]!r}"
            )
        return r

    def get(self, path, expect):
        return self.request("GET", path, expect)

    def post_json(self, path, data, expect):
        return self.request("POST", path, expect, json=data)

    def patch_json(self, path, data, expect):
        return self.request("PATCH", path, expect, json=data)

    def post_form(self, path, data, expect):
        data = dict(data, csrfmiddlewaretoken=self.http.cookies.get("csrftoken", ""))
        return self.request("POST", path, expect, data=data)


class Poster:
    """Keeps each user's posts apart by Misago's flood interval, counted from the end of the
    previous posting request (Misago stamps the post while handling it)."""

    def __init__(self):
        self.last = {}

    def post(self, who, send):
        since = time.monotonic() - self.last.get(who, -POSTING_INTERVAL)
        if since < POSTING_INTERVAL:
            time.sleep(POSTING_INTERVAL - since)
        try:
            return send()
        finally:
            self.last[who] = time.monotonic()


def png_bytes():
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(buf, format="PNG")
    return buf.getvalue()


def cmd_traffic(base, state_path, expected_path):
    with open(state_path) as f:
        state = json.load(f)
    expected = Counter()
    notes = []
    clients = []

    def client():
        c = Client(base)
        clients.append(c)
        return c

    # Admin control panel: wrong passwords re-render the form (200), the right one
    # redirects (302).
    for i in range(3):
        c = client()
        c.post_form("/admincp/", {"username": ADMIN[0], "password": f"wrong {i}"}, 200)
        expected["failed_admin_login"] += 1
    admin = client()
    admin.post_form("/admincp/", {"username": ADMIN[0], "password": ADMIN[2]}, 302)
    admin.get("/admincp/", 200)
    # What the log cannot tell: a session already in the admin gets 200 for any password.
    r = admin.post_form(
        "/admincp/", {"username": ADMIN[0], "password": "wrong again"}, 200
    )
    if 'name="password"' in r.text:
        raise Failure(
            "POST /admincp/ from a session in the admin showed the login form"
        )
    expected["failed_admin_login"] += 1
    notes.append(
        "failed_admin_login = 3 wrong passwords (200, the form again) + 1 POST /admincp/ "
        "with a wrong password from a session already in the admin (200, the admin index: "
        "the log cannot tell it apart)"
    )

    # Registrations through the API (Misago logs the new user in).
    members = {}
    for username, email, password in MEMBERS:
        c = client()
        r = c.post_json(
            "/api/users/",
            {"username": username, "email": email, "password": password},
            200,
        )
        if r.json().get("activation") != "active":
            raise Failure(f"registration of {username}: {r.text[:200]!r}")
        expected["user_registered"] += 1
        members[username] = c
    # A refused registration (the name is taken) is no registration.
    client().post_json(
        "/api/users/",
        {
            "username": "alice",
            "email": "alice2@example.com",
            "password": "x password 2",
        },
        400,
    )

    # Logins through the API: 400 for a wrong password, 200 for the right one.
    for i in range(4):
        client().post_json(
            "/api/auth/", {"username": "bob", "password": f"wrong {i}"}, 400
        )
        expected["failed_login"] += 1
    for username, _, password in MEMBERS[:2]:
        client().post_json(
            "/api/auth/", {"username": username, "password": password}, 200
        )
    # POST /login/ answers 302 whether the password is right or wrong, and logs nobody in:
    # Misago's frontend signs in through /api/auth/ and then posts this form only to be
    # redirected. A log line of it is no login attempt.
    for password in ["wrong", MEMBERS[2][2]]:
        c = client()
        r = c.post_form("/login/", {"username": "carol", "password": password}, 302)
        if c.get("/api/auth/", 200).json().get("id") is not None:
            raise Failure(f"POST /login/ logged the session in (password {password!r})")
    notes.append(
        f"POST /login/: 302 to {r.headers.get('Location')} with a wrong password and with the "
        "right one; neither logs the session in (Misago signs in through /api/auth/); not counted"
    )

    # Admin: log in to the forum as well (the admin session above is the admin's).
    admin_api = client()
    admin_api.post_json("/api/auth/", {"username": ADMIN[0], "password": ADMIN[2]}, 200)
    members[ADMIN[0]] = admin_api

    poster = Poster()
    category_ids = state["categories"]

    # Threads.
    threads = []
    for i, who in enumerate(["alice", "bob", "admin"]):
        r = poster.post(
            who,
            lambda: members[who].post_json(
                "/api/threads/",
                {
                    "category": category_ids[i % len(category_ids)],
                    "title": f"A thread about things number {i + 1}",
                    "post": f"The first post of thread {i + 1}, long enough for Misago.",
                },
                200,
            ),
        )
        threads.append(r.json())
        expected["thread_created"] += 1

    # Attachments: uploaded, then used in a reply, then downloaded.
    alice = members["alice"]
    uploads = []
    for name, content, kind in [
        ("picture.png", png_bytes(), "image/png"),
        ("notes.txt", b"plain text notes\n", "text/plain"),
    ]:
        r = alice.request(
            "POST", "/api/attachments/", 200, files={"upload": (name, content, kind)}
        )
        uploads.append(r.json())
        expected["attachment_uploaded"] += 1

    # Replies.
    replies = [
        ("alice", 0, [u["id"] for u in uploads]),
        ("bob", 0, []),
        ("carol", 1, []),
        ("admin", 1, []),
        ("carol", 2, []),
    ]
    for who, t, attachments in replies:
        data = {"post": f"A reply by {who} to thread {t + 1}, with some words in it."}
        if attachments:
            data["attachments"] = attachments
        path = f"/api/threads/{threads[t]['id']}/posts/"
        poster.post(who, lambda: members[who].post_json(path, data, 200))
        expected["post_created"] += 1

    for u in uploads:
        url = u["url"]["index"]
        r = alice.get(url, 302)
        alice.get(r.headers["Location"].replace(base, ""), 200)
        # A thumbnail too (none for so small a picture: Misago redirects to its 404 image).
        alice.get(url.replace("/a/", "/a/thumb/", 1), 302)

    # Private threads and a reply in one.
    private = []
    for who, to in [("alice", ["bob"]), ("bob", ["carol", "alice"])]:
        data = {
            "to": to,
            "title": f"A private talk by {who}",
            "post": "Just between us, friends.",
        }
        r = poster.post(
            who, lambda: members[who].post_json("/api/private-threads/", data, 200)
        )
        private.append(r.json())
        expected["private_thread_created"] += 1
    path = f"/api/private-threads/{private[0]['id']}/posts/"
    data = {"post": "A private answer, long enough for Misago."}
    poster.post("bob", lambda: members["bob"].post_json(path, data, 200))
    expected["private_post_created"] += 1

    # A poll on a thread, and votes.
    t0 = threads[0]
    r = members["alice"].post_json(
        f"/api/threads/{t0['id']}/poll/",
        {
            "question": "Which one?",
            "choices": [{"label": "This one"}, {"label": "That one"}],
            "length": 0,
            "allowed_choices": 1,
            "allow_revotes": False,
            "is_public": False,
        },
        200,
    )
    poll = r.json()
    for who, choice in [("alice", 0), ("bob", 1), ("carol", 1)]:
        members[who].post_json(
            f"/api/threads/{t0['id']}/poll/{poll['id']}/votes/",
            [poll["choices"][choice]["hash"]],
            200,
        )

    # Moderation: closing and pinning a thread are written as event posts.
    admin_api.patch_json(
        f"/api/threads/{threads[1]['id']}/",
        [{"op": "replace", "path": "is-closed", "value": True}],
        200,
    )
    admin_api.patch_json(
        f"/api/threads/{threads[1]['id']}/",
        [{"op": "replace", "path": "weight", "value": 1}],
        200,
    )

    # Pages with slugs: threads (also without the trailing slash: Misago redirects),
    # private threads, categories, users.
    for t in threads:
        url = t["url"] if isinstance(t["url"], str) else t["url"]["index"]
        alice.get(url, 200)
        alice.get(url.rstrip("/"), 301)
    for p in private:
        members["bob"].get(
            p["url"] if isinstance(p["url"], str) else p["url"]["index"], 200
        )
    alice.get(f"/u/alice/{alice_id(alice)}/", 302)  # to the profile's first tab

    # A server error would be an event too; there must be none.
    statuses = Counter(s for c in clients for (_, _, s) in c.log)
    requests_made = sum(statuses.values())
    with open(expected_path, "w") as f:
        json.dump(
            {
                "events": dict(expected),
                "requests": requests_made,
                "statuses": {str(k): v for k, v in statuses.items()},
                "notes": notes,
                "requests_log": [entry for c in clients for entry in c.log],
            },
            f,
            indent=1,
        )
    print(
        f"traffic: {requests_made} requests through nginx, answers {dict(sorted(statuses.items()))}"
    )
    for note in notes:
        print(f"  {note}")


def alice_id(c):
    return c.get("/api/auth/", 200).json()["id"]


def parse_metrics(path):
    """name -> list of (labels dict, value) from a Prometheus text exposition."""
    series = {}
    line_re = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)")
    label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            m = line_re.match(line)
            if not m:
                continue
            labels = dict(label_re.findall(m.group(3) or ""))
            series.setdefault(m.group(1), []).append((labels, float(m.group(4))))
    return series


def cmd_compare(expected_path, nginx_path, pg_path):
    with open(expected_path) as f:
        expected = json.load(f)
    problems = []
    nginx = parse_metrics(nginx_path)
    pg = parse_metrics(pg_path)

    # nginx-log-exporter: events equal the requests made.
    events = {labels["event"]: v for labels, v in nginx.get("nginx_events_total", [])}
    want_events = dict(expected["events"])
    want_events.setdefault("server_error", 0)
    print("nginx-log-exporter --preset misago, events (exporter / requests made):")
    for note in expected["notes"]:
        print(f"  note: {note}")
    for event in sorted(set(events) | set(want_events)):
        got = events.get(event)
        want = want_events.get(event, 0)
        mark = "ok" if got == want else "DIFFERENT"
        print(f"  {event:24} {fmt(got):>5} / {want:<5} {mark}")
        if got != want:
            problems.append(
                f"nginx_events_total{{event={event!r}}} is {fmt(got)}, {want} requests made"
            )
    total = sum(v for _, v in nginx.get("nginx_http_requests_total", []))
    print(
        f"  {'(all requests)':24} {fmt(total):>5} / {expected['requests']:<5} nginx_http_requests_total"
    )
    if total != expected["requests"]:
        problems.append(
            f"nginx_http_requests_total sums to {fmt(total)}, {expected['requests']} requests made"
        )

    # No slug, secret or token in an endpoint label.
    setup_django()
    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from datetime import timedelta
    from misago.categories.models import Category
    from misago.threads.models import Attachment, Poll, PollVote, Post, Thread
    from misago.users.models import Online

    secrets = set()
    for model, field in [
        (Thread, "slug"),
        (Category, "slug"),
        (get_user_model(), "slug"),
        (Attachment, "secret"),
    ]:
        secrets.update(v for v in model.objects.values_list(field, flat=True) if v)
    endpoints = sorted(
        {labels["endpoint"] for labels, _ in nginx.get("nginx_http_requests_total", [])}
    )
    leaks = [
        e
        for e in endpoints
        if any(seg in secrets for seg in e.split("/"))
        or re.search(r"[A-Za-z0-9]{32,}", e)
    ]
    print(
        f"  endpoints: {len(endpoints)} templates, checked against {len(secrets)} slugs and secrets"
    )
    for e in endpoints:
        print(f"    {e}")
    if leaks:
        problems.append(f"endpoint labels hold a slug or secret: {leaks}")
    for template in [
        "/p/:slug/:id/",
        "/t/:slug/:id/",
        "/t/:slug/:id",
        "/a/:secret/:id/",
        "/a/thumb/:secret/:id/",
        "/u/:slug/:id/",
    ]:
        if template not in endpoints:
            problems.append(
                f"no endpoint {template} although the traffic requested such pages"
            )

    # pg-exporter --preset misago: the gauges equal Misago's tables, read through its models.
    root = Category.objects.root_category()
    public_cats = Category.objects.filter(tree_id=root.tree_id)
    public_threads = Thread.objects.filter(
        category__in=public_cats, is_hidden=False, is_unapproved=False
    )
    posts = Post.objects.filter(
        thread__in=public_threads, is_hidden=False, is_unapproved=False
    )
    users = get_user_model().objects
    now = timezone.now()
    sql = {
        "forum_users": users.count(),
        "forum_users_active": users.filter(
            is_active=True, requires_activation=0
        ).count(),
        "forum_users_awaiting_activation": users.filter(
            requires_activation__gt=0
        ).count(),
        "forum_users_joined_last_24h": users.filter(
            joined_on__gt=now - timedelta(hours=24)
        ).count(),
        "forum_threads": public_threads.count(),
        "forum_posts": posts.filter(is_event=False).count(),
        "forum_categories": public_cats.filter(level__gt=0).count(),
        "forum_polls": Poll.objects.filter(thread__in=public_threads).count(),
        "forum_poll_votes": PollVote.objects.filter(
            poll__thread__in=public_threads
        ).count(),
    }
    online = Online.objects.filter(last_click__gt=now - timedelta(minutes=5)).count()
    event_posts = posts.filter(is_event=True).count()
    print("pg-exporter --preset misago (exporter / Misago's tables):")
    for name, want in sql.items():
        got = only(pg, name)
        mark = "ok" if got == want else "DIFFERENT"
        print(f"  {name:32} {fmt(got):>5} / {want:<5} {mark}")
        if got != want:
            problems.append(f"{name} is {fmt(got)}, Misago's tables say {want}")
    got_online = only(pg, "forum_users_online")
    print(
        f"  {'forum_users_online':32} {fmt(got_online):>5} / {online:<5} (seen in the last 5 minutes)"
    )
    if got_online != online or online == 0:
        problems.append(
            f"forum_users_online is {fmt(got_online)}, Misago's tables say {online} "
            "(and the traffic's users were all online)"
        )
    print(f"  event posts (closed, pinned, ...) left out of forum_posts: {event_posts}")
    if event_posts < 2:
        problems.append(
            f"the traffic closed and pinned a thread, yet only {event_posts} event posts exist"
        )
    success = [
        v
        for labels, v in pg.get("pg_exporter_collector_success", [])
        if labels.get("collector") == "misago"
    ]
    if success != [1.0]:
        problems.append(
            f'pg_exporter_collector_success{{collector="misago"}} is {success}'
        )

    if problems:
        print("\nMISAGO CHECK FAILED:", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        sys.exit(1)
    print(
        "misago check: both exporters agree with the requests made and with Misago's tables"
    )


def only(series, name):
    values = [v for _, v in series.get(name, [])]
    return values[0] if len(values) == 1 else None


def fmt(v):
    if v is None:
        return "none"
    return str(int(v)) if float(v).is_integer() else str(v)


def main(argv):
    try:
        if argv[:1] == ["setup"] and len(argv) == 2:
            cmd_setup(argv[1])
        elif argv[:1] == ["traffic"] and len(argv) == 4:
            cmd_traffic(argv[1].rstrip("/"), argv[2], argv[3])
        elif argv[:1] == ["compare"] and len(argv) == 4:
            cmd_compare(*argv[1:])
        else:
            print(__doc__, file=sys.stderr)
            sys.exit(2)
    except Failure as e:
        print(f"MISAGO CHECK FAILED: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
