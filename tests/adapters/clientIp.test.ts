import { describe, expect, test } from "bun:test";
import { clientIp, normaliseIp, trustedSet } from "../../src/adapters/http/clientIp.ts";

const proxies = trustedSet(["10.0.0.1", "10.0.0.2", "::1"]);

describe("client IP", () => {
  test("without a trusted proxy in front, the socket peer is the client and the header is ignored", () => {
    expect(clientIp("203.0.113.9", "198.51.100.1", proxies)).toBe("203.0.113.9");
    expect(clientIp("203.0.113.9", undefined, proxies)).toBe("203.0.113.9");
  });

  test("behind a trusted proxy, the proxy's entry names the client", () => {
    expect(clientIp("10.0.0.1", "198.51.100.1", proxies)).toBe("198.51.100.1");
  });

  test("entries the client wrote itself, left of the proxies' ones, are ignored", () => {
    expect(clientIp("10.0.0.1", "1.1.1.1, 2.2.2.2, 198.51.100.1, 10.0.0.2", proxies)).toBe(
      "198.51.100.1",
    );
  });

  test("a malformed entry stops the walk at the last trusted proxy", () => {
    expect(clientIp("10.0.0.1", "198.51.100.1, not-an-ip", proxies)).toBe("10.0.0.1");
  });

  test("only proxies in the header: the leftmost is the best answer", () => {
    expect(clientIp("10.0.0.1", "10.0.0.2", proxies)).toBe("10.0.0.2");
  });

  test("no socket (in-process requests): no address", () => {
    expect(clientIp(undefined, "198.51.100.1", proxies)).toBeUndefined();
  });

  test("one spelling per address", () => {
    expect(normaliseIp("::ffff:10.0.0.1")).toBe("10.0.0.1");
    expect(normaliseIp(" [2001:DB8::1]:443 ")).toBe("2001:db8::1");
    expect(normaliseIp("198.51.100.1:8080")).toBe("198.51.100.1");
    expect(clientIp("::ffff:10.0.0.1", "198.51.100.1", proxies)).toBe("198.51.100.1");
    expect(clientIp("::1", "2001:db8::7", proxies)).toBe("2001:db8::7");
  });
});
