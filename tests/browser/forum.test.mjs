// Browser test of the forum: headless Debian Chromium driven by playwright-core.
// Run by scripts/checks/40-forum-browser with FORUM_URL (a running forum on a fresh database
// with a category tree three levels deep: Level 1 > Level 2 > Level 3, a question category)
// OUT_DIR (screenshots) and MAIL_DIR (where the SMTP catcher writes the mails the forum's
// worker sends). Exits non-zero on the first failed expectation.
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
const dialogs = [];
page.on("dialog", async (d) => { dialogs.push(d.message()); await d.dismiss(); });
const pageErrors = [];
page.on("pageerror", (e) => pageErrors.push(String(e)));

const step = (name) => console.log(`- ${name}`);
const password = "correct horse battery";

async function submit(form) {
  await Promise.all([page.waitForNavigation(), form.locator("button[type=submit]").click()]);
}

async function register(name) {
  await page.goto(`${base}/register`);
  const form = page.locator("form.card");
  await form.locator("input[name=username]").fill(name);
  await form.locator("input[name=email]").fill(`${name}@example.com`);
  await form.locator("input[name=password]").fill(password);
  await submit(form);
  assert.equal(new URL(page.url()).pathname, "/");
  assert.ok(await page.locator("header.top nav").getByText(name).isVisible(), `${name} is logged in`);
}

async function logout() {
  await Promise.all([page.waitForNavigation(), page.locator("header.top nav button", { hasText: "Log out" }).click()]);
  assert.ok(await page.getByRole("link", { name: "Log in" }).isVisible());
}

async function login(name, pass = password) {
  await page.goto(`${base}/login`);
  const form = page.locator("form.card");
  await form.locator("input[name=username]").fill(name);
  await form.locator("input[name=password]").fill(pass);
  const [response] = await Promise.all([page.waitForNavigation(), form.locator("button[type=submit]").click()]);
  return response;
}

