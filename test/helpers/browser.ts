// Debian's Chromium driven by playwright-core (its own browser download is not used), and the
// QR decoder that reads a screenshot the way a wallet's camera would.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import jsQRModule from "jsqr";
import { PNG } from "pngjs";
import { type Browser, chromium } from "playwright-core";

// jsqr is a UMD bundle: its default export is module.exports itself, or wrapped once under interop
const jsQR = ((jsQRModule as unknown as { default?: typeof jsQRModule.default }).default ??
  jsQRModule) as unknown as typeof jsQRModule.default;

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const ARTIFACTS = join(process.cwd(), ".cache", "artifacts", "checkout");

/** each launch gets a fresh profile in a temp dir (playwright's own; --user-data-dir is refused) */
export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-quic",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}

/** save a screenshot as a test artifact (gitignored) */
export function saveArtifact(name: string, png: Buffer): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, name);
  writeFileSync(path, png);
  return path;
}

/** the text of the QR code in a PNG screenshot, or null when none is readable */
export function decodeQr(png: Buffer): string | null {
  const img = PNG.sync.read(png);
  const code = jsQR(
    new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length),
    img.width,
    img.height,
  );
  return code?.data ?? null;
}
