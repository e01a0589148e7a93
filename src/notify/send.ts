// Sending one callback: POST the stored bytes, signed, to a checked target, keeping at most
// RESPONSE_KEEP_BYTES of the answer. Records nothing: the worker classifies and stores the result.
import { isIP } from "node:net";
import { performance } from "node:perf_hooks";
import { Agent, request, type Dispatcher } from "undici";
import type { ResolvedConfig } from "../config/load.js";
import { signatureHeader } from "./sign.js";
import { blockedAddressReason, publicOnlyLookup, urlHost } from "./targets.js";

/** Bytes of a receiver's response kept (and read at all). */
export const RESPONSE_KEEP_BYTES = 1024;
const USER_AGENT = "depositd-callbacks/1";

export interface Callback {
  id: string;
  url: string;
  body: string;
  seq: number | null;
  attempts: number;
}

export interface Sent {
  startedAt: number;
  latencyMs: number;
  status: number | null;
  error: string | null;
  response: string | null;
  /** aborted because the worker is stopping */
  stopped: boolean;
  finishedAt: number;
}

export interface Sender {
  send(cb: Callback): Promise<Sent>;
  /** abort every send in flight (they resolve as stopped) */
  abortAll(): void;
  close(): Promise<void>;
}

export function errorText(e: unknown): string {
  const err = e as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = err?.code ?? err?.cause?.code;
  const message = err?.cause?.message ?? err?.message ?? String(e);
  return (code && !message.includes(code) ? `${code}: ${message}` : message).slice(0, 500);
}

class StopAbort extends Error {
  override name = "StopAbort";
}
class TimeoutAbort extends Error {
  override name = "TimeoutAbort";
}

/** Reads at most RESPONSE_KEEP_BYTES of a response, then drops the rest (and with it the connection). */
async function readCapped(body: Dispatcher.ResponseData["body"], signal: AbortSignal): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      if (signal.aborted) break;
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      chunks.push(buf);
      size += buf.length;
      if (size >= RESPONSE_KEEP_BYTES) break; // leaving the loop destroys the body stream and its socket
    }
  } finally {
    if (!body.destroyed && size >= RESPONSE_KEEP_BYTES) body.destroy();
  }
  return Buffer.concat(chunks).subarray(0, RESPONSE_KEEP_BYTES).toString("utf8");
}

export function createSender(cfg: ResolvedConfig["notify"], now: () => number): Sender {
  const allowPrivate = cfg.allow_private_targets;
  const agent = new Agent({
    keepAliveTimeout: 4_000,
    keepAliveMaxTimeout: 30_000,
    keepAliveTimeoutThreshold: 1_000,
    connections: cfg.per_host_concurrency,
    headersTimeout: cfg.timeout_ms,
    bodyTimeout: cfg.timeout_ms,
    connect: allowPrivate
      ? { timeout: cfg.timeout_ms }
      : { timeout: cfg.timeout_ms, lookup: publicOnlyLookup },
  });
  const inFlight = new Set<AbortController>();

  function headersOf(cb: Callback): Record<string, string> {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": USER_AGENT,
      "depositd-signature": signatureHeader(
        cb.body,
        cfg.secrets.map((s) => s.value),
        Math.floor(now() / 1000),
      ),
      "depositd-event-id": cb.id,
      "depositd-attempt": String(cb.attempts),
    };
    if (cb.seq !== null) headers["depositd-event-seq"] = String(cb.seq);
    return headers;
  }

  async function send(cb: Callback): Promise<Sent> {
    const startedAt = now();
    const t0 = performance.now();
    const ac = new AbortController();
    inFlight.add(ac);
    const deadline = setTimeout(
      () => ac.abort(new TimeoutAbort(`timeout after ${cfg.timeout_ms} ms`)),
      cfg.timeout_ms,
    );
    let status: number | null = null;
    let error: string | null = null;
    let response: string | null = null;
    try {
      const url = new URL(cb.url);
      if (url.protocol !== "http:" && url.protocol !== "https:")
        throw new Error("callback URL must be http(s)");
      const host = urlHost(url);
      // the lookup hook only runs for names; IP literals are checked here
      if (!allowPrivate && isIP(host)) {
        const reason = blockedAddressReason(host);
        if (reason) throw new Error(`refused target: ${reason} (notify.allow_private_targets is false)`);
      }
      const res = await request(url, {
        method: "POST",
        headers: headersOf(cb),
        body: cb.body,
        dispatcher: agent,
        signal: ac.signal,
      });
      status = res.statusCode;
      response = await readCapped(res.body, ac.signal);
    } catch (e) {
      const reason: unknown = ac.signal.aborted ? ac.signal.reason : undefined;
      error = reason instanceof TimeoutAbort || reason instanceof StopAbort ? reason.message : errorText(e);
    } finally {
      clearTimeout(deadline);
      inFlight.delete(ac);
    }
    const latencyMs = Math.round(performance.now() - t0);
    const stopped = ac.signal.reason instanceof StopAbort;
    return { startedAt, latencyMs, status, error, response, stopped, finishedAt: now() };
  }

  return {
    send,
    abortAll() {
      for (const ac of inFlight) ac.abort(new StopAbort("aborted: delivery worker stopping"));
    },
    close: () => agent.close().catch(() => agent.destroy()),
  };
}
