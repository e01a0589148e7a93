import { describe, expect, it } from "vitest";
import { blockedAddressReason, checkCallbackTarget, publicOnlyLookup } from "../../src/notify/targets.js";

describe("blockedAddressReason", () => {
  const blocked = [
    "127.0.0.1",
    "127.255.255.254",
    "10.0.0.1",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "100.64.0.1",
    "100.127.255.255",
    "169.254.169.254",
    "169.254.0.1",
    "0.0.0.0",
    "0.1.2.3",
    "224.0.0.1",
    "239.255.255.250",
    "255.255.255.255",
    "::",
    "::1",
    "fc00::1",
    "fd12:3456:789a::1",
    "fe80::1",
    "fe80::1%eth0",
    "febf::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:10.1.2.3",
    "::ffff:169.254.169.254",
    "::ffff:a9fe:a9fe",
    "64:ff9b::10.0.0.1",
    "2002:c0a8:0101::1",
  ];
  const allowed = [
    "1.1.1.1",
    "8.8.8.8",
    "172.15.255.255",
    "172.32.0.1",
    "100.63.255.255",
    "100.128.0.1",
    "192.169.0.1",
    "169.253.0.1",
    "2606:4700:4700::1111",
    "2001:db8::1",
    "::ffff:8.8.8.8",
    "64:ff9b::8.8.8.8",
    "fbff::1",
  ];
  it.each(blocked)("error: %s is refused", (ip) => {
    expect(blockedAddressReason(ip)).toMatch(/loopback, private or reserved/);
  });
  it.each(allowed)("default: %s is public", (ip) => {
    expect(blockedAddressReason(ip)).toBeNull();
  });
  it("error: not an address", () => {
    expect(blockedAddressReason("example")).toMatch(/not an IP/);
    expect(blockedAddressReason("1.2.3")).toMatch(/not an IP/);
  });
});

describe("checkCallbackTarget", () => {
  it("error: only http(s)", async () => {
    expect(await checkCallbackTarget("ftp://8.8.8.8/x", false)).toMatch(/http\(s\)/);
    expect(await checkCallbackTarget("file:///etc/passwd", true)).toMatch(/http\(s\)/);
    expect(await checkCallbackTarget("not a url", true)).toMatch(/http\(s\)/);
  });

  it("default: a public IP literal is fine", async () => {
    expect(await checkCallbackTarget("https://8.8.8.8/hook", false)).toBeNull();
    expect(await checkCallbackTarget("http://[2606:4700:4700::1111]:8080/hook", false)).toBeNull();
  });

  it("error: private IP literals and localhost are refused", async () => {
    for (const url of [
      "http://127.0.0.1:9000/hook",
      "http://[::1]/hook",
      "http://169.254.169.254/latest/meta-data",
      "http://[::ffff:127.0.0.1]/x",
      "http://10.0.0.5/x",
      "http://localhost:8080/hook",
    ]) {
      expect(await checkCallbackTarget(url, false), url).toMatch(/refused target/);
    }
  });

  it("args: allowPrivate lets them through", async () => {
    expect(await checkCallbackTarget("http://127.0.0.1:9000/hook", true)).toBeNull();
    expect(await checkCallbackTarget("http://localhost:9000/hook", true)).toBeNull();
  });
});

describe("publicOnlyLookup", () => {
  it("error: refuses a name that resolves to loopback (both callback forms)", async () => {
    const single = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
      publicOnlyLookup("localhost", { all: false }, (err) => resolve(err)),
    );
    expect(single?.code).toBe("EPRIVATETARGET");
    const all = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
      publicOnlyLookup("localhost", { all: true }, (err) => resolve(err)),
    );
    expect(all?.message).toMatch(/refused target: localhost/);
  });
});
