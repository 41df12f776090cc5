// Browser test of posting, people and search: headless Debian Chromium driven by
// playwright-core, run by scripts/checks/40-forum-browser with FORUM_URL, OUT_DIR and
// DATABASE_URL (the forum's database, to make one member a moderator). A member adds a poll to
// their thread and closes it; a moderator merges a thread into it (the old address leads to
// it); the search, filtered by author and category, links to the post itself; the member list
// finds both members. Exits non-zero on the first failed expectation.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const base = process.env.FORUM_URL;
const out = process.env.OUT_DIR || "out";
assert.ok(base, "FORUM_URL must be set");
assert.ok(process.env.DATABASE_URL, "DATABASE_URL must be set");
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
// The merge form asks for confirmation: accept it.
page.on("dialog", async (d) => { dialogs.push(d.message()); await d.accept(); });
const pageErrors = [];
page.on("pageerror", (e) => pageErrors.push(String(e)));

const step = (name) => console.log(`- ${name}`);
const password = "correct horse battery";
// Registration forms sent faster than this are refused, and so are posts closer than this.
const WAIT = 3200;
const suffix = Date.now().toString(36).slice(-5);
const owner = `pollster${suffix}`;
const moder = `keeper${suffix}`;

async function submit(form, button = "button[type=submit]") {
  const [response] = await Promise.all([page.waitForNavigation(), form.locator(button).click()]);
  return response;
}

async function register(name) {
  await page.goto(`${base}/register`);
  const form = page.locator("form.card");
  await form.locator("input[name=username]").fill(name);
  await form.locator("input[name=email]").fill(`${name}@example.com`);
  await form.locator("input[name=password]").fill(password);
  await page.waitForTimeout(WAIT);
  await submit(form);
  assert.ok(await page.locator("header.top nav").getByText(name).isVisible(), `${name} is logged in`);
}

// An earlier test file has new members' first posts wait for approval: these members count as
// having posted before.
function sql(statement) {
  execFileSync("psql", [process.env.DATABASE_URL, "-qc", statement]);
}

async function logout() {
  await Promise.all([page.waitForNavigation(), page.locator("header.top nav button", { hasText: "Log out" }).click()]);
}

async function startThread(title, body) {
  await page.goto(base);
  await Promise.all([page.waitForNavigation(), page.locator("aside").getByRole("link", { name: "Elsewhere", exact: true }).click()]);
  await Promise.all([page.waitForNavigation(), page.locator("#new-thread").click()]);
  const form = page.locator("form.card");
  await form.locator("input[name=title]").fill(title);
  await form.locator("textarea[name=body]").fill(body);
  await submit(form);
  assert.match(new URL(page.url()).pathname, /^\/t\/\d+\/$/);
  return page.url();
}

try {
  step("a member starts a thread, then adds a poll to it and closes the voting");
  await register(owner);
  sql(`UPDATE users SET post_count = 10 WHERE username = '${owner}'`);
  const threadUrl = await startThread(`Picnic day ${suffix}`, `Let us meet in the park, ${owner} brings a quokka cake.`);
  await Promise.all([page.waitForNavigation(), page.locator("#add-poll").click()]);
  const pollForm = page.locator("#poll-form");
  await pollForm.locator("input[name=poll_question]").fill("Which day?");
  await pollForm.locator("textarea[name=poll_choices]").fill("Saturday\nSunday");
  await submit(pollForm);
  assert.equal(await page.locator("#poll h2").innerText(), "Which day?");
  assert.ok(await page.locator("#poll form[action$='/vote']").isVisible(), "the poll takes votes");
  await submit(page.locator("#poll"), "#close-poll");
  assert.match(await page.locator("#poll .meta").first().innerText(), /closed/);
  assert.equal(await page.locator("#poll form[action$='/vote']").count(), 0, "a closed poll takes no votes");
  assert.ok(await page.locator("#reopen-poll").isVisible());
  await page.screenshot({ path: path.join(out, "poll-closed.png"), fullPage: true });
  await logout();

  step("a moderator merges another thread into it; the old address leads there");
  await register(moder);
  sql(`UPDATE users SET role = 'moderator', post_count = 10 WHERE username = '${moder}'`);
  const otherUrl = await startThread(`Picnic drinks ${suffix}`, "Lemonade for everyone at the picnic.");
  const merge = page.locator("#merge-form");
  await merge.locator("input[name=into]").fill(threadUrl);
  await submit(merge, "button");
  assert.equal(page.url(), threadUrl, "the merge leads to the thread that took the posts");
  assert.ok(dialogs.some((d) => /Merge this thread/.test(d)), "the merge asked for confirmation");
  assert.ok(await page.getByText("Lemonade for everyone").isVisible(), "the merged post is in the thread");
  await page.goto(otherUrl);
  assert.equal(page.url(), threadUrl, "the merged thread's address redirects");

  step("the search, filtered by author and category, links to the post itself");
  await page.goto(`${base}/search`);
  const search = page.locator("#search-form");
  await search.locator("input[name=q]").fill("quokka");
  await search.locator("input[name=author]").fill(owner);
  await search.locator("select[name=category]").selectOption({ label: "Elsewhere" });
  await submit(search, "button");
  assert.match(await page.locator("#hit-count").innerText(), /^1 results/);
  const hit = page.locator("li.hit a").first();
  const href = await hit.getAttribute("href");
  assert.match(href, /^\/p\/\d+\/$/);
  await Promise.all([page.waitForNavigation(), hit.click()]);
  const postId = href.match(/\d+/)[0];
  assert.equal(new URL(page.url()).hash, `#post-${postId}`);
  assert.ok(await page.locator(`#post-${postId}`).getByText("quokka cake").isVisible());
  await page.goto(`${base}/search?q=quokka&author=nobody-${suffix}`);
  assert.match(await page.locator("#search-error").innerText(), /no member has that name/);

  step("the member list finds members by the start of their names, and who is online");
  await page.goto(`${base}/members`);
  const members = page.locator("form.card");
  await members.locator("input[name=q]").fill(`keeper${suffix}`);
  await submit(members, "button");
  assert.match(await page.locator("#member-count").innerText(), /^1 members/);
  assert.ok(await page.locator("table.members").getByRole("link", { name: moder }).isVisible());
  assert.ok(await page.locator("#online").getByRole("link", { name: moder }).isVisible(), "the moderator is online");
  await page.screenshot({ path: path.join(out, "members.png"), fullPage: true });

  assert.deepEqual(pageErrors, [], "no JavaScript errors");
  console.log("posting browser test passed");
} catch (e) {
  await page.screenshot({ path: path.join(out, "posting-failure.png"), fullPage: true }).catch(() => {});
  console.error(`posting browser test failed at ${page.url()}`);
  throw e;
} finally {
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