// The mail to `to` whose subject matches `subject`, from the SMTP catcher's directory
// (MAIL_DIR: one JSON file per message), waiting up to 20 s for the worker to send it.
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
  step("register alice, log out, log in again");
  await register("alice");
  await logout();
  const wrong = await login("alice", "not the password");
  assert.equal(wrong.status(), 401, "a failed login answers 401");
  await login("alice");
  assert.ok(await page.locator("header.top nav").getByText("alice").isVisible());

  step("walk the category tree three levels down and start a thread with a poll");
  await page.goto(base);
  for (const name of ["Level 1", "Level 2", "Level 3"]) {
    await Promise.all([page.waitForNavigation(), page.locator("main").getByRole("link", { name, exact: true }).first().click()]);
  }
  assert.equal(await page.locator("h1").innerText().then((t) => t.startsWith("Level 3")), true);
  await Promise.all([page.waitForNavigation(), page.locator("#new-thread").click()]);
  const form = page.locator("form.card");
  await form.locator("input[name=title]").fill("Which database should we monitor first?");
  await form.locator("textarea[name=body]").fill("We run **PostgreSQL** and nginx. Thoughts?");
  await page.locator("#poll summary").click();
  await form.locator("input[name=poll_question]").fill("Monitor first?");
  await form.locator("textarea[name=poll_choices]").fill("PostgreSQL\nnginx\nBoth");
  await form.locator("input[name=poll_public]").check();
  await submit(form);
  const threadUrl = page.url();
  assert.match(new URL(threadUrl).pathname, /^\/t\/\d+\/$/);
  assert.equal(await page.locator("#thread-title").innerText().then((t) => t.includes("Which database")), true);
  assert.ok(await page.locator("#poll").isVisible(), "the poll is shown");
  const crumbs = await page.locator(".crumbs").innerText();
  assert.ok(crumbs.includes("Level 1") && crumbs.includes("Level 2") && crumbs.includes("Level 3"), crumbs);

  step("bob registers, replies, likes, votes, and posts a <script>");
  await logout();
  await register("bob");
  await page.goto(threadUrl);
  await page.locator("#reply textarea[name=body]").fill("PostgreSQL first: **pg-exporter** covers it.");
  await submit(page.locator("#reply"));
  await page.goto(threadUrl);
  const firstPost = page.locator("article.post").first();
  await Promise.all([page.waitForNavigation(), firstPost.locator("button.like").click()]);
  await page.goto(threadUrl);
  assert.equal(await page.locator("article.post").first().locator(".likes").innerText(), "1 likes");
  await page.locator("#poll label", { hasText: "PostgreSQL" }).locator("input").check();
  await Promise.all([page.waitForNavigation(), page.locator("#poll button[type=submit]").click()]);
  const results = await page.locator("#poll .results").innerText();
  assert.ok(results.includes("bob"), `public vote shows the voter: ${results}`);
  assert.ok((await page.locator("#poll .meta").first().innerText()).startsWith("1 voters"));
  await page.locator("#reply textarea[name=body]").fill(
    'Try this <script>window.__xss = 1; alert("xss")</script> and <img src=x onerror="window.__xss = 2">',
  );
  await submit(page.locator("#reply"));

  step("alice marks bob's reply as the best answer; the script never ran");
  await logout();
  await login("alice");
  await page.goto(threadUrl);
  assert.equal(await page.evaluate(() => window.__xss), undefined, "no script from a post ran");
  assert.equal(dialogs.length, 0, `no alert dialog: ${dialogs}`);
  const html = await page.content();
  assert.ok(!html.includes("<script>window.__xss"), "the script tag is not in the page");
  const answer = page.locator("article.post", { hasText: "pg-exporter" });
  await Promise.all([page.waitForNavigation(), answer.locator("button.best").click()]);
  assert.ok(await page.locator("#best-answer").isVisible(), "the best answer is shown under the first post");
  assert.ok((await page.locator("#best-answer").innerText()).includes("pg-exporter"));
  await page.screenshot({ path: path.join(out, "thread.png"), fullPage: true });

  step("search finds the thread");
  await page.locator("form.search input[name=q]").fill("database monitor");
  await Promise.all([page.waitForNavigation(), page.locator("form.search input[name=q]").press("Enter")]);
  assert.ok(await page.locator("ul.hits").getByText("Which database should we monitor first?").first().isVisible());
  await page.screenshot({ path: path.join(out, "search.png"), fullPage: true });

  step("a failed admin login answers 401");
  await page.goto(`${base}/admin/login`);
  const adminForm = page.locator("form.card");
  await adminForm.locator("input[name=username]").fill("alice");
  await adminForm.locator("input[name=password]").fill("wrong password");
  const [adminResponse] = await Promise.all([page.waitForNavigation(), adminForm.locator("button[type=submit]").click()]);
  assert.equal(adminResponse.status(), 401);
  assert.ok(await page.locator("#form-error").isVisible());
  const adminAgain = await page.goto(`${base}/admin/`);
  assert.equal(new URL(adminAgain.url()).pathname, "/admin/login", "no admin session without the admin login");

  step("an administrator opens the admin panel with its own login");
  await logout();
  await login("root", "admin password 1");
  const redirected = await page.goto(`${base}/admin/`);
  assert.equal(new URL(redirected.url()).pathname, "/admin/login", "a user session alone does not open the panel");
  const rootForm = page.locator("form.card");
  await rootForm.locator("input[name=password]").fill("admin password 1");
  const [panel] = await Promise.all([page.waitForNavigation(), rootForm.locator("button[type=submit]").click()]);
  assert.equal(new URL(panel.url()).pathname, "/admin/");
  assert.equal(await page.locator("#count-users").innerText(), "3");
  await page.screenshot({ path: path.join(out, "admin.png"), fullPage: true });

  step("the index lists the thread");
  await page.goto(base);
  assert.ok(await page.getByRole("link", { name: "Which database should we monitor first?" }).isVisible());
  await page.screenshot({ path: path.join(out, "index.png"), fullPage: true });

  step("alice forgets her password and sets a new one from the mail's link");
  await logout();
  await page.goto(`${base}/login`);
  await Promise.all([page.waitForNavigation(), page.getByRole("link", { name: "Forgot your password?" }).click()]);
  const resetForm = page.locator("form#reset-request");
  await resetForm.locator("input[name=email]").fill("alice@example.com");
  await submit(resetForm);
  assert.match(await page.locator("#notice").innerText(), /If an account has this address/);
  const resetMail = await waitForMail("alice@example.com", /Reset your password/);
  const link = resetMail.text.match(/https?:\/\/\S+\/password-reset\/[0-9a-f]+/);
  assert.ok(link, `a reset link in the mail: ${resetMail.text}`);
  assert.ok(link[0].startsWith(base), `the link points under --public-url: ${link[0]}`);
  assert.ok(resetMail.html.includes(`href="${link[0]}"`), "the HTML part links the same page");
  await page.goto(link[0]);
  const setForm = page.locator("form#reset-set");
  await setForm.locator("input[name=password]").fill("a brand new password");
  await submit(setForm);
  assert.match(await page.locator("#notice").innerText(), /Your password was changed/);
  await page.screenshot({ path: path.join(out, "password-reset.png"), fullPage: true });
  const used = await page.goto(link[0]);
  assert.equal(used.status(), 422, "the link works once");
  await login("alice", "a brand new password");
  assert.ok(await page.locator("header.top nav").getByText("alice").isVisible(), "alice logs in with her new password");
  assert.deepEqual(pageErrors, [], "no JavaScript errors");
  console.log("browser test passed");
} catch (e) {
  await page.screenshot({ path: path.join(out, "failure.png"), fullPage: true }).catch(() => {});
  console.error(`browser test failed at ${page.url()}`);
  throw e;
} finally {
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
