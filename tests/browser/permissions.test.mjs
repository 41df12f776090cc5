// Browser test of permissions and private threads: headless Debian Chromium driven by
// playwright-core, run by scripts/checks/40-forum-browser (FORUM_URL, OUT_DIR; DATABASE_URL is
// the forum's database, which this file prepares with psql: its own members and categories).
// A read-only category refuses a member's new thread and reply; a private thread between two
// members is invisible to a third. Exits non-zero on the first failed expectation.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const base = process.env.FORUM_URL;
const db = process.env.DATABASE_URL;
const out = process.env.OUT_DIR || "out";
assert.ok(base, "FORUM_URL must be set");
assert.ok(db, "DATABASE_URL must be set (the forum's database)");
fs.mkdirSync(out, { recursive: true });

const psql = (sql) => execFileSync("psql", [db, "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", sql], { encoding: "utf8" }).trim();

// Members of this file (the administrator's password, copied hash), established members so the
// moderation queue of new members' first posts (another file sets it) does not hold their posts;
// a read-only announcements category and an open one.
const password = "admin password 1";
for (const name of ["perm_ann", "perm_bob", "perm_eve"]) {
  psql(`INSERT INTO users (username, email, password_hash, role, post_count, created_at)
        SELECT '${name}', '${name}@example.com', password_hash, 'member', 10, now() - interval '30 days'
        FROM users WHERE username = 'root'`);
}
const news = psql(`INSERT INTO categories (name, description) VALUES ('Perm news', 'Read-only for members') RETURNING id`);
psql(`INSERT INTO category_permissions (category_id, role_id, can_see, can_read, can_start, can_reply, can_moderate)
      SELECT ${news}, id, true, true, false, false, false FROM roles WHERE name = 'member'`);

const profile = fs.mkdtempSync(path.join(os.tmpdir(), "forum-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
  viewport: { width: 1200, height: 900 },
});
context.setDefaultTimeout(15000);
const page = context.pages()[0] || (await context.newPage());
page.on("dialog", async (d) => { await d.accept(); });
const pageErrors = [];
page.on("pageerror", (e) => pageErrors.push(String(e)));
const step = (name) => console.log(`- ${name}`);

async function login(name) {
  await page.goto(`${base}/login`);
  const form = page.locator("form.card");
  await form.locator("input[name=username]").fill(name);
  await form.locator("input[name=password]").fill(password);
  const [response] = await Promise.all([page.waitForNavigation(), form.locator("button[type=submit]").click()]);
  assert.equal(response.status(), 200, `${name} logs in`);
  assert.ok(await page.locator("header.top nav").getByText(name).isVisible());
}

async function logout() {
  await Promise.all([page.waitForNavigation(), page.locator("header.top nav button", { hasText: "Log out" }).click()]);
}

// A form POST from the page with its CSRF token, as a browser sends it: status and text.
async function postForm(url, fields) {
  return page.evaluate(async ({ url, fields }) => {
    const csrf = document.querySelector("input[name=csrf]").value;
    const body = new URLSearchParams({ csrf, ...fields });
    const r = await fetch(url, { method: "POST", body, redirect: "manual" });
    return { status: r.status, text: await r.text() };
  }, { url, fields });
}

try {
  step("the administrator posts an announcement");
  await login("root");
  await page.goto(`${base}/c/${news}/new`);
  let form = page.locator("form.card");
  await form.locator("input[name=title]").fill("Perm maintenance window");
  await form.locator("textarea[name=body]").fill("The forum is down on Sunday.");
  await Promise.all([page.waitForNavigation(), form.locator("button[type=submit]").click()]);
  const announcement = new URL(page.url()).pathname;
  assert.match(announcement, /^\/t\/\d+\/$/);
  await logout();

  step("a member reads the read-only category but cannot start a thread or reply");
  await login("perm_ann");
  await page.goto(`${base}/c/${news}/`);
  assert.equal(await page.locator("#new-thread").count(), 0, "no New thread button");
  assert.ok(await page.locator("#read-only").isVisible());
  await page.goto(`${base}${announcement}`);
  assert.ok(await page.getByText("The forum is down on Sunday.").isVisible(), "members read it");
  assert.equal(await page.locator("form#reply").count(), 0, "no reply form");
  assert.ok((await page.locator("#read-only").innerText()).includes("read-only"));
  const newForm = await page.goto(`${base}/c/${news}/new`);
  assert.equal(newForm.status(), 403);
  assert.ok((await page.locator("main").innerText()).includes("read-only"));
  await page.goto(`${base}${announcement}`);
  const started = await postForm(`/c/${news}/new`, { title: "Perm me too", body: "sneaky" });
  assert.equal(started.status, 403, "the form's POST is refused");
  assert.ok(started.text.includes("read-only"));
  const replied = await postForm(`${announcement}reply`, { body: "+1" });
  assert.equal(replied.status, 403);
  assert.equal(psql(`SELECT count(*) FROM threads WHERE title = 'Perm me too'`), "0");
  await page.screenshot({ path: path.join(out, "read-only.png"), fullPage: true });

  step("a member starts a private thread with another");
  await page.goto(`${base}/private-threads`);
  form = page.locator("#new-private-thread");
  await form.locator("input[name=title]").fill("Perm secret plans");
  await form.locator("input[name=participants]").fill("perm_bob");
  await form.locator("textarea[name=body]").fill("Meet at the zeppelin hangar.");
  await Promise.all([page.waitForNavigation(), form.locator("button[type=submit]").click()]);
  const secret = new URL(page.url()).pathname;
  assert.match(secret, /^\/t\/\d+\/$/);
  assert.ok(await page.locator("#participants").getByText("perm_bob").isVisible());
  await logout();

  step("the invited member reads and replies");
  await login("perm_bob");
  await page.goto(`${base}/private-threads`);
  assert.ok(await page.getByRole("link", { name: "Perm secret plans" }).isVisible());
  await page.goto(`${base}${secret}`);
  await page.locator("form#reply textarea[name=body]").fill("I will bring the map.");
  await Promise.all([page.waitForNavigation(), page.locator("form#reply button[type=submit]").click()]);
  assert.ok(await page.getByText("I will bring the map.").isVisible());
  await logout();

  step("a third member cannot see it anywhere");
  await login("perm_eve");
  const denied = await page.goto(`${base}${secret}`);
  assert.equal(denied.status(), 404);
  assert.ok(!(await page.content()).includes("zeppelin"));
  await page.goto(`${base}/private-threads`);
  assert.equal(await page.getByText("Perm secret plans").count(), 0);
  await page.goto(`${base}/`);
  assert.equal(await page.getByText("Perm secret plans").count(), 0);
  await page.goto(`${base}/search?q=zeppelin`);
  assert.equal(await page.getByText("Perm secret plans").count(), 0);
  const api = await page.goto(`${base}/api/threads${secret.slice(2)}`);
  assert.equal(api.status(), 404);
  await page.goto(`${base}/`);
  await page.screenshot({ path: path.join(out, "private-invisible.png"), fullPage: true });
  await logout();

  assert.deepEqual(pageErrors, [], "no script errors");
  console.log("permissions browser test: ok");
} finally {
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
