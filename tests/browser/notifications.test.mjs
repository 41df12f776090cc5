// Browser test of notifications: a reply notifies the thread's watcher (the bell's count, the
// notifications page, the e-mail the worker sends through the SMTP catcher), and an @mention
// links to the member's profile and notifies them. Run by scripts/checks/40-forum-browser with
// FORUM_URL, OUT_DIR and MAIL_DIR (see forum.test.mjs); registers its own members.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const base = process.env.FORUM_URL;
const out = process.env.OUT_DIR || "out";
assert.ok(base, "FORUM_URL must be set");
fs.mkdirSync(out, { recursive: true });

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
const pageErrors = [];
page.on("pageerror", (e) => pageErrors.push(String(e)));

const step = (name) => console.log(`- ${name}`);
const password = "correct horse battery";
// A unique suffix, so a second run against the same forum registers new members.
const tag = Date.now().toString(36).slice(-5);
const anna = `nf_anna_${tag}`;
const ben = `nf_ben_${tag}`;
const cleo = `nf_cleo_${tag}`;

async function submit(form) {
  await Promise.all([page.waitForNavigation(), form.locator("button[type=submit]").click()]);
}

async function register(name) {
  await page.goto(`${base}/register`);
  const form = page.locator("form.card");
  await form.locator("input[name=username]").fill(name);
  await form.locator("input[name=email]").fill(`${name}@example.com`);
  await form.locator("input[name=password]").fill(password);
  // The forum refuses a registration form sent within 3 s of being shown.
  await page.waitForTimeout(3200);
  await submit(form);
  assert.ok(await page.locator("header.top nav").getByText(name).isVisible(), `${name} is logged in`);
}

async function logout() {
  await Promise.all([page.waitForNavigation(), page.locator("header.top nav button", { hasText: "Log out" }).click()]);
}

async function login(name, pass = password) {
  await page.goto(`${base}/login`);
  const form = page.locator("form.card");
  await form.locator("input[name=username]").fill(name);
  await form.locator("input[name=password]").fill(pass);
  await submit(form);
  assert.ok(await page.locator("header.top nav").getByText(name).isVisible(), `${name} is logged in`);
}

async function bell() {
  return page.locator("#bell .count").getAttribute("data-count");
}

async function waitForMail(to, subject) {
  const dir = process.env.MAIL_DIR;
  assert.ok(dir, "MAIL_DIR must be set");
  for (let i = 0; i < 200; i++) {
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith(".json")).sort()) {
      const m = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"));
      if (m.rcpt_tos.includes(to) && subject.test(m.subject)) return m;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail to ${to} matching ${subject} within 20 s`);
}

try {
  step("the administrator publishes new members' posts at once (another test file may queue them)");
  await page.goto(`${base}/admin/login`);
  const rootForm = page.locator("form.card");
  await rootForm.locator("input[name=username]").fill("root");
  await rootForm.locator("input[name=password]").fill("admin password 1");
  await submit(rootForm);
  assert.equal(new URL(page.url()).pathname, "/admin/", "the administrator is in the panel");
  await page.goto(`${base}/admin/bans`);
  const setting = page.locator("#queue-setting");
  await setting.locator("input[name=moderate_first_posts]").fill("0");
  await submit(setting);
  await context.clearCookies();

  step("cleo registers; anna starts a thread (and so watches it)");
  await register(cleo);
  await logout();
  await register(anna);
  await page.goto(base);
  await Promise.all([page.waitForNavigation(), page.locator("main").getByRole("link", { name: "Elsewhere", exact: true }).first().click()]);
  await Promise.all([page.waitForNavigation(), page.locator("#new-thread").click()]);
  const form = page.locator("form.card");
  await form.locator("input[name=title]").fill(`Who watches the watchers ${tag}?`);
  await form.locator("textarea[name=body]").fill("Tell me when someone answers.");
  await submit(form);
  const threadUrl = page.url();
  assert.match(new URL(threadUrl).pathname, /^\/t\/\d+\/$/);
  assert.equal(await page.locator("#watch-button").innerText(), "Stop watching", "posting watched the thread");
  assert.equal(await bell(), "0");
  await logout();

  step("ben replies and mentions cleo");
  await register(ben);
  await page.goto(threadUrl);
  const reply = page.locator("form#reply");
  await reply.locator("textarea[name=body]").fill(`I can answer. @${cleo}, you know this too.`);
  await submit(reply);
  const mention = page.locator(`article.post a[href^="/u/"]`, { hasText: `@${cleo}` });
  assert.equal(await mention.count(), 1, "the mention links to cleo's profile");
  assert.equal(await bell(), "0", "no notification of one's own reply");
  await logout();

  step("anna sees the bell, the notifications page, and the mail");
  await login(anna);
  assert.equal(await bell(), "1");
  await Promise.all([page.waitForNavigation(), page.locator("#bell").click()]);
  const item = page.locator("li.notification.reply.unread");
  assert.equal(await item.count(), 1);
  assert.match(await item.innerText(), new RegExp(`${ben} replied in`));
  await page.screenshot({ path: path.join(out, "notifications.png"), fullPage: true });
  const mail = await waitForMail(`${anna}@example.com`, /replied in/);
  assert.match(mail.subject, new RegExp(`Who watches the watchers ${tag}`));
  const link = mail.text.match(/https?:\/\/\S+\/p\/\d+\//);
  assert.ok(link && link[0].startsWith(base), `a link to the post under the public URL: ${mail.text}`);
  await Promise.all([page.waitForNavigation(), item.locator("a").first().click()]);
  assert.match(new URL(page.url()).pathname, /^\/t\/\d+\/$/, "the notification leads to the thread");
  assert.equal(await bell(), "0", "opening it marked it read");
  await logout();

  step("cleo is notified of the mention");
  await login(cleo);
  assert.equal(await bell(), "1");
  await page.goto(`${base}/notifications`);
  const mentioned = page.locator("li.notification.mention");
  assert.match(await mentioned.innerText(), new RegExp(`${ben} mentioned you in`));
  await waitForMail(`${cleo}@example.com`, /mentioned you in/);
  const readAll = page.locator("#mark-all-read");
  await Promise.all([page.waitForNavigation(), readAll.click()]);
  assert.equal(await bell(), "0");
  assert.deepEqual(pageErrors, [], "no JavaScript errors");
  console.log("notifications browser test passed");
} catch (e) {
  await page.screenshot({ path: path.join(out, "notifications-failure.png"), fullPage: true }).catch(() => {});
  console.error(`notifications browser test failed at ${page.url()}`);
  throw e;
} finally {
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
