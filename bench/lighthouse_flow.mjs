// Lighthouse 12 (mobile preset) on the sign-in page and on the signed-in chat,
// in one tab driven by puppeteer-core (bench/bench_lighthouse.py runs this).
//
// Usage: CHROME_PATH=... node bench/lighthouse_flow.mjs URL USERNAME PASSWORD OUTPUT CHROME_ARGS_JSON
//
// A signed-in page unlocks its key with a secret kept in the tab's
// sessionStorage, which a Lighthouse run in a tab of its own would not have.
// So a person signs up in this tab, between two navigations of one user flow;
// the second keeps the tab's storage (no reset), as a reload would.
// OUTPUT receives [{name, categories: {id: score}, metrics: {id: text}, failing: [[title, value, [url]]]}].
import { writeFileSync } from "node:fs";
import puppeteer from "puppeteer-core";
import { startFlow } from "lighthouse";

const [url, username, password, output, chromeArgs] = process.argv.slice(2);
const METRICS = ["first-contentful-paint", "largest-contentful-paint", "total-blocking-time",
                 "cumulative-layout-shift", "speed-index", "interactive"];
const BOOT_TIMEOUT_MS = 300_000;

const browser = await puppeteer.launch({
  executablePath: process.env.CHROME_PATH, headless: true, args: JSON.parse(chromeArgs),
});
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(BOOT_TIMEOUT_MS);
  const flow = await startFlow(page, { name: "SealRoom" });
  await flow.navigate(url, { name: "sign-in page" });

  await page.waitForSelector("body[data-py-ready]");
  await page.click("#auth-switch");
  await page.type("#auth-username", username);
  await page.type("#auth-password", password);
  await page.click("#auth-submit");
  await page.waitForSelector("body[data-ready]");  // key pair made, chat on screen

  await flow.navigate(url, { name: "signed-in chat", flags: { disableStorageReset: true } });
  await page.waitForSelector("body[data-ready]");

  const { steps } = await flow.createFlowResult();
  writeFileSync(output, JSON.stringify(steps.map(({ name, lhr }) => ({
    name,
    url: lhr.finalDisplayedUrl,
    categories: Object.fromEntries(Object.values(lhr.categories).map((c) => [c.id, c.score])),
    metrics: Object.fromEntries(METRICS.map((id) => [id, lhr.audits[id]?.displayValue ?? "n/a"])),
    failing: Object.values(lhr.audits)
      .filter((a) => a.score !== null && a.score < 0.9 && ["binary", "numeric", "metricSavings"].includes(a.scoreDisplayMode))
      .map((a) => [a.title, a.displayValue ?? "", (a.details?.items ?? []).slice(0, 4)
        .map((item) => item.url ?? item.group ?? item.source?.url ?? "").filter(Boolean)]),
    errors: lhr.audits["errors-in-console"]?.details?.items?.map((item) => item.description) ?? [],
    longTasks: (lhr.audits["long-tasks"]?.details?.items ?? []).slice(0, 5)
      .map((task) => [task.url, Math.round(task.startTime), Math.round(task.duration)]),
  })), null, 1));
} finally {
  await browser.close();
}
