// Browser test of attachments, preview and quotes: headless Debian Chromium driven by
// playwright-core, against the forum scripts/checks/40-forum-browser starts (FORUM_URL, with a
// local attachment store). A member uploads an image from the new-thread form (the JavaScript
// upload puts its Markdown into the message), previews the message (rendered Markdown, the
// image loads), starts the thread and sees the image's thumbnail load in the thread page; the
// Quote link fills the reply form with the quote, with JavaScript and without.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";

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
// The forum refuses a registration sent within 3 s of the form, and a second post within 3 s.
const FILL_TIME = 3200;
const POST_INTERVAL = 3200;
const name = `attacher${Date.now() % 100000}`;

async function register(user) {
  await page.goto(`${base}/register`);
  const form = page.locator("form.card");
  await form.locator("input[name=username]").fill(user);
  await form.locator("input[name=email]").fill(`${user}@example.com`);
  await form.locator("input[name=password]").fill(password);
  await page.waitForTimeout(FILL_TIME);
  await Promise.all([page.waitForNavigation(), form.locator("button[type=submit]").click()]);
  assert.ok(await page.locator("header.top nav").getByText(user).isVisible(), `${user} is logged in`);
}

// Whether the image `img` (a locator) loaded: complete with a natural width.
async function loaded(img) {
  await img.scrollIntoViewIfNeeded();
  for (let i = 0; i < 100; i++) {
    const w = await img.evaluate((el) => (el.complete ? el.naturalWidth : -1));
    if (w > 0) return w;
    if (w === 0) return 0;
    await page.waitForTimeout(100);
  }
  return -1;
}

try {
  step(`register ${name}, an established member`);
  await register(name);
  // Another test file may have the first posts of new members wait for a moderator: this
  // member has posted before (psql on the test's database, as the check's setup does).
  assert.ok(process.env.DATABASE_URL, "DATABASE_URL (the forum's database) must be set");
  execFileSync("psql", [process.env.DATABASE_URL, "-qc",
    `UPDATE users SET post_count = 20 WHERE username = '${name}'`]);

  step("make a PNG to attach (a screenshot of the page)");
  const picture = path.join(profile, "my picture.png");
  await page.screenshot({ path: picture, clip: { x: 0, y: 0, width: 640, height: 400 } });

  step("open the new-thread form and upload the image with JavaScript");
  await page.goto(base);
  await Promise.all([page.waitForNavigation(), page.locator("main").getByRole("link", { name: "Elsewhere", exact: true }).first().click()]);
  await Promise.all([page.waitForNavigation(), page.locator("#new-thread").click()]);
  const form = page.locator("form.card", { has: page.locator("input[name=title]") });
  await form.locator("input[name=title]").fill("A picture of the dashboard");
  await form.locator("textarea[name=body]").fill("Look at **this** screenshot:\n");
  const upload = page.locator("form.upload-form");
  await upload.locator("input[type=file]").setInputFiles(picture);
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/api/attachments/") && r.request().method() === "POST"),
    upload.locator("button.upload").click(),
  ]);
  assert.equal(answer.status(), 201, `the upload answers 201: ${await answer.text()}`);
  const attachment = await answer.json();
  assert.match(attachment.url, /^\/attachments\/\d+\/my-picture\.png$/);
  assert.equal(attachment.thumbnail_url, `/attachments/${attachment.id}/thumbnail.png`);
  await page.waitForFunction(
    (md) => document.querySelector("#new-body").value.includes(md),
    attachment.markdown,
  );
  assert.equal(new URL(page.url()).pathname.endsWith("/new"), true, "the page was not left");

  step("preview: the Markdown is rendered, the image loads, nothing is saved yet");
  await Promise.all([page.waitForNavigation(), form.locator("button.preview").click()]);
  assert.equal(new URL(page.url()).pathname, "/preview");
  assert.equal(await page.locator("#preview strong").innerText(), "this");
  const previewImg = page.locator("#preview img.attachment-thumbnail");
  assert.ok((await loaded(previewImg)) > 0, "the attachment's thumbnail loads in the preview");
  assert.equal(await page.locator("#preview-form input[name=title]").inputValue(), "A picture of the dashboard");
  await page.screenshot({ path: path.join(out, "attachments-preview.png"), fullPage: true });

  step("start the thread from the preview; the thread page shows the thumbnail");
  await Promise.all([page.waitForNavigation(), page.locator("#preview-form button[type=submit]").click()]);
  const threadUrl = page.url();
  const threadId = Number(new URL(threadUrl).pathname.split("/")[2]);
  assert.ok(threadId > 0, `a thread page: ${threadUrl}`);
  const thumb = page.locator("article.post img.attachment-thumbnail").first();
  assert.equal(await thumb.getAttribute("src"), attachment.thumbnail_url);
  const width = await loaded(thumb);
  assert.ok(width > 0 && width <= 320, `the thumbnail loads (naturalWidth ${width})`);
  const full = await page.evaluate(async (url) => {
    const r = await fetch(url);
    return { status: r.status, type: r.headers.get("content-type") };
  }, attachment.url);
  assert.deepEqual(full, { status: 200, type: "image/png" });
  await page.screenshot({ path: path.join(out, "attachments-thread.png"), fullPage: true });

  step("the Quote link fills the reply form (JavaScript)");
  const firstPost = page.locator("article.post").first();
  const postId = Number((await firstPost.getAttribute("id")).replace("post-", ""));
  await firstPost.locator("a.quote").click();
  const expected = `> @${name} wrote in [post #${postId}](/p/${postId}/):\n> Look at **this** screenshot:`;
  await page.waitForFunction((q) => document.querySelector("#reply-body").value.startsWith(q), expected);
  assert.equal(new URL(page.url()).pathname, `/t/${threadId}/`, "the thread page was not left");
  await page.locator("#reply-body").press("End");
  await page.locator("#reply-body").pressSequentially("\nNice one.");
  await page.waitForTimeout(POST_INTERVAL);
  await Promise.all([page.waitForNavigation(), page.locator("#reply button[type=submit]").click()]);
  const quoted = page.locator("article.post blockquote").last();
  assert.ok((await quoted.innerText()).includes(`@${name} wrote in post #${postId}`), await quoted.innerText());
  // The quote links the quoted post; its @name is a mention, linked to the profile.
  assert.equal(await quoted.locator('a[href^="/p/"]').count(), 1, await quoted.innerHTML());
  assert.equal(await quoted.locator('a[href^="/p/"]').getAttribute("href"), `/p/${postId}/`);
  assert.equal(await quoted.locator('a[href^="/u/"]').first().innerText(), `@${name}`);

  step("the Quote link works without JavaScript too: the reply page is filled");
  await page.goto(`${base}/t/${threadId}/reply?quote=${postId}`);
  assert.ok((await page.locator("#reply-body").inputValue()).startsWith(expected));

  assert.deepEqual(pageErrors, [], "no script errors");
  console.log("attachments browser test: ok");
} catch (e) {
  await page.screenshot({ path: path.join(out, "attachments-failure.png"), fullPage: true }).catch(() => {});
  console.error(e);
  process.exitCode = 1;
} finally {
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
