// QR codes as inline SVG, generated here (no image service): error correction M survives a phone
// camera at arm's length and keeps an ERC-20 URI at a version a cheap camera still resolves; the
// 4-module quiet zone is what the QR spec asks for.
import QRCode from "qrcode";

const cache = new Map<string, string>();

export function qrSvg(text: string, label: string): string {
  const key = `${text}\n${label}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const { modules } = QRCode.create(text, { errorCorrectionLevel: "M" });
  const n = modules.size;
  const margin = 4;
  let d = "";
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      if (!modules.get(y, x)) continue;
      let run = 1;
      while (x + run < n && modules.get(y, x + run)) run++;
      d += `M${x + margin} ${y + margin}h${run}v1h-${run}z`;
      x += run - 1;
    }
  }
  const size = n + 2 * margin;
  const svg =
    `<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size} ${size}" role="img" ` +
    `aria-label="${label}" shape-rendering="crispEdges"><rect width="${size}" height="${size}" fill="#fff"/>` +
    `<path fill="#000" d="${d}"/></svg>`;
  if (cache.size > 5000) cache.clear();
  cache.set(key, svg);
  return svg;
}
